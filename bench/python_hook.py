#!/usr/bin/env python3
"""The baseline: a minimal Claude Code hook in Python that does the same counting as
hookmeter's project-sessions plugin (sessions, prompts, tool uses per project/branch, last
active) into SQLite, in one transaction, with project/branch read from .git directly. No
sandbox, no plugins, no validation: the least a Python hook can do for the same result."""
import json
import os
import sqlite3
import sys
import time


def repo_of(cwd):
    d = cwd
    while True:
        head = os.path.join(d, ".git", "HEAD")
        if os.path.isfile(head):
            with open(head) as f:
                ref = f.read().strip()
            branch = ref[len("ref: refs/heads/"):] if ref.startswith("ref: refs/heads/") else "none"
            return os.path.basename(d), branch
        parent = os.path.dirname(d)
        if parent == d:
            return os.path.basename(cwd) or "/", "none"
        d = parent


def main():
    event = json.load(sys.stdin)
    name = event["hook_event_name"]
    project, branch = repo_of(event.get("cwd") or os.getcwd())
    db = sqlite3.connect(os.path.join(os.environ["BASELINE_STATE_DIR"], "baseline.db"), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS series (name TEXT, labels TEXT, value REAL, PRIMARY KEY (name, labels))")
    labels = json.dumps([["branch", branch], ["project", project]])
    updates = [("claude_project_last_active_timestamp_seconds", labels, time.time(), True)]
    if name == "SessionStart":
        updates.append(("claude_project_session_total", labels, 1, False))
    elif name == "UserPromptSubmit":
        updates.append(("claude_project_prompts_total", labels, 1, False))
    elif name == "PostToolUse":
        tool_labels = json.dumps([["branch", branch], ["project", project], ["tool", event.get("tool_name", "")]])
        updates.append(("claude_project_tool_uses_total", tool_labels, 1, False))
    db.execute("BEGIN IMMEDIATE")
    for metric, lab, value, is_set in updates:
        if is_set:
            db.execute("INSERT INTO series VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET value = excluded.value", (metric, lab, value))
        else:
            db.execute("INSERT INTO series VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET value = value + excluded.value", (metric, lab, value))
    db.execute("COMMIT")


if __name__ == "__main__":
    main()
