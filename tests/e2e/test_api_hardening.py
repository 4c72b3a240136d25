"""Issue 10 at the HTTP edge, against the real daemon: protected mode is not
reachable from a browser (JSON Content-Type on every body, chunked too; a
loopback Host, 421; no cross-site Origin on writes, 403) while the guide's
curl commands work as written; a control byte in a path is 400 and never
truncates it; reset is refused on an active job and writes nothing; lenient
framing is 400 with the connection closed at once; a key under 32
characters stops `symbi up`."""
import json
import os
import re
import socket
import sqlite3
import subprocess
import time

import pytest

from apiclient import Api, assert_error, start_api
from sched_util import audit, jobs

J = {"Content-Type": "application/json"}
JOB = {"name": "alpha", "agent_id": "a", "cron_expr": "0 9 * * *"}


def db(symbi):
    """SQLite-only: to fabricate a job state no CLI or API call writes."""
    return sqlite3.connect(symbi.data_dir / "symbi.db")


def state(symbi):
    """Every job and audit event, read through the CLI: what a refused request
    must not change."""
    return (sorted(jobs(symbi), key=lambda j: j["id"]), audit(symbi))


def event_types(symbi):
    return [e["type"] for e in audit(symbi)]


def raw(port, payload, timeout=5.0, src="127.0.0.1"):
    """Sends raw bytes, reads until the server closes or `timeout` passes.
    Returns (status or None, body bytes, closed by the server, seconds)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(src, 0))
    t0 = time.monotonic()
    data, closed = b"", False
    try:
        try:
            s.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
        while True:
            try:
                c = s.recv(65536)
            except ConnectionResetError:
                closed = True
                break
            except socket.timeout:
                break
            if not c:
                closed = True
                break
            data += c
    finally:
        s.close()
    elapsed = time.monotonic() - t0
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split()[1]) if head.startswith(b"HTTP/1.") else None
    return status, body, closed, elapsed


def req(method, path, host="localhost", headers=(), body=None):
    lines = [f"{method} {path} HTTP/1.1"]
    if host is not None:
        lines.append(f"Host: {host}")
    lines += list(headers)
    if body is not None and not any(h.lower().startswith("transfer-encoding") for h in headers):
        lines.append(f"Content-Length: {len(body)}")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return data + (body if isinstance(body, bytes) else (body or "").encode())


def chunked(body):
    b = body.encode()
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(b), b)


def error_of(status, body, want):
    b = json.loads(body)
    assert_error(status, b, want)
    return b


@pytest.fixture
def api(symbi, daemons):
    _, port = start_api(symbi, daemons)
    return port


def test_protected_mode_refuses_browsers(api, symbi):
    port = api
    a = Api(port)
    before = state(symbi)
    created = json.dumps({**JOB, "name": "from-a-page"})
    # a body without application/json: text/plain chunked, none, a form
    for headers, body in [
            (["Content-Type: text/plain", "Transfer-Encoding: chunked"], chunked(created)),
            (["Transfer-Encoding: chunked"], chunked(created)),
            ([], created),
            (["Content-Type: text/plain"], created),
            (["Content-Type: application/x-www-form-urlencoded"], created),
            (["Content-Type: multipart/form-data; boundary=x"], created)]:
        st, b, _, _ = raw(port, req("POST", "/api/v1/schedule", f"localhost:{port}", headers, body))
        error_of(st, b, 415)
        st, b, _, _ = raw(port, req("POST", "/api/v1/schedule/x/run", f"localhost:{port}", headers,
                                    body if isinstance(body, bytes) else '{"input": "x"}'))
        error_of(st, b, 415)
    # a Host that is not a loopback name (DNS rebinding: the page's own name)
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", "10.0.0.1",
                 f"localhost.evil.example:{port}", "0.0.0.0", None):
        for method, path, body in [("POST", "/api/v1/schedule", created),
                                   ("GET", "/api/v1/schedule", None),
                                   ("GET", "/api/v1/health", None),
                                   ("GET", "/metrics", None),
                                   ("POST", "/api/v1/schedule/x/pause", None)]:
            hd = ["Content-Type: application/json"] if body else []
            st, b, _, _ = raw(port, req(method, path, host, hd, body))
            error_of(st, b, 421)
    # a write from another site (a form or fetch on a page elsewhere)
    for origin in ("http://evil.example", f"http://evil.example:{port}", "http://localhost:3000",
                   f"https://localhost:{port}", "null", f"http://localhost:{port}.evil.example"):
        for method, path in [("POST", "/api/v1/schedule"), ("PUT", "/api/v1/schedule/x"),
                             ("DELETE", "/api/v1/schedule/x"), ("POST", "/api/v1/schedules")]:
            st, b, _, _ = raw(port, req(method, path, f"localhost:{port}",
                                        ["Content-Type: application/json", f"Origin: {origin}"],
                                        created))
            error_of(st, b, 403)
    assert state(symbi) == before
    # reads from anywhere on loopback are answered, without CORS headers
    st, hd, data = a.raw("GET", "/api/v1/schedule", None, {"Origin": "http://evil.example"})
    assert st == 200 and not any(k.startswith("access-control") for k in hd)
    # this listener's own pages may write (the same port under any loopback name)
    for i, (host, origin) in enumerate([(f"localhost:{port}", f"http://localhost:{port}"),
                                        (f"127.0.0.1:{port}", f"http://127.0.0.1:{port}"),
                                        (f"127.0.0.1:{port}", f"http://localhost:{port}"),
                                        (f"[::1]:{port}", f"http://[::1]:{port}")]):
        st, b, _, _ = raw(port, req("POST", "/api/v1/schedule", host,
                                    ["Content-Type: application/json", f"Origin: {origin}"],
                                    json.dumps({**JOB, "name": f"own-{i}"})))
        assert st == 201, (host, origin, b)
    # chunked JSON is fine; GET and DELETE may say application/json with no body
    st, b, _, _ = raw(port, req("POST", "/api/v1/schedule", f"localhost:{port}",
                                ["Content-Type: application/json", "Transfer-Encoding: chunked"],
                                chunked(json.dumps({**JOB, "name": "chunked"}))))
    assert st == 201, b
    assert a.get("/api/v1/schedule/chunked", headers=J)[0] == 200
    assert a.get("/api/v1/schedules", headers=J)[0] == 200
    assert a.delete("/api/v1/schedule/chunked", headers=J)[0] == 200
    assert a.delete("/api/v1/schedules/own-3", headers=J)[0] == 200


def curl(port, *args):
    """A guide command exactly as written: its URL says localhost:8080, so
    curl sends Host: localhost:8080 (and no Origin); --connect-to routes it
    to the test's port."""
    p = subprocess.run(["curl", "-sS", "-w", "\n%{http_code}", "--connect-to",
                        f"localhost:8080:127.0.0.1:{port}", *args],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    body, _, code = p.stdout.rpartition("\n")
    return int(code), json.loads(body)


def test_guide_curl_commands_as_written(api):
    port = api
    base = "http://localhost:8080"
    st, job = curl(port, "-X", "POST", f"{base}/api/v1/schedule", "-H",
                   "Content-Type: application/json", "-d",
                   '{"name": "hourly-report", "agent_id": "reporter", "cron_expr": "0 * * * *",\n'
                   '       "session_mode": "ephemeral_with_summary", "delivery": ["stdout"]}')
    assert st == 201, job
    jid = job["id"]
    assert curl(port, f"{base}/api/v1/schedule?status=active&agent_id=reporter")[0] == 200
    assert curl(port, f"{base}/api/v1/schedule/{jid}")[0] == 200
    assert curl(port, "-X", "PUT", f"{base}/api/v1/schedule/{jid}", "-H",
                "Content-Type: application/json", "-d", '{"cron_expr": "0 */2 * * *"}')[0] == 200
    assert curl(port, "-X", "POST", f"{base}/api/v1/schedule/{jid}/pause")[0] == 200
    assert curl(port, "-X", "POST", f"{base}/api/v1/schedule/{jid}/resume")[0] == 200
    st, run = curl(port, "-X", "POST", f"{base}/api/v1/schedule/{jid}/run", "-H",
                   "Content-Type: application/json", "-d", '{"input": "Run with custom input"}')
    assert st == 202, run
    assert curl(port, f"{base}/api/v1/schedule/{jid}/history?limit=20&status=failed")[0] == 200
    assert curl(port, f"{base}/api/v1/schedule/{jid}/next_run")[0] == 200
    assert curl(port, f"{base}/api/v1/health/scheduler")[0] == 200
    assert curl(port, "-X", "DELETE", f"{base}/api/v1/schedule/{jid}")[0] == 200


def test_a_key_makes_host_and_origin_irrelevant(symbi, daemons):
    """With a key the API is not open to pages (a page cannot attach the
    key), so Host and Origin are not checked."""
    key = "k" * 40
    _, port = start_api(symbi, daemons, env={"SYMBI_API_KEY": key})
    st, b, _, _ = raw(port, req("POST", "/api/v1/schedule", "evil.example",
                                ["Content-Type: application/json", "Origin: http://evil.example",
                                 f"Authorization: Bearer {key}"], json.dumps(JOB)))
    assert st == 201, b
    st, b, _, _ = raw(port, req("GET", "/api/v1/schedule", "evil.example"))
    error_of(st, b, 401)


def test_control_bytes_in_paths_are_400(api, symbi):
    port = api
    a = Api(port)
    assert a.post("/api/v1/schedule", JOB)[0] == 201
    before = state(symbi)
    for method, path in [("DELETE", "/api/v1/schedule/alpha%00xyz"),
                         ("DELETE", "/api/v1/schedules/alpha%00"),
                         ("GET", "/api/v1/health%00x"), ("GET", "/metrics%00"),
                         ("POST", "/api/v1/schedule/alpha%00x/pause"),
                         ("GET", "/api/v1/schedule/alpha%0a"), ("GET", "/api/v1/schedule/alpha%0D"),
                         ("GET", "/api/v1/schedule/alpha%1f"), ("GET", "/api/v1/schedule/alpha%7f"),
                         ("GET", "/api/v1/schedule?status=active%00x")]:
        st, b = a.call(method, path)
        assert_error(st, b, 400)
    # raw control bytes in the request line, NUL included
    for path in (b"/api/v1/schedule/alpha\x00xyz", b"/api/v1/health\x00x", b"/api/v1/health\x01"):
        st, b, closed, _ = raw(port, b"DELETE " + path + b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
        error_of(st, b, 400)
        assert closed
    assert a.put("/api/v1/schedule/alpha%00", {"cron_expr": "@daily"})[0] == 400
    assert state(symbi) == before
    assert a.get("/api/v1/schedule/alpha")[0] == 200
    assert a.get("/api/v1/health")[0] == 200


def test_reset_refused_unless_dead_letter(api, symbi):
    a = Api(api)
    st, job = a.post("/api/v1/schedule", JOB)
    assert st == 201
    before = state(symbi)
    st, b = a.post("/api/v1/schedule/alpha/reset")
    assert_error(st, b, 409)
    assert b["code"] == "INVALID_STATE" and "active" in b["error"]
    assert a.post("/api/v1/schedule/alpha/pause")[0] == 200
    st, b = a.post("/api/v1/schedule/alpha/reset")
    assert_error(st, b, 409)
    assert a.post("/api/v1/schedule/alpha/resume")[0] == 200
    types = event_types(symbi)
    assert "CronJobReset" not in types and types[-2:] == ["CronJobPaused", "CronJobResumed"]
    assert len(types) == len(before[1]) + 2
    # dead_letter and failed jobs are reset
    for status in ("dead_letter", "failed"):
        with db(symbi) as c:  # SQLite-only: a dead_letter / failed job without running one
            c.execute("UPDATE jobs SET status = ?, failure_count = 3, next_run = NULL", (status,))
        st, b = a.post("/api/v1/schedule/alpha/reset")
        assert st == 200 and b["status"] == "active" and b["failure_count"] == 0, b
        assert b["next_run"] is not None
    assert event_types(symbi).count("CronJobReset") == 2


def test_reset_on_active_writes_nothing(api, symbi):
    a = Api(api)
    assert a.post("/api/v1/schedule", JOB)[0] == 201
    before = state(symbi)
    for _ in range(3):
        assert a.post("/api/v1/schedule/alpha/reset")[0] == 409
    assert state(symbi) == before


FRAMING = {
    "two different Content-Lengths":
        req("POST", "/api/v1/schedule", headers=["Content-Type: application/json",
                                                 "Content-Length: 60", "Content-Length: 3"])
        + json.dumps(JOB).encode(),
    "two equal Content-Lengths":
        req("POST", "/api/v1/schedule", headers=["Content-Type: application/json",
                                                 "Content-Length: 2", "Content-Length: 2"]) + b"{}",
    "Content-Length with Transfer-Encoding":
        req("POST", "/api/v1/schedule", headers=["Content-Type: application/json",
                                                 "Content-Length: 60",
                                                 "Transfer-Encoding: chunked"])
        + chunked(json.dumps(JOB)),
    "chunk size ffffffffffffffff":
        req("POST", "/api/v1/schedule", headers=["Content-Type: application/json",
                                                 "Transfer-Encoding: chunked"])
        + b"ffffffffffffffff\r\n" + json.dumps(JOB).encode() + b"\r\n0\r\n\r\n",
    "chunk size larger than the body":
        req("PUT", "/api/v1/schedule/alpha", headers=["Content-Type: application/json",
                                                      "Transfer-Encoding: chunked"])
        + b"1000\r\n{\"cron_expr\": \"@daily\"}\r\n0\r\n\r\n",
    "NUL in a header value":
        req("GET", "/api/v1/schedule", headers=["X-Note: a\x00b"]),
    "NUL in Content-Type":
        req("POST", "/api/v1/schedule", headers=["Content-Type: application/json\x00text/plain"],
            body=json.dumps(JOB)),
    "NUL in Host":
        req("GET", "/api/v1/schedule", host="localhost\x00.evil.example"),
    "NUL in Content-Length":
        req("POST", "/api/v1/schedule", headers=["Content-Type: application/json",
                                                 "Content-Length: 2\x0099"]) + b"{}",
    "a coding other than chunked":
        req("POST", "/api/v1/schedule", headers=["Content-Type: application/json",
                                                 "Transfer-Encoding: gzip, chunked"])
        + chunked(json.dumps(JOB)),
    "two Hosts":
        req("GET", "/api/v1/schedule", headers=["Host: evil.example"]),
}


@pytest.mark.parametrize("case", sorted(FRAMING))
def test_lenient_framing_is_400_and_closed(api, symbi, case):
    port = api
    before = state(symbi)
    st, body, closed, secs = raw(port, FRAMING[case], timeout=10)
    assert st == 400, (case, st, body)
    error_of(st, body, 400)
    assert closed, case
    assert secs < 2.0, (case, secs)
    assert state(symbi) == before
    assert Api(port).get("/api/v1/health")[0] == 200


def test_short_api_keys_stop_up(symbi, daemons, tmp_path):
    for key in ("a", "x" * 31):
        for listen in ("127.0.0.1:0", "0.0.0.0:0"):
            p = symbi.run("up", "--listen", listen, env={"SYMBI_API_KEY": key}, timeout=20)
            assert p.returncode == 1, p.stderr
            assert "at least 32" in p.stderr and f"is {len(key)} characters" in p.stderr
            if len(key) > 1:
                assert key not in p.stderr
            assert "listening on" not in p.stdout + p.stderr
            # the scheduler never started: no node lease, no run
            assert "scheduler started" not in p.stderr
    cfg = tmp_path / "short.toml"
    cfg.write_text('[api]\napi_key = "short-but-not-empty"\n')
    p = symbi.run("--config", cfg, "up", "--listen", "127.0.0.1:0", timeout=20)
    assert p.returncode == 1 and "at least 32" in p.stderr
    # 32 characters is enough, and then the key is required
    key = os.urandom(16).hex()
    assert len(key) == 32
    _, port = start_api(symbi, daemons, env={"SYMBI_API_KEY": key})
    assert_error(*Api(port).get("/api/v1/schedule"), 401)
    assert Api(port, key=key).get("/api/v1/schedule") == (200, [])
    # the keys `api-key create` makes are long enough
    made = symbi.run("api-key", "create", "--name", "ci", check=True).stdout.strip()
    assert len(made) >= 32 and re.fullmatch(r"symbi_[0-9a-f]{64}", made)
