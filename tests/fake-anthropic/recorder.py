#!/usr/bin/env python3
"""Hook command that records its stdin: `python3 recorder.py OUTDIR`.

Claude Code runs this for every hook event with the event's JSON payload on
stdin. It writes the payload, byte for byte, to OUTDIR/NNN-<Event>.json,
where NNN is a sequence number shared by all hook processes (taken under a
file lock, so hooks that run in parallel still get distinct numbers), and
the CLAUDE*-prefixed environment it was run with to OUTDIR/env/NNN-<Event>.json.
It prints nothing and exits 0, so it never changes what Claude Code does.
"""
import fcntl
import json
import os
import sys


def main():
    outdir = sys.argv[1]
    os.makedirs(os.path.join(outdir, "env"), exist_ok=True)
    raw = sys.stdin.buffer.read()
    try:
        event = json.loads(raw).get("hook_event_name", "Unknown")
    except ValueError:
        event = "Unparsable"
    with open(os.path.join(outdir, ".seq"), "a+") as counter:
        fcntl.flock(counter, fcntl.LOCK_EX)  # released when the file closes
        counter.seek(0)
        seq = int(counter.read() or 0) + 1
        counter.seek(0)
        counter.truncate()
        counter.write(str(seq))
        name = f"{seq:03d}-{event}.json"
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(raw)
    env = {k: v for k, v in os.environ.items() if k.startswith("CLAUDE")}
    env["argv"] = sys.argv
    with open(os.path.join(outdir, "env", name), "w") as f:
        json.dump(env, f, indent=2, sort_keys=True)


if __name__ == "__main__":
    main()
