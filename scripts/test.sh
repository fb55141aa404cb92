#!/usr/bin/env bash
# Runs every test of hookmeter on this machine, installing what the tests need first:
# the wasm32-wasip2 target, Debian's prometheus + pushgateway, the pinned Claude Code CLI
# (npm) and componentize-py (PyPI). Every step is skipped when already done. The tests start
# their own servers on loopback ports; nothing needs the network beyond the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

step "Rust target wasm32-wasip2"
rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2

step "Debian packages: prometheus, prometheus-pushgateway"
if ! command -v promtool >/dev/null || ! [ -x /usr/bin/prometheus ] || ! [ -x /usr/bin/prometheus-pushgateway ]; then
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq prometheus prometheus-pushgateway >/dev/null
fi

step "Claude Code CLI (pinned in tests/claude/package.json)"
if ! [ -x tests/claude/node_modules/.bin/claude ] || ! cmp -s tests/claude/package-lock.json tests/claude/node_modules/.package-lock.json 2>/dev/null; then
    npm ci --prefix tests/claude --no-audit --no-fund --loglevel=error
fi

if [ -f examples/python-plugin/requirements.txt ]; then
    step "componentize-py (examples/python-plugin/requirements.txt)"
    python3 -m pip install -q --disable-pip-version-check -r examples/python-plugin/requirements.txt
fi

step "cargo build (the hookmeter binary the end-to-end tests run)"
cargo build -p hookmeter

step "the README's set-up command: cargo run -- demo"
cargo run -q -- demo > /dev/null

step "cargo test"
cargo test --workspace "$@"
