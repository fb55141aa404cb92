#!/usr/bin/env bash
# Build plugin.wasm from app.py against hookmeter's contract (wit/plugin.wit, world `plugin`).
# Needs componentize-py: pip install -r requirements.txt
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
wit="${HOOKMETER_WIT:-$here/../../wit}"
out="${1:-$here/plugin.wasm}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
if ! command -v componentize-py >/dev/null; then
    echo "build.sh: componentize-py not found; run: pip install -r $here/requirements.txt" >&2
    exit 1
fi
cd "$here"
# Keep the source tree clean: componentize-py imports app.py with the host Python too.
export PYTHONDONTWRITEBYTECODE=1
componentize-py --wit-path "$wit" --world plugin componentize app --output "$out"
