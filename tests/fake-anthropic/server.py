#!/usr/bin/env python3
"""A small, scripted stand-in for the Anthropic Messages API (stdlib only).

    python3 server.py --port 0 [--script SCRIPT.json] [--log REQUESTS.jsonl]

Prints `LISTENING <port>` as its first stdout line (flushed), then serves:
    POST /v1/messages               SSE when "stream": true, else one JSON message
    POST /v1/messages/count_tokens  {"input_tokens": <rough estimate>}
    GET  /v1/models                 a one-model list
    GET/HEAD /, /v1, /api/hello     200 {}  (reachability probes)
    anything else                   404 {"type": "error", ...}
and appends every request to --log as one JSON line:
    {"seq": 1, "method": "POST", "path": "/v1/messages?beta=true", "side": false, "body": {...}}

The script is a JSON list of rules (README.md, example_script.json), e.g.
    {"when_prompt_contains": "notes", "tool_use": {"name": "Write", "input": {...}},
     "then_text": "Wrote it."}         # or {"text": ...}, or {"replies": [...]}
A new prompt takes the first rule whose substring it contains, else the next
rule without one; the requests carrying tool_results continue that rule's
replies. Side requests (no `tools`, max_tokens <= 1, or /compact's summary
prompt) get plain text from "side": true rules and consume no script steps.
"""
import argparse
import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Used when --script is omitted: every prompt runs one Bash command, then answers.
DEFAULT_SCRIPT = [
    {"tool_use": {"name": "Bash", "input": {"command": "echo hookmeter-fixture",
                                            "description": "Print a marker"}},
     "then_text": "The command printed hookmeter-fixture."},
]
# Tried after the script's own "side" rules. /compact insists on a <summary>
# block: without one it retries once and then fails.
DEFAULT_SIDE_RULES = [
    {"side": True, "when_prompt_contains": "<summary>",
     "text": "<analysis>Fake.</analysis>\n<summary>A short scripted session.</summary>"},
    {"side": True, "text": "OK"},
]
# /compact's summary request carries the main loop's tools, so it is
# recognised by its prompt instead.
SIDE_PROMPT_MARKERS = ("CRITICAL: Respond with TEXT ONLY",)


def normalize(rule):
    """Expand a rule's shorthand into {"when_prompt_contains", "replies", "side"}."""
    replies = list(rule.get("replies", []))
    if "tool_use" in rule:
        replies += [{"tool_use": rule["tool_use"]}, {"text": rule.get("then_text", "Done.")}]
    elif "text" in rule:
        replies.append({"text": rule["text"]})
    return {"when_prompt_contains": rule.get("when_prompt_contains"),
            "replies": replies, "side": bool(rule.get("side"))}


def text_blocks(content):
    """The texts of a message's content (a plain string or a list of blocks)."""
    if isinstance(content, str):
        return [content]
    return [b.get("text", "") for b in content if b.get("type") == "text"]


def is_prompt(message):
    """A user message with text that is not just a <system-reminder>. The CLI
    merges consecutive user messages, so a prompt can share a message with
    tool_results; tool_results plus reminders alone are a follow-up, not a prompt."""
    texts = text_blocks(message.get("content", ""))
    return message.get("role") == "user" and any(
        not t.lstrip().startswith("<system-reminder>") for t in texts)


def find_prompt(messages):
    """(index, text) of the last prompt; the text includes the user/system
    messages right before it (the CLI may send context in messages of its own)."""
    end = next((i for i in range(len(messages) - 1, -1, -1) if is_prompt(messages[i])), -1)
    start = end
    while start > 0 and messages[start - 1].get("role") in ("user", "system"):
        start -= 1
    texts = (t for m in messages[max(start, 0):end + 1] for t in text_blocks(m.get("content", "")))
    return end, "\n".join(texts)


class Script:
    """Chooses replies; remembers which rule each prompt got. Thread-safe."""

    def __init__(self, rules):
        rules = [normalize(r) for r in rules]
        self.rules = [r for r in rules if not r["side"]]
        self.side_rules = [r for r in rules + [normalize(r) for r in DEFAULT_SIDE_RULES]
                           if r["side"]]
        self.ordered = iter([r for r in self.rules if not r["when_prompt_contains"]])
        self.last_ordered = {"replies": [{"text": "Done."}]}
        self.assigned = {}  # prompt text -> rule
        self.lock = threading.Lock()

    def reply(self, messages):
        index, prompt = find_prompt(messages)
        with self.lock:
            if prompt not in self.assigned:
                rule = next((r for r in self.rules if r["when_prompt_contains"]
                             and r["when_prompt_contains"] in prompt), None)
                if rule is None:  # next unconditional rule; the last one repeats
                    self.last_ordered = rule = next(self.ordered, self.last_ordered)
                self.assigned[prompt] = rule
            rule = self.assigned[prompt]
        # Reply k of the rule, k = assistant turns since the prompt (tool round trips).
        step = sum(1 for m in messages[index + 1:] if m.get("role") == "assistant")
        return rule["replies"][step] if step < len(rule["replies"]) else {"text": "Done."}

    def side_reply(self, messages):
        """Text of the first matching side rule (never a tool_use)."""
        _, prompt = find_prompt(messages)
        rule = next(r for r in self.side_rules if (r["when_prompt_contains"] or "") in prompt)
        return next((r for r in rule["replies"] if "text" in r), {"text": "OK"})


def is_side_request(body):
    """The CLI's helper calls (titles, topic checks, quota probes, /compact)."""
    if not body.get("tools") or body.get("max_tokens", 2) <= 1:
        return True
    _, prompt = find_prompt(body.get("messages", []))
    return any(marker in prompt for marker in SIDE_PROMPT_MARKERS)


def message_json(reply, model, seq, input_tokens):
    """A complete Messages API response for one script reply."""
    if "tool_use" in reply:
        tu = reply["tool_use"]
        content = [{"type": "tool_use", "id": f"toolu_fake{seq:06d}",
                    "name": tu["name"], "input": tu.get("input", {})}]
        stop_reason = "tool_use"
    else:
        content, stop_reason = [{"type": "text", "text": reply.get("text", "")}], "end_turn"
    return {"id": f"msg_fake{seq:06d}", "type": "message", "role": "assistant",
            "model": model, "content": content, "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": 10,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}


def sse_events(message):
    """The same message as the event sequence of a streamed response."""
    def event(kind, **fields):
        return kind, {"type": kind, **fields}
    usage = dict(message["usage"], output_tokens=1)
    yield event("message_start", message=dict(message, content=[], stop_reason=None, usage=usage))
    for i, block in enumerate(message["content"]):
        if block["type"] == "text":
            first = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        else:  # tool_use: the input arrives as a JSON string
            first = dict(block, input={})
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        yield event("content_block_start", index=i, content_block=first)
        yield event("content_block_delta", index=i, delta=delta)
        yield event("content_block_stop", index=i)
    yield event("message_delta", usage={"output_tokens": message["usage"]["output_tokens"]},
                delta={"stop_reason": message["stop_reason"], "stop_sequence": None})
    yield event("message_stop")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every reply has a Content-Length
    server_version = "fake-anthropic/1"

    def log_message(self, fmt, *args):  # no access log: stdout is only LISTENING
        pass

    def send(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", "req_fake")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def record(self, body, side):
        """Append the request to the log; returns its sequence number."""
        srv = self.server
        with srv.lock:
            seq = next(srv.counter)
            if srv.log_path:
                entry = {"seq": seq, "method": self.command, "path": self.path,
                         "side": side, "body": body}
                with open(srv.log_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(entry) + "\n")
        return seq

    def route(self):  # path without query string or trailing slash
        return self.path.split("?", 1)[0].rstrip("/")

    def not_found(self):
        self.send(404, {"type": "error", "error": {"type": "not_found_error",
                                                   "message": f"no route {self.path}"}})

    def do_GET(self):
        self.record(None, side=True)
        if self.route() in ("", "/v1", "/api/hello"):
            self.send(200, {})
        elif self.route() == "/v1/models":
            self.send(200, {"data": [{"type": "model", "id": "claude-fake",
                                      "display_name": "Fake"}], "has_more": False})
        else:
            self.not_found()

    do_HEAD = do_GET

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = raw.decode("utf-8", "replace")
        if self.route() == "/v1/messages" and isinstance(body, dict):
            self.messages(body, input_tokens=max(1, len(raw) // 4))
        elif self.route() == "/v1/messages/count_tokens":
            self.record(body, side=True)
            self.send(200, {"input_tokens": max(1, len(raw) // 4)})
        else:
            self.record(body, side=True)
            self.not_found()

    def messages(self, body, input_tokens):
        side = is_side_request(body)
        seq = self.record(body, side)
        script, messages = self.server.script, body.get("messages", [])
        reply = script.side_reply(messages) if side else script.reply(messages)
        msg = message_json(reply, body.get("model", "claude-fake"), seq, input_tokens)
        if body.get("stream"):
            sse = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n"
                          for name, data in sse_events(msg))
            self.send(200, sse.encode(), "text/event-stream")
        else:
            self.send(200, msg)


def main():
    ap = argparse.ArgumentParser(description="Scripted fake Anthropic Messages API.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    ap.add_argument("--script", help="JSON list of rules (default: one Bash echo per prompt)")
    ap.add_argument("--log", help="append every request as one JSON line to this file")
    args = ap.parse_args()

    rules = DEFAULT_SCRIPT
    if args.script:
        with open(args.script, encoding="utf-8") as f:
            rules = json.load(f)
    server = ThreadingHTTPServer((args.host, args.port), Handler)  # one thread per request
    server.script, server.log_path = Script(rules), args.log
    server.lock, server.counter = threading.Lock(), itertools.count(1)
    print(f"LISTENING {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
