"""A scripted OpenAI-compatible and Anthropic-compatible HTTP server for the
model-agent tests: it listens on a free 127.0.0.1 port, records every request
(path, headers, body, arrival instant) and answers from a script of replies,
in order; when the script runs out it repeats `default`.

    with LlmServer() as srv:
        srv.script = [reply(openai_text("hi")), reply(status=500, body="boom")]
        ... endpoint: srv.url("/v1") ...
        srv.requests[0].json["messages"]

A reply is a dict: status (200), json (a body to encode) or body (bytes/str),
headers ({}), delay (seconds before answering), hang (never answer until the
server stops), size (answer with that many bytes of JSON-looking padding).
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def reply(json_body=None, status=200, body=None, headers=None, delay=0.0, hang=False, size=0):
    return {"json": json_body, "status": status, "body": body, "headers": headers or {},
            "delay": delay, "hang": hang, "size": size}


def openai_text(text, prompt_tokens=11, completion_tokens=7):
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": "scripted",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


def openai_tool_call(name, arguments, call_id="call_1", prompt_tokens=20, completion_tokens=5):
    """arguments: a dict (sent as its JSON text, as OpenAI does) or a raw string."""
    args = arguments if isinstance(arguments, str) else json.dumps(arguments,
                                                                    separators=(",", ":"))
    return {"id": "chatcmpl-2", "object": "chat.completion", "model": "scripted",
            "choices": [{"index": 0, "finish_reason": "tool_calls",
                         "message": {"role": "assistant", "content": None,
                                     "tool_calls": [{"id": call_id, "type": "function",
                                                     "function": {"name": name,
                                                                  "arguments": args}}]}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}}


def anthropic_text(text, input_tokens=13, output_tokens=9):
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "scripted",
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens}}


def anthropic_tool_use(name, tool_input, call_id="toolu_1", input_tokens=30, output_tokens=6):
    return {"id": "msg_2", "type": "message", "role": "assistant", "model": "scripted",
            "content": [{"type": "text", "text": "Let me do that."},
                        {"type": "tool_use", "id": call_id, "name": name, "input": tool_input}],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens}}


class Request:
    def __init__(self, method, path, headers, body, at):
        self.method, self.path, self.headers, self.body, self.at = method, path, headers, body, at
        try:
            self.json = json.loads(body)
        except ValueError:
            self.json = None

    def __repr__(self):
        return f"<Request {self.method} {self.path} {self.body[:200]!r}>"


class LlmServer:
    def __init__(self):
        self.script = []
        self.default = reply(openai_text("ok"))
        self.requests = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        srv = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n).decode("utf-8", "replace")
                with srv._lock:
                    srv.requests.append(Request("POST", self.path,
                                                {k.lower(): v for k, v in self.headers.items()},
                                                body, time.monotonic()))
                    r = srv.script.pop(0) if srv.script else srv.default
                if callable(r):
                    r = r(srv.requests[-1])
                if r["hang"]:
                    srv._stop.wait(120)
                    return
                if r["delay"]:
                    time.sleep(r["delay"])
                if r["size"]:
                    data = b'{"pad":"' + b"x" * r["size"] + b'"}'
                elif r["json"] is not None:
                    data = json.dumps(r["json"]).encode()
                else:
                    b = r["body"] or b""
                    data = b.encode() if isinstance(b, str) else b
                try:
                    self.send_response(r["status"])
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in r["headers"].items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path=""):
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def wait_requests(self, n, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.requests) >= n:
                    return list(self.requests)
            time.sleep(0.02)
        raise AssertionError(f"expected {n} requests, got {len(self.requests)}")
