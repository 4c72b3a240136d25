"""The web dashboard's HTTP side (SPEC §16, docs/ui.md) against a real
`symbi up`, in both the plain and the ASan pass (the browser suite,
tests/ui, runs in the plain pass): its files and security headers, the
same authentication as the API (protected mode's Host and Origin checks,
401 for data calls without a key, files without one even with
protect_health), the `ui` actor, masked secrets, and the routes it reads:
runs across jobs, the activity digest, the change sequence and the next
fires with DST marks (checked against Python's zoneinfo)."""
import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from apiclient import Api, start_api, wait_until

KEY = "symbi_" + "4c" * 32
AGENTS = 'agent echoer {\n  command: "echo echoed $SYMBI_JOB_NAME"\n}\n'
SECRETS = ["pw-SECRET-1", "q-SECRET-2", "h-SECRET-3", "SLACKSECRET4abcdefghijklmnop", "jwt-SECRET-5"]
SECRET_JOB = {
    "name": "hooks", "agent_id": "echoer", "cron_expr": "0 4 * * *", "delivery": ["stdout"],
    "webhook_url": "http://u:pw-SECRET-1@127.0.0.1:9/hook?token=q-SECRET-2",
    "webhook_headers": {"Authorization": "Bearer h-SECRET-3"},
    "slack_webhook_url": "https://hooks.slack.com/services/T1/B1/SLACKSECRET4abcdefghijklmnop",
    "agent_pin_jwt": "eyJhbGciOiJFUzI1NiJ9.jwt-SECRET-5.sig",
}
UI = {"X-Symbi-Client": "ui"}


def daemon(symbi, daemons, tmp_path, env=None):
    agents = tmp_path / "agents"
    agents.mkdir(exist_ok=True)
    (agents / "ui.symbi").write_text(AGENTS)
    return start_api(symbi, daemons, "--agents", agents, env=env)[1]


def final(api, rid):
    return wait_until(lambda: (lambda r: r if r["status"] not in ("queued", "running") else None)(
        api.get(f"/api/v1/runs/{rid}")[1]), timeout=30)


def test_files_headers_and_protected_mode(symbi, daemons, tmp_path):
    port = daemon(symbi, daemons, tmp_path)
    api = Api(port)
    for path, ctype in (("/ui", "text/html"), ("/ui/", "text/html"), ("/ui/index.html", "text/html"),
                        ("/ui/app.js", "text/javascript"), ("/ui/style.css", "text/css")):
        st, hd, body = api.raw("GET", path)
        assert st == 200 and hd["content-type"].startswith(ctype), (path, st, hd)
        csp = hd["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert hd["x-content-type-options"] == "nosniff" and hd["x-frame-options"] == "DENY"
        assert hd["referrer-policy"] == "no-referrer"
        assert int(hd["content-length"]) == len(body) > 0
    st, hd, body = api.raw("HEAD", "/ui/app.js")
    assert st == 200 and body == b""
    st, _, body = api.raw("GET", "/ui/nope.js")
    assert st == 404 and json.loads(body)["code"] == "NOT_FOUND"
    assert api.raw("POST", "/ui", "{}", {"Content-Type": "application/json"})[0] == 405
    # no inline script or style in the page: the CSP would refuse it
    page = api.raw("GET", "/ui")[2].decode()
    assert "<script>" not in page and "style=" not in page and "<style" not in page
    # protected mode: a web page elsewhere cannot reach it (DNS rebinding, cross-site writes)
    assert api.raw("GET", "/ui", headers={"Host": "evil.example"})[0] == 421
    assert api.raw("GET", "/api/v1/changes", headers={"Host": "evil.example", **UI})[0] == 421
    st, _ = api.post("/api/v1/schedule", {"name": "x", "agent_id": "echoer", "cron_expr": "@daily"},
                     headers={"Origin": "http://evil.example", **UI})
    assert st == 403
    same = {"Origin": f"http://127.0.0.1:{port}", **UI}
    assert api.post("/api/v1/schedule", {"name": "x", "agent_id": "echoer",
                                         "cron_expr": "@daily"}, headers=same)[0] == 201


def test_ui_actor_and_masked_secrets(symbi, daemons, tmp_path):
    port = daemon(symbi, daemons, tmp_path)
    api = Api(port)
    assert api.post("/api/v1/schedule", SECRET_JOB, headers=UI)[0] == 201
    assert api.post("/api/v1/schedule/hooks/pause", headers=UI)[0] == 200
    assert api.post("/api/v1/schedule/hooks/resume")[0] == 200
    events = {e["type"]: e["actor"] for e in api.get("/api/v1/audit?job=hooks")[1]}
    assert events == {"CronJobCreated": "ui", "CronJobPaused": "ui", "CronJobResumed": "api"}
    # every answer the dashboard reads, and the CLI's JSON, hide the secrets
    texts = [api.raw("GET", p, headers=UI)[2].decode() for p in (
        "/api/v1/schedule", "/api/v1/schedule/hooks", "/api/v1/schedule/hooks/fires",
        "/api/v1/schedule/hooks/history", "/api/v1/schedule/hooks/context",
        "/api/v1/audit?job=hooks", "/api/v1/activity")]
    texts.append(symbi.run("cron", "list", "--format", "json", check=True).stdout)
    for t in texts:
        for s in SECRETS:
            assert s not in t, s
    job = api.get("/api/v1/schedule/hooks")[1]
    assert job["webhook_url"] == "http://***@127.0.0.1:9/hook?token=***"
    assert job["slack_webhook_url"] == "https://hooks.slack.com/services/T1/B1/***"
    assert job["webhook_headers"] == {"Authorization": "***"} and job["agent_pin_jwt"] == "***"


def test_with_a_key(symbi, daemons, tmp_path):
    cfg = tmp_path / "symbi.toml"
    cfg.write_text("[api]\nprotect_health = true\n")
    port = daemon(symbi, daemons, tmp_path, env={"SYMBI_API_KEY": KEY, "SYMBI_CONFIG": str(cfg)})
    anon, auth = Api(port), Api(port, key=KEY)
    # the files need no key (a browser cannot send one for a navigation) ...
    for path in ("/ui", "/ui/app.js"):
        assert anon.raw("GET", path)[0] == 200
    # ... every data call does
    assert auth.post("/api/v1/schedule", {"name": "k", "agent_id": "echoer",
                                          "cron_expr": "@daily"})[0] == 201
    for path in ("/api/v1/schedule", "/api/v1/schedule/k", "/api/v1/schedule/k/fires",
                 "/api/v1/schedule/k/history", "/api/v1/schedule/k/context", "/api/v1/runs",
                 "/api/v1/activity", "/api/v1/changes", "/api/v1/audit",
                 "/api/v1/health/scheduler", "/metrics"):
        st, hd, _ = anon.raw("GET", path, headers=UI)
        assert st == 401 and hd["www-authenticate"].startswith("Bearer"), path
    assert anon.post("/api/v1/schedule/k/pause", headers=UI)[0] == 401
    assert auth.post("/api/v1/schedule/k/pause", headers=UI)[0] == 200
    ev = auth.get("/api/v1/audit?type=CronJobPaused&job=k")[1]
    assert [e["actor"] for e in ev] == ["ui:api-key:env"]
    # the approver is still who the key is
    gated = {"name": "g", "agent_id": "echoer", "cron_expr": "@yearly",
             "policy": {"require_approval": True}}
    assert auth.post("/api/v1/schedule", gated)[0] == 201
    rid = auth.post("/api/v1/schedule/g/run", headers=UI)[1]["id"]
    wait_until(lambda: auth.get(f"/api/v1/runs/{rid}")[1]["status"] == "pending_approval")
    listed = auth.get("/api/v1/runs?status=pending_approval")[1]
    assert [r["id"] for r in listed] == [rid]
    st, run = auth.post(f"/api/v1/runs/{rid}/approve", headers=UI)
    assert st == 200 and run["approver"] == "env"
    assert final(auth, rid)["status"] == "succeeded"


def test_activity_and_change_sequence(symbi, daemons, tmp_path):
    port = daemon(symbi, daemons, tmp_path)
    api = Api(port)
    seq0 = api.get("/api/v1/changes")[1]["change_seq"]
    assert api.post("/api/v1/schedule", {"name": "a", "agent_id": "echoer",
                                         "cron_expr": "@yearly"})[0] == 201
    # a change is seen on the next look, whichever server thread answers
    seq1 = wait_until(lambda: (lambda s: s if s != seq0 else None)(
        api.get("/api/v1/changes")[1]["change_seq"]))
    assert seq1 > seq0
    final(api, api.post("/api/v1/schedule/a/run")[1]["id"])
    # max_retries 1: the failure dead-letters the job, no retry is queued
    bad = {"name": "b", "agent_id": "no-such-agent", "cron_expr": "@yearly", "max_retries": 1}
    assert api.post("/api/v1/schedule", bad)[0] == 201
    final(api, api.post("/api/v1/schedule/b/run")[1]["id"])
    rid = api.post("/api/v1/schedule/a/run")[1]["id"]
    final(api, rid)
    job_a = api.get("/api/v1/schedule/a")[1]["id"]
    job_b = api.get("/api/v1/schedule/b")[1]["id"]
    act = api.get("/api/v1/activity?runs=50&minutes=3")[1]
    assert act["recent"][job_a] == "SS"
    assert len(act["recent"][job_b]) == 1 and act["recent"][job_b] in "FT"
    assert len(act["per_minute"]) == 3
    assert sum(m["succeeded"] for m in act["per_minute"]) == 2
    assert sum(m["failed"] for m in act["per_minute"]) == 1
    now = datetime.now(timezone.utc)
    last = datetime.fromisoformat(act["per_minute"][-1]["minute"].replace("Z", "+00:00"))
    assert last <= now < last + timedelta(minutes=1, seconds=5)
    assert api.get("/api/v1/activity?runs=1")[1]["recent"][job_a] == "S"
    for bad_q in ("runs=0", "runs=101", "minutes=0", "minutes=1441", "runs=x"):
        assert api.get(f"/api/v1/activity?{bad_q}")[0] == 400, bad_q
    assert api.get("/api/v1/runs?status=succeeded&job=a")[1][0]["id"] == rid
    assert api.get("/api/v1/runs?status=bogus")[0] == 400


def offset_s(zone, t):
    return int(t.astimezone(zone).utcoffset().total_seconds())


def test_fires_with_dst_marks_against_zoneinfo(symbi, daemons, tmp_path):
    port = daemon(symbi, daemons, tmp_path)
    api = Api(port)
    # Sundays 02:30 in Berlin for 100 weeks: the EU changes clocks on Sundays at 02:00/03:00
    for name, cron, tz in (("weekly", "30 2 * * 0", "Europe/Berlin"),
                           ("monthly", "0 12 1 * *", "America/New_York"),
                           ("utc", "*/15 * * * *", "UTC")):
        assert api.post("/api/v1/schedule", {"name": name, "agent_id": "echoer", "cron_expr": cron,
                                             "timezone": tz})[0] == 201
    for name, tz, count in (("weekly", "Europe/Berlin", 100), ("monthly", "America/New_York", 14),
                            ("utc", "UTC", 10)):
        zone = ZoneInfo(tz)
        st, f = api.get(f"/api/v1/schedule/{name}/fires?count={count}")
        assert st == 200 and f["timezone"] == tz and len(f["fires"]) == count
        prev = offset_s(zone, datetime.now(timezone.utc))
        changes = []
        for x in f["fires"]:
            t = datetime.fromisoformat(x["at"].replace("Z", "+00:00"))
            off = offset_s(zone, t)
            assert x["utc_offset_seconds"] == off, x
            assert datetime.fromisoformat(x["local"]) == t, x
            assert x["local"] == t.astimezone(zone).isoformat(), x
            want = None if off == prev else ("forward" if off > prev else "back")
            assert x["dst_change"] == want, x
            near = (offset_s(zone, t - timedelta(hours=1)) != off or
                    offset_s(zone, t + timedelta(hours=1)) != off)
            assert x["near_dst_change"] == near, x
            if want:
                changes.append(want)
            prev = off
        if tz == "UTC":
            assert not changes and f["dst_notes"] == []
        else:
            assert "forward" in changes and "back" in changes, (name, changes)
        if name == "weekly":
            # the Sundays of the changes: 02:30 is in the gap or the overlap
            assert any(x["near_dst_change"] for x in f["fires"])
            assert any("go forward" in n for n in f["dst_notes"])
    assert api.get("/api/v1/schedule/weekly/fires?count=0")[0] == 400
    assert api.get("/api/v1/schedule/nope/fires")[0] == 404
