"""SPEC §15 at the HTTP edge: a suite of hostile requests (malformed JSON,
wrong types, huge numbers, deep nesting, a 10 MiB body, invalid UTF-8,
unknown routes and methods, path traversal in ids, oversized headers), each
answered 4xx with the error shape; afterwards the daemon is healthy and
the store unchanged."""
import json
import re
import socket
import subprocess

import pytest

from apiclient import Api, assert_error, start_api

J = {"Content-Type": "application/json"}
GOOD = {"name": "base", "agent_id": "a", "cron_expr": "0 9 * * *"}


def job(**kw):
    return json.dumps({**GOOD, "name": "new", **kw})


MALFORMED = ["{", '{"name":', "[1,2", "nul", '{"a":1,}', "{'a':1}", '{"a":1}{"b":2}', " ",
             '{"name": "x" "agent_id": "y"}', "\x00", '{"name":"\\ud800"}', '{"name":"x",',
             '{"name":"x","name":"y","agent_id":"a","cron_expr":"@daily"}', "[]", '"x"', "5",
             "null", "true"]
WRONG_TYPES = [job(name=5), job(name=None), job(agent_id=[]), job(cron_expr=7),
               job(delivery="stdout"), job(delivery=[1]), job(max_concurrent="2"),
               job(max_concurrent=1.5), job(max_retries=True), job(heartbeat="yes"),
               job(policy=[]), job(webhook_headers=["a"]), job(session_mode="forever"),
               job(catch_up="sometimes"), job(timezone=3), job(input={}), job(one_shot="true"),
               job(cron_expr=""), json.dumps({"agent_id": "a", "cron_expr": "@daily"}),
               job(at="2030-01-01T00:00:00Z"), job(name="")]
HUGE = ['{"name":"h","agent_id":"a","cron_expr":"@daily","max_concurrent":1e400}',
        '{"name":"h","agent_id":"a","cron_expr":"@daily","max_concurrent":99999999999999999999999}',
        job(max_concurrent=-1), job(max_concurrent=2**63 - 1), job(max_retries=10**15),
        job(jitter="99999999999d"), job(cron_expr="* " * 300), job(name="n" * 100000)]
DEEP = [job(policy=json.loads("[" * 40 + "]" * 40)), "[" * 100000 + "]" * 100000,
        '{"a":' * 5000 + "1" + "}" * 5000]
BAD_UTF8 = [b'{"name":"\xff\xfe","agent_id":"a","cron_expr":"@daily"}',
            b'{"name":"a\xc3","agent_id":"a","cron_expr":"@daily"}',
            b'{"name":"\xc0\xaf","agent_id":"a","cron_expr":"@daily"}',
            b'{"name":"\xed\xa0\x80","agent_id":"a","cron_expr":"@daily"}']
ROUTES = [("GET", "/"), ("GET", "/api"), ("GET", "/api/v1/schedulex"), ("GET", "/api/v2/schedule"),
          ("POST", "/metrics"), ("PATCH", "/api/v1/schedule/base"), ("DELETE", "/api/v1/schedule"),
          ("GET", "/api/v1/schedule/"), ("BREW", "/metrics"), ("PUT", "/api/v1/health"),
          ("GET", "/api/v1/schedule/base/runs"), ("POST", "/api/v1/schedule/base/explode"),
          ("GET", "/api/v1/schedule/..%2F..%2Fetc%2Fpasswd"), ("GET", "/api/v1/schedule/../../etc/passwd"),
          ("GET", "/api/v1/runs/%2e%2e"),
          ("GET", "/api/v1/schedule/" + "x" * 600), ("POST", "/api/v1/schedule/x%20y/run"),
          ("GET", "/api/v1/schedule/%ff%fe"), ("DELETE", "/api/v1/schedule/%25"),
          ("GET", "/api/v1/schedule/" + "y" * 10000), ("GET", "/api/v1/runs/00000000")]
QUERIES = ["/api/v1/schedule?limit=-1", "/api/v1/schedule?limit=99999999999999999999",
           "/api/v1/schedule/base/next_run?count=0", "/api/v1/schedule/base/next_run?count=101",
           "/api/v1/audit?since=yesterday", "/api/v1/schedule?status=%ff",
           "/api/v1/schedule/base/history?status=exploded", "/api/v1/schedule?offset=x",
           "/api/v1/schedules/base/history?limit=0"]


@pytest.fixture
def api(symbi, daemons):
    _, port = start_api(symbi, daemons)
    a = Api(port)
    assert a.post("/api/v1/schedule", GOOD)[0] == 201
    return a


def snapshot(a):
    return a.get("/api/v1/schedule")[1], a.get("/api/v1/audit?limit=1000")[1]


def check(status, hd, data):
    assert hd.get("content-type", "").startswith("application/json"), (status, data[:200])
    assert int(hd["content-length"]) == len(data)
    body = json.loads(data)
    assert_error(status, body)
    assert 400 <= status < 500, (status, body)
    return status, body


def raw_socket(port, payload):
    """Sends raw bytes (the server may stop reading early) and returns
    (status, body bytes) of the answer."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        try:
            s.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = b""
        while True:
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                m = re.search(rb"(?i)content-length: *(\d+)", head)
                if m and len(body) >= int(m.group(1)):
                    return int(head.split()[1]), body[:int(m.group(1))]
            chunk = s.recv(65536)
            if not chunk:
                raise AssertionError(f"connection closed early: {data[:200]!r}")
            data += chunk
    finally:
        s.close()


def announced(port, method, path, length):
    """A request announcing a body of `length` bytes, refused before it is sent."""
    st, body = raw_socket(port, (f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n"
                                 f"Content-Type: application/json\r\n"
                                 f"Content-Length: {length}\r\n\r\n").encode())
    assert_error(st, json.loads(body), 413)


def test_bad_input_suite(api, tmp_path):
    before = snapshot(api)
    n = 0
    for body in MALFORMED + WRONG_TYPES + HUGE + DEEP + BAD_UTF8:
        check(*api.raw("POST", "/api/v1/schedule", body, J))
        n += 1
    for body in (json.dumps({"cron_expr": 5}), json.dumps({"name": ["x"]}), "{", json.dumps({"bogus": 1}),
                 json.dumps({"max_concurrent": 1e300})):
        check(*api.raw("PUT", "/api/v1/schedule/base", body, J))
        n += 1
    for body in (json.dumps({"input": 5}), json.dumps({"input": "x", "extra": 1}), "[1]"):
        check(*api.raw("POST", "/api/v1/schedule/base/run", body, J))
        n += 1
    for method, path in ROUTES:
        st, b = check(*api.raw(method, path))
        assert st in (404, 405, 414), (method, path, st)
        n += 1
    for path in QUERIES + ["/api/v1/schedule/%00", "/api/v1/schedule?status=%0a"]:
        st, _ = check(*api.raw("GET", path))
        assert st == 400, path
        n += 1
    # content types and sizes
    st, _ = check(*api.raw("POST", "/api/v1/schedule", json.dumps(GOOD), {"Content-Type": "text/plain"}))
    assert st == 415
    announced(api.port, "POST", "/api/v1/schedule", 2 * 1024 * 1024)
    announced(api.port, "PUT", "/api/v1/schedule/base", 1024 * 1024 + 1)
    st, _ = check(*api.raw("GET", "/api/v1/schedule", None, {f"X-H{i}": "v" for i in range(150)}))
    assert st == 431
    st, _ = check(*api.raw("GET", "/api/v1/schedule", None, {"X-Big": "v" * 20000}))
    assert st == 431
    n += 5
    # 10 MiB announced: refused before the body is read
    announced(api.port, "POST", "/api/v1/schedule", 10 * 1024 * 1024)
    # 10 MiB actually sent, chunked (no Content-Length): refused at the end
    # (a JSON string that never ends: a body that cannot be an object is
    # refused at its first byte instead, see test_api_hardening.py)
    chunk = b"a" * 65536
    body = b'9\r\n{"name":"\r\n' + b"".join(
        b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(160)) + b"0\r\n\r\n"
    st, resp = raw_socket(api.port, b"POST /api/v1/schedule HTTP/1.1\r\nHost: localhost\r\n"
                          b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                          + body)
    assert_error(st, json.loads(resp), 413)
    # the same 10 MiB with its length announced, sent in full by curl (which
    # waits for 100-continue and gets the 413 instead)
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (10 * 1024 * 1024))
    p = subprocess.run(["curl", "-sS", "-w", "\n%{http_code}", "-X", "POST", "-H",
                        "Content-Type: application/json", "--data-binary", f"@{big}",
                        f"http://127.0.0.1:{api.port}/api/v1/schedule"],
                       capture_output=True, text=True, timeout=30)
    body, _, code = p.stdout.rpartition("\n")
    assert_error(int(code), json.loads(body), 413)
    n += 3
    assert n >= 50
    # still healthy, nothing changed
    assert api.get("/api/v1/health")[0] == 200
    st, h = api.get("/api/v1/health/scheduler")
    assert st == 200 and h["status"] == "healthy"
    assert snapshot(api) == before
