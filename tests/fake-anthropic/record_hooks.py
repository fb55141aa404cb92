#!/usr/bin/env python3
"""Record real Claude Code hook payloads, offline, into tests/fixtures/claude-code/.

    python3 tests/fake-anthropic/record_hooks.py [--out DIR] [--claude BIN] [--workdir DIR]

What it does:
  1. Makes a fresh WORKDIR (default /tmp/hookmeter-claude-fixture, wiped first;
     a fixed path keeps the recorded paths stable between re-recordings) with
     home/  - the HOME for claude; home/.claude/settings.json registers
              recorder.py for EVERY hook event name this CLI knows,
     repo/  - a git repo (one commit, branch feature/fixtures) where claude runs,
     hooks/ - where recorder.py drops NNN-<Event>.json.
  2. Starts server.py (the fake Messages API) with a script made for the prompts below.
  3. Runs ONE claude session (`-p --input-format stream-json`) and feeds it the
     prompts one at a time, waiting for each turn's `result` line, so all
     prompts are turns of a single session (one session_id, one SessionEnd).
  4. Copies the payloads to --out as NNN-<Event>.json (bytes as received), and
     writes session.jsonl (one payload per line, in firing order), hook-env.json
     (the CLAUDE* env a hook command sees, first occurrence per event) and prints
     event counts.
"""
import argparse
import collections
import glob
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_CLAUDE = os.path.join(ROOT, "tests/claude/node_modules/.bin/claude")
DEFAULT_OUT = os.path.join(ROOT, "tests/fixtures/claude-code")
MARKER = ".hookmeter-recording"

# Every hook event name in Claude Code 2.1.332 (from the CLI's own list of names).
ALL_EVENTS = [
    "Setup", "SessionStart", "InstructionsLoaded", "UserPromptSubmit", "UserPromptExpansion",
    "PreToolUse", "PermissionRequest", "PermissionDenied", "PostToolUse", "PostToolUseFailure",
    "PostToolBatch", "Notification", "MessageDisplay", "SubagentStart", "SubagentStop",
    "TaskCreated", "TaskCompleted", "TeammateIdle", "Stop", "StopFailure", "PreCompact",
    "PostCompact", "PreModelSwitch", "PostModelSwitch", "Elicitation", "ElicitationResult",
    "ConfigChange", "WorktreeCreate", "WorktreeRemove", "CwdChanged", "FileChanged",
    "DirectoryAdded", "PreSkillShellCommand", "SessionEnd",
]

# (prompt, script rule) pairs; {repo} is replaced by the repo path.
TURNS = [
    ("Run a shell command that prints a marker.",
     {"when_prompt_contains": "shell command",
      "tool_use": {"name": "Bash", "input": {"command": "echo hookmeter-fixture",
                                             "description": "Print a marker"}},
      "then_text": "The command printed hookmeter-fixture."}),
    ("Write a file called notes.txt with one line of notes.",
     {"when_prompt_contains": "Write a file",
      "tool_use": {"name": "Write", "input": {"file_path": "{repo}/notes.txt",
                                              "content": "remember to stretch\n"}},
      "then_text": "I wrote notes.txt."}),
    ("Read notes.txt back to me.",
     {"when_prompt_contains": "Read notes.txt",
      "tool_use": {"name": "Read", "input": {"file_path": "{repo}/notes.txt"}},
      "then_text": "notes.txt says: remember to stretch"}),
    ("Run a command that fails.",
     {"when_prompt_contains": "command that fails",
      "tool_use": {"name": "Bash", "input": {"command": "ls /does-not-exist",
                                             "description": "List a missing path"}},
      "then_text": "That path does not exist."}),
    ("Ask a subagent to look around.",
     {"when_prompt_contains": "Ask a subagent",
      "tool_use": {"name": "Agent", "input": {"description": "Look around",
                                              "prompt": "Subagent task: say what you see.",
                                              "subagent_type": "general-purpose",
                                              "run_in_background": False}},
      "then_text": "The subagent looked around."}),
    ("/compact",  # a slash command: the CLI compacts instead of asking the model
     {"side": True, "when_prompt_contains": "summary of the conversation",
      "text": "<analysis>Fixture.</analysis>\n<summary>The user ran a command, wrote, "
              "read notes.txt, hit an error and asked a subagent.</summary>"}),
    ("/greet",  # a custom slash command from repo/.claude/commands/greet.md
     {"when_prompt_contains": "Greet the user", "text": "Hello there!"}),
    ("Thanks, that is all. Just say goodbye.",
     {"when_prompt_contains": "say goodbye", "text": "Goodbye!"}),
]
# The subagent's own conversation (its prompt is the Agent tool's "prompt").
EXTRA_RULES = [{"when_prompt_contains": "Subagent task:", "text": "I see a small git repo."}]


def offline_env(home, port):
    """Environment for an offline claude run against the fake server."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANTHROPIC_", "CLAUDE"))}  # drop any real credentials
    env.update(HOME=home, ANTHROPIC_BASE_URL=f"http://127.0.0.1:{port}",
               ANTHROPIC_API_KEY="sk-ant-fake-key", IS_SANDBOX="1",
               CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1", DISABLE_AUTOUPDATER="1",
               DISABLE_TELEMETRY="1", DISABLE_ERROR_REPORTING="1")
    return env


def make_workdir(workdir):
    if os.path.exists(workdir):
        if not os.path.exists(os.path.join(workdir, MARKER)):
            sys.exit(f"{workdir} exists and is not ours ({MARKER} missing); pick --workdir")
        shutil.rmtree(workdir)
    home, repo, hooks = (os.path.join(workdir, d) for d in ("home", "repo", "hooks"))
    for d in (home + "/.claude", repo, hooks):
        os.makedirs(d)
    open(os.path.join(workdir, MARKER), "w").close()
    git = ["git", "-c", "user.name=Fixture", "-c", "user.email=fixture@example.com"]
    subprocess.run(git + ["init", "-q", "-b", "main"], cwd=repo, check=True)
    with open(os.path.join(repo, "README.md"), "w") as f:
        f.write("# fixture repo\n")
    with open(os.path.join(repo, "CLAUDE.md"), "w") as f:  # fires InstructionsLoaded
        f.write("# Fixture repo\nKeep answers short.\n")
    os.makedirs(os.path.join(repo, ".claude/commands"))  # /greet fires UserPromptExpansion
    with open(os.path.join(repo, ".claude/commands/greet.md"), "w") as f:
        f.write("---\ndescription: Greet the user\n---\nGreet the user in one short sentence.\n")
    subprocess.run(git + ["add", "."], cwd=repo, check=True)
    subprocess.run(git + ["commit", "-q", "-m", "Initial commit"], cwd=repo, check=True)
    subprocess.run(git + ["checkout", "-q", "-b", "feature/fixtures"], cwd=repo, check=True)

    recorder = f"python3 {os.path.join(HERE, 'recorder.py')} {hooks}"
    settings = {"hooks": {e: [{"hooks": [{"type": "command", "command": recorder}]}]
                          for e in ALL_EVENTS}}
    with open(os.path.join(home, ".claude/settings.json"), "w") as f:
        json.dump(settings, f, indent=2)
    rules = [json.loads(json.dumps(r).replace("{repo}", repo)) for _, r in TURNS]
    with open(os.path.join(workdir, "script.json"), "w") as f:
        json.dump(rules + EXTRA_RULES, f, indent=2)
    return home, repo, hooks


def start_server(workdir):
    server = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "server.py"), "--port", "0",
         "--script", os.path.join(workdir, "script.json"),
         "--log", os.path.join(workdir, "requests.jsonl")],
        stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline().split()
    if line[:1] != ["LISTENING"]:
        server.kill()
        sys.exit(f"server did not start: {line}")
    return server, int(line[1])


def run_session(claude, home, repo, port, timeout):
    """One claude process; each prompt is sent after the previous turn's result."""
    cmd = [claude, "-p", "--input-format", "stream-json", "--output-format", "stream-json",
           "--verbose", "--dangerously-skip-permissions"]
    print("running:", " ".join(cmd), f"(cwd {repo})", file=sys.stderr)
    proc = subprocess.Popen(cmd, cwd=repo, env=offline_env(home, port), text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    deadline = time.time() + timeout
    for prompt, _ in TURNS:
        msg = {"type": "user", "message": {"role": "user", "content": prompt}}
        proc.stdin.write(json.dumps(msg) + "\n")
        proc.stdin.flush()
        for line in proc.stdout:  # wait for this turn's result
            out = json.loads(line)
            if out.get("type") == "result":
                print(f"  {prompt!r} -> {out.get('result')!r}", file=sys.stderr)
                break
        else:
            sys.exit(f"claude exited before answering {prompt!r}")
        if time.time() > deadline:
            proc.kill()
            sys.exit("timed out")
    proc.stdin.close()  # end of input ends the session (SessionEnd fires)
    proc.stdout.read()
    if proc.wait(timeout=max(1, deadline - time.time())) != 0:
        sys.exit(f"claude exited with {proc.returncode}")


def write_fixtures(hooks, out):
    os.makedirs(out, exist_ok=True)
    for old in glob.glob(os.path.join(out, "[0-9][0-9][0-9]-*.json")):
        os.remove(old)
    counts, lines, env_by_event = collections.Counter(), [], {}
    for path in sorted(glob.glob(os.path.join(hooks, "[0-9][0-9][0-9]-*.json"))):
        name = os.path.basename(path)
        raw = open(path, "rb").read()
        shutil.copyfile(path, os.path.join(out, name))
        payload = json.loads(raw)
        event = payload["hook_event_name"]
        counts[event] += 1
        text = raw.decode("utf-8").strip()  # the CLI sends one compact line
        lines.append(text if "\n" not in text else json.dumps(payload, ensure_ascii=False))
        if event not in env_by_event:
            env = json.load(open(os.path.join(hooks, "env", name)))
            env.pop("argv", None)
            for k in env:  # per-process secrets / pids: keep the key, hide the value
                if "TOKEN" in k:
                    env[k] = "<redacted>"
            env_by_event[event] = env
    with open(os.path.join(out, "session.jsonl"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(out, "hook-env.json"), "w") as f:
        json.dump(env_by_event, f, indent=2, sort_keys=True)
        f.write("\n")
    return counts


def claude_version(args):
    """`claude --version`; if .bin/claude is the stub left when npm skipped the
    postinstall, fall back to the binary in the platform package."""
    fallback = glob.glob(os.path.join(ROOT, "tests/claude/node_modules/@anthropic-ai/"
                                            "claude-code-linux-x64*/claude"))
    for candidate in [args.claude] + (fallback if args.claude == DEFAULT_CLAUDE else []):
        run = subprocess.run([candidate, "--version"], capture_output=True, text=True)
        if run.returncode == 0:
            args.claude = candidate
            return run.stdout.strip()
    sys.exit(f"no runnable claude at {args.claude}: run `npm ci` in tests/claude")


def main():
    ap = argparse.ArgumentParser(description="Record real Claude Code hook payloads offline.")
    ap.add_argument("--claude", default=DEFAULT_CLAUDE)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--workdir", default="/tmp/hookmeter-claude-fixture")
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args()

    version = claude_version(args)
    print("claude", version, file=sys.stderr)
    started = time.time()
    home, repo, hooks = make_workdir(args.workdir)
    server, port = start_server(args.workdir)
    try:
        run_session(args.claude, home, repo, port, args.timeout)
    finally:
        server.terminate()
        server.wait()
    counts = write_fixtures(hooks, args.out)
    print(f"recorded {sum(counts.values())} payloads in {time.time() - started:.1f}s "
          f"with claude {version} into {args.out}")
    for event, n in sorted(counts.items()):
        print(f"  {event}: {n}")


if __name__ == "__main__":
    main()
