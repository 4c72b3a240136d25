"""End-to-end tests of delivery routing with the real daemon (issue 13, must
show 1-3 and bad input): receivers are real servers on 127.0.0.1 started
here (an HTTP server in a thread, aiosmtpd in a subprocess)."""
import json
import signal
from datetime import datetime
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from apiclient import Api, start_api
from conftest import free_port
from sched_util import job, rows, run_by_id, wait_until, write_agents

ROOT = Path(__file__).resolve().parents[2]
SMTP_SERVER = ROOT / "tests" / "unit" / "support" / "smtp_server.py"


class Receiver:
    """An HTTP receiver: records every request; answers per path from a
    script of statuses (None: never answer), then 200 {"ok": true}."""

    def __init__(self):
        self.requests = []
        self.scripts = {}
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with outer.lock:
                    outer.requests.append({"path": self.path, "headers": dict(self.headers),
                                           "body": body, "at": time.time()})
                    script = outer.scripts.get(self.path, [])
                    status = script.pop(0) if script else 200
                if status is None:
                    outer.stop_event.wait(30)
                    return
                out = b'{"ok": true}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path):
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def close(self):
        self.stop_event.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


class Smtp:
    def __init__(self, mode, mbox):
        self.mbox = mbox
        self.proc = subprocess.Popen(["/usr/bin/python3", str(SMTP_SERVER), "--mode", mode,
                                      "--out", str(mbox)], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("PORT "), line
        self.port = int(line.split()[1])

    def messages(self):
        if not self.mbox.exists():
            return []
        return [json.loads(x) for x in self.mbox.read_text().splitlines()]

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def smtp_servers(tmp_path):
    started = []

    def make(mode):
        s = Smtp(mode, tmp_path / f"mbox-{mode}.jsonl")
        started.append(s)
        return s
    yield make
    for s in started:
        s.close()


def write_config(data_dir, delivery, scheduler=None):
    lines = ["[scheduler]"]
    for k, v in (scheduler or {}).items():
        lines.append(f"{k} = {json.dumps(v)}")
    lines.append("[scheduler.delivery]")
    for k, v in delivery.items():
        lines.append(f"{k} = {json.dumps(v)}")
    (data_dir / "symbi.toml").write_text("\n".join(lines) + "\n")


def up(symbi, daemons, env=None):
    """`symbi up` in the data directory (its symbi.toml) with env added;
    returns the daemon and an API client."""
    d, port = start_api(symbi, daemons, "--agents", symbi.data_dir / "agents", env=env)
    d.wait_for("scheduler started", timeout=20)
    return d, Api(port)


def manual_run(symbi, name):
    p = symbi.run("cron", "run", name)
    assert p.returncode == 0, p.stderr
    rid = p.stdout.strip()
    return wait_until(lambda: [r for r in [run_by_id(symbi, rid)]
                               if r is not None and r["status"] not in ("queued", "running")],
                      timeout=30, what=f"run of {name}")[0]


def receipts(run):
    return {r["channel"]: r for r in json.loads(run["deliveries"])}


AGENT = 'agent reporter { command: "echo report for $SYMBI_JOB_NAME; echo line two" }\n'


def test_every_builtin_channel(symbi, daemons, receiver, smtp_servers):
    smtp = smtp_servers("accept")
    write_config(symbi.data_dir, {
        "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "email_from": "symbi@example.com",
        "slack_api_base": receiver.url("/api"), "slack_default_channel": "#general"})
    write_agents(symbi.data_dir, AGENT + f"""
schedule {{
  name: "report" agent: "reporter" cron: "0 0 1 1 *"
  delivery: ["stdout", "log_file", "webhook", "slack", "email"]
  webhook_url: "{receiver.url('/hook')}"
  webhook_headers: {{ "X-Token": "${{HOOK_TOKEN}}", "X-Team": "ops" }}
  slack_webhook_url: "{receiver.url('/slack/incoming')}"
  slack_channel: "#reports"
  email_recipients: ["ops@example.com", "dev@example.org"]
}}
schedule {{
  name: "report-api" agent: "reporter" cron: "0 0 1 1 *"
  delivery: ["slack"] slack_channel: "#ops"
}}
""")
    d, api = up(symbi, daemons, {"HOOK_TOKEN": "tok-123-secret",
                            "SYMBI_WEBHOOK_AUTH_HEADER": "Bearer auth-xyz",
                            "SYMBI_SLACK_TOKEN": "xoxb-slack-token"})

    run = manual_run(symbi, "report")
    assert run["status"] == "succeeded", run
    assert run["output"] == "report for report\nline two\n"
    rc = receipts(run)
    assert set(rc) == {"stdout", "log_file", "webhook", "slack", "email"}
    assert all(r["ok"] for r in rc.values()), rc
    assert rc["webhook"]["status"] == 200 and rc["webhook"]["attempts"] == 1
    assert rc["email"]["status"] == 250

    # stdout: the header line and the output in the daemon's stdout
    out = d.wait_for(f"==> [symbi] report run {run['id']}")
    block = out.split(f"==> [symbi] report run {run['id']}", 1)[1]
    assert "status=succeeded" in block.split("\n", 1)[0]
    assert block.split("\n", 1)[1].startswith("report for report\nline two\n")

    # log_file: one record
    log = (symbi.data_dir / "logs" / "jobs" / "report.log").read_text()
    assert log.count("--- ") == 1 and f"run={run['id']}" in log
    assert log.endswith("report for report\nline two\n")

    # webhook: one POST with the payload and the headers, ${VAR} from the daemon's env
    hooks = receiver.at("/hook")
    assert len(hooks) == 1
    h = {k.lower(): v for k, v in hooks[0]["headers"].items()}
    assert h["x-token"] == "tok-123-secret" and h["x-team"] == "ops"
    assert h["authorization"] == "Bearer auth-xyz"
    assert h["content-type"] == "application/json"
    p = json.loads(hooks[0]["body"])
    assert set(p) == {"job_id", "job_name", "run_id", "status", "scheduled_at", "started_at",
                      "finished_at", "execution_time_ms", "output", "output_truncated",
                      "error_message"}
    assert p["run_id"] == run["id"] and p["job_name"] == "report"
    assert p["status"] == "succeeded" and p["output"] == run["output"]
    # the payload carries the run's end (the agent's), as the record keeps it
    assert p["finished_at"] is not None and ms(p["finished_at"]) == run["finished_at"]
    assert p["execution_time_ms"] == run["execution_time_ms"] >= 0
    # the store keeps ${HOOK_TOKEN}; the CLI's JSON masks header values
    # (SQLite-only: the stored bytes themselves, which no CLI or API read shows unmasked)
    assert "${HOOK_TOKEN}" in rows(symbi, "SELECT webhook_headers FROM jobs WHERE name = ?",
                                   "report")[0]["webhook_headers"]
    assert "tok-123" not in json.dumps(rows(symbi, "SELECT * FROM jobs"))
    assert "tok-123" not in run["deliveries"]
    st = json.loads(symbi.run("cron", "status", "report", "--format", "json", check=True).stdout)
    assert st["job"]["webhook_headers"] == {"X-Token": "***", "X-Team": "***"}
    status, body = api.get(f"/api/v1/schedule/{job(symbi, 'report')['id']}")
    assert status == 200 and body["webhook_headers"] == {"X-Token": "***", "X-Team": "***"}
    status, body = api.get(f"/api/v1/runs/{run['id']}")
    assert "tok-123" not in json.dumps(body)
    assert "tok-123" not in d.output()

    # slack, incoming-webhook form
    s = receiver.at("/slack/incoming")
    assert len(s) == 1
    sb = json.loads(s[0]["body"])
    assert sb["channel"] == "#reports" and "[symbi] *report* succeeded" in sb["text"]
    assert "report for report" in sb["text"]

    # email: recipients and subject
    wait_until(lambda: smtp.messages(), what="the mail")
    m = smtp.messages()[0]
    assert m["rcpt_tos"] == ["ops@example.com", "dev@example.org"]
    assert m["mail_from"] == "symbi@example.com"
    assert m["headers"]["Subject"] == "[symbi] report succeeded"
    assert "report for report\nline two\n" in m["body"]

    # slack, Web API form: chat.postMessage with the token to the job's channel
    run2 = manual_run(symbi, "report-api")
    assert run2["status"] == "succeeded" and receipts(run2)["slack"]["ok"]
    posts = receiver.at("/api/chat.postMessage")
    assert len(posts) == 1
    ah = {k.lower(): v for k, v in posts[0]["headers"].items()}
    assert ah["authorization"] == "Bearer xoxb-slack-token"
    assert json.loads(posts[0]["body"])["channel"] == "#ops"

    # receipts in `cron history --format json`, in the job's order; metrics per channel
    hist = json.loads(symbi.run("cron", "history", "report", "--format", "json",
                                check=True).stdout)
    assert [r["channel"] for r in hist[0]["deliveries"]] == ["stdout", "log_file", "webhook",
                                                              "slack", "email"]
    text = symbi.run("cron", "status", "report", check=True).stdout
    assert f"Last delivery:   run {run['id'][:8]}" in text
    assert "  webhook        ok" in text and "  email          ok" in text
    text = symbi.run("cron", "history", "report", check=True).stdout
    assert "DELIVERED" in text.splitlines()[0] and " 5/5 " in text
    status, _, text = api.raw("GET", "/metrics")
    text = text.decode()
    for ch in ("stdout", "log_file", "webhook", "email"):
        assert f'symbiont_cron_deliveries_total{{channel="{ch}",result="success"}} 1' in text
    assert 'symbiont_cron_deliveries_total{channel="slack",result="success"} 2' in text


def ms(ts):
    """Epoch ms of a stored time (ms) or of a receipt's RFC 3339 `at`."""
    if isinstance(ts, int):
        return ts
    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)


def test_webhook_retries_timeouts_and_refusals(symbi, daemons, receiver):
    closed = free_port()
    write_config(symbi.data_dir, {"webhook_timeout_seconds": 1, "webhook_retry_attempts": 2,
                                  "webhook_retry_backoff_seconds": 0.2})
    receiver.scripts["/flaky"] = [500, 500, 200]
    receiver.scripts["/hang"] = [None, None, None]
    write_agents(symbi.data_dir, AGENT + f"""
schedule {{ name: "flaky" agent: "reporter" cron: "0 0 1 1 *" delivery: ["webhook"]
           webhook_url: "{receiver.url('/flaky')}" }}
schedule {{ name: "hang" agent: "reporter" cron: "0 0 1 1 *" delivery: ["webhook"]
           webhook_url: "{receiver.url('/hang')}" }}
schedule {{ name: "refused" agent: "reporter" cron: "0 0 1 1 *" delivery: ["webhook"]
           webhook_url: "http://127.0.0.1:{closed}/x" }}
schedule {{ name: "partly" agent: "reporter" cron: "0 0 1 1 *" delivery: ["webhook", "log_file"]
           webhook_url: "http://127.0.0.1:{closed}/y" }}
""")
    up(symbi, daemons)
    ids = {}
    for name in ("flaky", "hang", "refused", "partly"):
        p = symbi.run("cron", "run", name)
        assert p.returncode == 0, p.stderr
        ids[name] = p.stdout.strip()

    def final(name):
        return wait_until(lambda: [r for r in [run_by_id(symbi, ids[name])]
                                   if r is not None and r["status"] not in ("queued", "running")],
                          timeout=30, what=name)[0]

    # 500, 500, then 200: retried, delivered, the run succeeded
    run = final("flaky")
    w = receipts(run)["webhook"]
    assert run["status"] == "succeeded", run
    assert w["ok"] and w["attempts"] == 3 and w["status"] == 200
    t = [r["at"] for r in receiver.at("/flaky")]
    assert len(t) == 3 and t[1] - t[0] >= 0.2 and t[2] - t[1] >= 0.4

    # never answers: every attempt ends at the 1 s timeout; the run keeps its output
    run = final("hang")
    w = receipts(run)["webhook"]
    assert not w["ok"] and w["attempts"] == 3 and "timed out" in w["error"], w
    assert ms(w["at"]) - ms(run["started_at"]) >= 3 * 1000 + 600
    # the run ended with its agent: the channels' 3 s are not execution time
    assert run["execution_time_ms"] < 2000 and ms(run["finished_at"]) < ms(w["at"])
    assert run["status"] == "failed"
    assert run["error_message"] == "delivery failed on every channel (1 attempted)"
    assert run["output"] == "report for hang\nline two\n"
    assert len(receiver.at("/hang")) == 3
    text = symbi.run("cron", "status", "hang", check=True).stdout
    assert "  webhook        failed: Operation timed out" in text and "(after 3 attempts)" in text

    # refused: fails fast (no timeout waited), every retry made
    run = final("refused")
    w = receipts(run)["webhook"]
    assert not w["ok"] and w["attempts"] == 3 and w["status"] is None
    assert "onnect" in w["error"]
    assert ms(w["at"]) - ms(run["started_at"]) < 1000 + 600
    assert run["status"] == "failed" and run["output"] == "report for refused\nline two\n"

    # one channel of two failed: the run succeeded, its receipts say which
    run = final("partly")
    rc = receipts(run)
    assert run["status"] == "succeeded"
    assert not rc["webhook"]["ok"] and rc["log_file"]["ok"]


def test_smtp_rejects_the_recipient(symbi, daemons, smtp_servers):
    smtp = smtp_servers("reject")
    write_config(symbi.data_dir, {"smtp_host": "127.0.0.1", "smtp_port": smtp.port,
                                  "email_from": "symbi@example.com"})
    write_agents(symbi.data_dir, AGENT + """
schedule { name: "mail" agent: "reporter" cron: "0 0 1 1 *" delivery: ["email"]
           email_recipients: ["nobody@example.com"] }
""")
    up(symbi, daemons)
    run = manual_run(symbi, "mail")
    e = receipts(run)["email"]
    assert not e["ok"] and e["status"] == 550 and e["attempts"] == 1
    assert e["reply"] == "550 5.1.1 <nobody@example.com>: Recipient address rejected: no such user"
    assert run["status"] == "failed" and run["output"] == "report for mail\nline two\n"


def test_smtp_drops_the_connection(symbi, daemons, smtp_servers):
    smtp = smtp_servers("drop")
    write_config(symbi.data_dir, {"smtp_host": "127.0.0.1", "smtp_port": smtp.port,
                                  "email_from": "symbi@example.com",
                                  "webhook_retry_attempts": 1,
                                  "webhook_retry_backoff_seconds": 0.1})
    write_agents(symbi.data_dir, AGENT + """
schedule { name: "mail" agent: "reporter" cron: "0 0 1 1 *" delivery: ["email", "stdout"]
           email_recipients: ["ops@example.com"] }
""")
    up(symbi, daemons)
    run = manual_run(symbi, "mail")
    e = receipts(run)["email"]
    assert not e["ok"] and e["attempts"] == 2, e
    assert e["reply"] == "220 drop.test ESMTP"
    assert e["error"] and "after 2 attempts" in e["error"]
    assert run["status"] == "succeeded"  # stdout delivered


def test_bad_delivery_input(symbi, daemons, receiver):
    write_config(symbi.data_dir, {}, scheduler={"max_output_bytes": 16 * 1024 * 1024})
    write_agents(symbi.data_dir, AGENT, "good.symbi")
    bad = {
        "ftp.symbi": 'schedule { name: "ftp" agent: "reporter" cron: "@daily" '
                     'delivery: ["webhook"] webhook_url: "ftp://example.com/x" }',
        "crlf-header.symbi": 'schedule { name: "crlf" agent: "reporter" cron: "@daily" '
                             'delivery: ["webhook"] webhook_url: "http://127.0.0.1/x" '
                             'webhook_headers: { "X-A": "a\\r\\nInjected: 1" } }',
        "crlf-rcpt.symbi": 'schedule { name: "rcpt" agent: "reporter" cron: "@daily" '
                           'delivery: ["email"] '
                           'email_recipients: ["ops@example.com\\r\\nRCPT TO:<x@evil.test>"] }',
    }
    for name, text in bad.items():
        write_agents(symbi.data_dir, text + "\n", name)
    write_agents(symbi.data_dir, f"""
agent big {{ command: "head -c 10485760 /dev/zero | tr '\\\\0' x" }}
schedule {{ name: "big" agent: "big" cron: "0 0 1 1 *" delivery: ["webhook", "log_file"]
           webhook_url: "{receiver.url('/big')}" }}
""", "big.symbi")
    d, api = up(symbi, daemons)
    out = d.output()
    assert "webhook_url" in out and "ftp://example.com/x" in out
    assert "webhook_headers" in out and "email_recipients" in out
    for name in ("ftp", "crlf", "rcpt"):
        assert job(symbi, name) is None
    # a 10 MiB output: the run keeps it; what is sent is bounded
    run = manual_run(symbi, "big")
    assert run["status"] == "succeeded" and len(run["output"]) == 10 * 1024 * 1024
    assert all(r["ok"] for r in receipts(run).values())
    body = receiver.at("/big")[0]["body"]
    assert len(body) < 1024 * 1024 + 4096
    p = json.loads(body)
    assert p["output_truncated"] is True and len(p["output"]) == 1024 * 1024
    assert (symbi.data_dir / "logs" / "jobs" / "big.log").stat().st_size < 1024 * 1024 + 1024
    status, body = api.get("/api/v1/health")
    assert status == 200


def test_shutdown_cuts_a_slow_delivery_off(symbi, daemons, receiver):
    receiver.scripts["/hang"] = [None]
    write_config(symbi.data_dir, {"webhook_timeout_seconds": 60},
                 scheduler={"shutdown_timeout_seconds": 2})
    write_agents(symbi.data_dir, AGENT + f"""
schedule {{ name: "hang" agent: "reporter" cron: "0 0 1 1 *" delivery: ["webhook"]
           webhook_url: "{receiver.url('/hang')}" }}
""")
    d, _ = up(symbi, daemons)
    p = symbi.run("cron", "run", "hang")
    assert p.returncode == 0, p.stderr
    rid = p.stdout.strip()
    wait_until(lambda: receiver.at("/hang"), what="the delivery in flight")
    t0 = time.monotonic()
    d.signal()
    assert d.wait(timeout=30) == 0
    took = time.monotonic() - t0
    assert took < 2 + 3, took
    run = run_by_id(symbi, rid)
    w = receipts(run)["webhook"]
    assert not w["ok"] and w["error"] == "cut off: the daemon is shutting down", run
    assert run["status"] == "failed"  # not delivered: retried under the retry rules
    assert run["output"] == "report for hang\nline two\n"


def test_custom_command_channel(symbi, daemons):
    got = symbi.data_dir / "archive.jsonl"
    (symbi.data_dir / "symbi.toml").write_text(
        "[scheduler.delivery.custom.archive]\n"
        f"command = \"cat >> '{got}'; echo >> '{got}'\"\n"
        "[scheduler.delivery.custom.broken]\n"
        "command = \"echo 'archive offline' >&2; exit 4\"\n")
    write_agents(symbi.data_dir, AGENT + """
schedule { name: "arch" agent: "reporter" cron: "0 0 1 1 *" delivery: ["archive", "broken"] }
""")
    up(symbi, daemons)
    run = manual_run(symbi, "arch")
    rc = receipts(run)
    assert rc["archive"]["ok"] and rc["archive"]["status"] == 0
    assert not rc["broken"]["ok"] and rc["broken"]["status"] == 4
    assert "archive offline" in rc["broken"]["error"]
    assert run["status"] == "succeeded"
    p = json.loads(got.read_text())
    assert p["run_id"] == run["id"] and p["output"] == "report for arch\nline two\n"


def test_reload_hands_the_new_router_to_new_runs(symbi, daemons):
    """SIGHUP: runs that start after the reload deliver through the channels
    of the new [scheduler.delivery] (the scheduler used to keep the old)."""
    first, second = symbi.data_dir / "first.jsonl", symbi.data_dir / "second.jsonl"

    def config(path):
        (symbi.data_dir / "symbi.toml").write_text(
            "[scheduler.delivery.custom.archive]\n"
            f"command = \"cat >> '{path}'; echo >> '{path}'\"\n")
    config(first)
    write_agents(symbi.data_dir, AGENT + """
schedule { name: "arch" agent: "reporter" cron: "0 0 1 1 *" delivery: ["archive"] }
""")
    d, _ = up(symbi, daemons)
    one = manual_run(symbi, "arch")
    assert receipts(one)["archive"]["ok"]
    config(second)
    n = d.output().count("configuration applied")
    d.signal(signal.SIGHUP)
    wait_until(lambda: d.output().count("configuration applied") > n, timeout=10,
               what="the scheduler applying the reload")
    two = manual_run(symbi, "arch")
    assert receipts(two)["archive"]["ok"], two
    assert [json.loads(x)["run_id"] for x in first.read_text().split("\n") if x] == [one["id"]]
    assert [json.loads(x)["run_id"] for x in second.read_text().split("\n") if x] == [two["id"]]


def test_masked_secrets_sent_back_keep_the_stored_ones(symbi, daemons, receiver):
    """A client that sends back the masked secrets it read (GET, edit, PUT)
    keeps the stored webhook token and header; a mask that matches nothing
    stored is refused (src/core/json.c, SPEC §16)."""
    write_config(symbi.data_dir, {})
    write_agents(symbi.data_dir, AGENT)
    d, api = up(symbi, daemons)
    token = "tok0SECRET0abcdefghijklmnopqrst"
    url = receiver.url(f"/hook/{token}?sig=q-SECRET-2")
    st, _ = api.post("/api/v1/schedule", {
        "name": "hooked", "agent_id": "reporter", "cron_expr": "0 0 1 1 *",
        "delivery": ["webhook"], "webhook_url": url,
        "webhook_headers": {"Authorization": "Bearer h-SECRET-3", "X-Team": "ops"}})
    assert st == 201
    shown = api.get("/api/v1/schedule/hooked")[1]
    assert shown["webhook_url"] == receiver.url("/hook/***?sig=***")
    assert shown["webhook_headers"] == {"Authorization": "***", "X-Team": "***"}
    # the document as read, with one real change and one header edited
    back = {k: shown[k] for k in ("webhook_url", "webhook_headers", "delivery")}
    back["webhook_headers"]["X-Team"] = "platform"
    back["input"] = "edited"
    st, body = api.put("/api/v1/schedule/hooked", back)
    assert st == 200, body
    # masks that are not the stored value's: refused, nothing changed
    for bad in ({"webhook_url": receiver.url("/other/***")},
                {"webhook_headers": {"X-New": "***"}},
                {"agent_pin_jwt": "***"}):
        st, body = api.put("/api/v1/schedule/hooked", bad)
        assert st == 400 and "masked value" in json.dumps(body), (bad, body)
    run = manual_run(symbi, "hooked")
    assert run["status"] == "succeeded" and receipts(run)["webhook"]["ok"], run
    hooks = receiver.at(f"/hook/{token}?sig=q-SECRET-2")
    assert len(hooks) == 1, [r["path"] for r in receiver.requests]
    h = {k.lower(): v for k, v in hooks[0]["headers"].items()}
    assert h["authorization"] == "Bearer h-SECRET-3" and h["x-team"] == "platform"
    assert api.get("/api/v1/schedule/hooked")[1]["input"] == "edited"
