"""`symbi cron why <job>` and GET /api/v1/schedule/{job}/why: one test per
cause, each from the state a real daemon left in the store, checked through
the CLI (JSON and text) and the API alike."""
import json
import signal
import sqlite3
import time
import uuid

from apiclient import Api, start_api
from sched_util import iso, job, runs, wait_until, write_agents, write_config
from slowness import SLOW

AGENTS = """
agent nop { builtin: "noop" }
agent bad { builtin: "fail" }
agent slow { command: "sleep %g" }
""" % (3 * SLOW)
ATTEMPTS = 5


def up(symbi, daemons, schedules, config=None):
    agents = write_agents(symbi.data_dir, AGENTS + schedules)
    if config:
        write_config(symbi.data_dir, config)
    d, port = start_api(symbi, daemons, "--agents", agents)
    d.wait_for("scheduler started")
    return d, Api(port)


def same_next(cli, api):
    """The API's next fire is the CLI's, or (a job firing every second, the
    CLI taking more than a second under valgrind) a later one, no later than
    a second past the API's answer."""
    if cli is None or api is None or cli == api:
        return cli == api
    soon = iso(int(time.time() + 2) * 1000)
    return cli["timezone"] == api["timezone"] and cli["utc"] < api["utc"] <= soon


def why(symbi, api, name, at=None):
    """The causes by code, from the CLI; the API (and the CLI's text form) must
    answer the same. Each answer reads the store as it is when it is asked, and
    a job firing every second moves on between the three (a run goes from
    queued to running, next_run advances): the three are taken again, up to
    ATTEMPTS times, until one round agrees; a round that never agrees fails."""
    args = ["cron", "why", name, "--format", "json"] + (["--at", at] if at else [])
    text_args = args[:3] + (["--at", at] if at else [])
    seen = []
    for _ in range(ATTEMPTS):
        p = symbi.run(*args)
        assert p.returncode == 0, p.stderr
        doc = json.loads(p.stdout)
        codes = [c["cause"] for c in doc["causes"]]
        agree = True
        if api is not None:
            st, body = api.get(f"/api/v1/schedule/{name}/why" + (f"?at={at}" if at else ""))
            assert st == 200, body
            agree = ([c["cause"] for c in body["causes"]] == codes and
                     same_next(doc["next_run"], body["next_run"]))
            seen.append((codes, doc["next_run"], [c["cause"] for c in body["causes"]],
                         body["next_run"]))
        text = symbi.run(*text_args, check=True).stdout
        if agree and all(c in text for c in codes):
            return doc, {c["cause"]: c for c in doc["causes"]}
        seen.append(text)
    raise AssertionError(f"the CLI, API and text answers never agreed: {seen}")


def test_paused(symbi, daemons):
    d, api = up(symbi, daemons, 'schedule { name: "p" agent: "nop" cron: "0 9 * * *" '
                                'timezone: "Europe/Berlin" }\n')
    symbi.run("cron", "pause", "p", check=True)
    doc, c = why(symbi, api, "p")
    assert "no_scheduler" not in c
    assert c["paused"]["event"]["type"] == "CronJobPaused"
    assert c["paused"]["event"]["actor"] == "cli"
    assert "symbi cron resume p" in c["paused"]["message"]
    assert doc["next_run"] is None and doc["job"]["status"] == "paused"
    assert doc["description"] == "At 09:00 (Europe/Berlin)"
    # the §9.1 job answer carries the description; the upstream (§9.2) shape does not
    st, j = api.get("/api/v1/schedule/p")
    assert st == 200 and j["description"] == "At 09:00 (Europe/Berlin)"
    st, u = api.get(f"/api/v1/schedules/{j['id']}")
    assert st == 200 and "description" not in u
    st, lst = api.get("/api/v1/schedule")
    assert [x["description"] for x in lst] == ["At 09:00 (Europe/Berlin)"]
    status = symbi.run("cron", "status", "p", check=True).stdout
    assert "Description:     At 09:00 (Europe/Berlin)" in status
    symbi.run("cron", "resume", "p", check=True)
    doc, c = why(symbi, api, "p")
    assert list(c) == ["not_due"]
    nxt = doc["next_run"]
    assert nxt["utc"].endswith(":00:00Z") and nxt["timezone"] == "Europe/Berlin"
    assert nxt["local"][11:19] == "09:00:00"


def test_dead_letter_with_last_error(symbi, daemons):
    d, api = up(symbi, daemons, 'schedule { name: "dl" agent: "bad" cron: "* * * * * *" '
                                'max_retries: 1 }\n')
    wait_until(lambda: job(symbi, "dl")["status"] == "dead_letter", what="dead letter")
    doc, c = why(symbi, api, "dl")
    assert c["dead_letter"]["event"]["type"] == "CronJobDeadLettered"
    run = c["dead_letter"]["run"]
    assert run["status"] == "failed" and run["error_message"]
    assert run["error_message"] in c["dead_letter"]["message"]
    assert "symbi cron reset dl" in c["dead_letter"]["message"]
    assert doc["next_run"] is None


def test_completed(symbi, daemons):
    at = iso(int(time.time() + 2) * 1000)
    d, api = up(symbi, daemons, f'schedule {{ name: "once" agent: "nop" at: "{at}" }}\n')
    wait_until(lambda: job(symbi, "once")["status"] == "completed" and
               runs(symbi, "once", status="succeeded"),
               what="completed")
    doc, c = why(symbi, api, "once")
    assert "will not fire again" in c["completed"]["message"]
    assert c["completed"]["run"]["status"] == "succeeded"
    assert c["ran"]["run"]["scheduled_at"] == at
    assert doc["description"] == f"Once at {at}"


def test_concurrency_skip(symbi, daemons):
    d, api = up(symbi, daemons, 'schedule { name: "busy" agent: "slow" cron: "* * * * * *" }\n')
    sk = wait_until(lambda: runs(symbi, "busy", status="skipped"), what="a skipped run")[0]
    doc, c = why(symbi, api, "busy", at=iso(sk["scheduled_at"]))
    cc = c["concurrency"]
    assert cc["run"]["id"] == sk["id"] and "max_concurrent (1)" in cc["message"]
    t = sk["scheduled_at"]
    busy = [r for r in runs(symbi, "busy") if r["started_at"] is not None and
            r["started_at"] <= t and (r["finished_at"] is None or r["finished_at"] > t)]
    assert busy and busy[0]["id"][:8] in cc["message"]


def test_global_queue(symbi, daemons):
    d, api = up(symbi, daemons,
                'schedule { name: "hog" agent: "slow" cron: "* * * * * *" }\n'
                'schedule { name: "waits" agent: "nop" cron: "* * * * * *" }\n',
                {"max_concurrent_jobs": 1})
    now = lambda: int(time.time() * 1000)
    wait_until(lambda: [r for r in runs(symbi, "waits", status="queued")
                        if r["due_at"] <= now() - 200], what="a queued run")
    doc, c = why(symbi, None, "waits")
    g = c["global_queue"]
    assert g["run"]["status"] == "queued"
    assert "max_concurrent_jobs 1" in g["message"] and "1 runs are running" in g["message"]
    st, body = api.get("/api/v1/schedule/waits/why")
    assert st == 200 and "global_queue" in [x["cause"] for x in body["causes"]]


def test_jitter(symbi, daemons):
    d, api = up(symbi, daemons, 'schedule { name: "jit" agent: "nop" cron: "*/2 * * * * *" '
                                'jitter: "60s" }\n')
    wait_until(lambda: [r for r in runs(symbi, "jit", status="queued")
                        if r["jitter_ms"] > 1000 and
                        r["due_at"] > int(time.time() * 1000) + 1000 * SLOW],
               what="a jittered run")
    doc, c = why(symbi, api, "jit")
    j = c["jitter"]
    assert j["run"]["status"] == "queued" and j["run"]["due_at"] > j["run"]["scheduled_at"]
    assert "waits out its jitter" in j["message"]


def test_missed_and_catch_up_after_downtime(symbi, daemons):
    agents = write_agents(symbi.data_dir, AGENTS +
                          'schedule { name: "sk" agent: "nop" cron: "* * * * *" catch_up: "skip" }\n'
                          'schedule { name: "once" agent: "nop" cron: "* * * * *" }\n')
    symbi.run("cron", "add", "--file", agents / "jobs.symbi", check=True)
    # the scheduler was down for the last 10 minutes: next_run is 10 minutes ago
    # (SQLite-only: a write that fabricates downtime; no CLI or API sets next_run)
    db = sqlite3.connect(symbi.data_dir / "symbi.db")
    past = (int(time.time()) // 60 - 10) * 60000
    db.execute("UPDATE jobs SET next_run = ?", (past,))
    db.commit()
    db.close()
    d, port = start_api(symbi, daemons, "--agents", agents)
    api = Api(port)
    wait_until(lambda: len(runs(symbi, "sk", status="missed")) >= 10, what="missed records")
    wait_until(lambda: [r for r in runs(symbi, "once", status="succeeded")
                        if r["trigger"] == "catch_up"], what="catch up")
    doc, c = why(symbi, api, "sk")
    m = c["missed"]
    assert m["run"]["status"] == "missed" and "catch_up: skip" in m["message"]
    doc, c = why(symbi, api, "once")
    assert c["catch_up"]["run"]["trigger"] == "catch_up"


def test_no_live_scheduler(symbi, daemons):
    d, api = up(symbi, daemons, 'schedule { name: "n" agent: "nop" cron: "0 9 * * *" }\n')
    doc, c = why(symbi, api, "n")
    assert "no_scheduler" not in c
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    doc, c = why(symbi, None, "n")
    assert list(c)[0] == "no_scheduler"
    assert "until `symbi up` runs" in c["no_scheduler"]["message"]


def test_unknown_agent(symbi, daemons):
    d, api = up(symbi, daemons, 'schedule { name: "g" agent: "ghost" cron: "* * * * * *" }\n')
    wait_until(lambda: runs(symbi, "g", status="failed"), what="a failed run")
    doc, c = why(symbi, api, "g")
    u = c["unknown_agent"]
    assert 'agent "ghost" is defined in no loaded file' in u["message"]
    assert 'unknown agent "ghost"' in u["run"]["error_message"]


def gate_state(symbi, name, status, error, event_type=None):
    """A run record and audit event as the policy gate writes them (SQLite-only:
    fabricated with SQL, a gate refusal needs a policy, a clock and keys set up)."""
    db = sqlite3.connect(symbi.data_dir / "symbi.db", timeout=10)
    jid = db.execute("SELECT id FROM jobs WHERE name = ?", (name,)).fetchone()[0]
    rid = str(uuid.uuid4())
    now = int(time.time() * 1000)
    t = now - 60000
    db.execute("INSERT INTO runs (id, job_id, job_name, scheduled_at, due_at, finished_at, status, "
               "error_message, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
               (rid, jid, name, t, t, None if status == "pending_approval" else t, status, error, now))
    if event_type:
        db.execute("INSERT INTO audit_events (at, type, job_id, job_name, run_id, actor, details) "
                   "VALUES (?,?,?,?,?,?,?)", (t, event_type, jid, name, rid, "scheduler",
                                              json.dumps({"reason": error})))
    db.commit()
    db.close()
    return rid


def test_policy_agentpin_and_approval_causes(symbi, daemons):
    d, api = up(symbi, daemons, "".join(
        f'schedule {{ name: "{n}" agent: "nop" cron: "0 0 1 1 *" }}\n'
        for n in ("hours", "env", "pin", "appr", "denied")))
    cases = [
        ("hours", "denied", "policy: start 12:00 is outside allowed_hours 00:00-04:00",
         "PolicyDenied", "policy_hours"),
        ("env", "denied", 'policy: environment "development" is not in allowed_environments',
         "PolicyDenied", "policy_environment"),
        ("pin", "denied", "AgentPin: signature does not verify", "AgentPinVerificationFailed",
         "agentpin"),
        ("denied", "denied", "denied by alice: not today", "CronRunDenied", "approval_denied"),
        ("appr", "pending_approval", None, None, "pending_approval"),
    ]
    for name, status, error, ev, cause in cases:
        rid = gate_state(symbi, name, status, error, ev)
        doc, c = why(symbi, api, name)
        assert cause in c, (name, c)
        assert c[cause]["run"]["id"] == rid
        if ev:
            assert c[cause]["event"]["type"] == ev and c[cause]["event"]["run_id"] == rid
        if error:
            assert error in c[cause]["message"]
    assert "symbi cron approve" in why(symbi, api, "appr")[1]["pending_approval"]["message"]


def test_next_fire_outside_allowed_hours(symbi, daemons):
    d, api = up(symbi, daemons, 'schedule { name: "late" agent: "nop" cron: "30 12 * * *" '
                                'policy { allowed_hours: { start: "00:00", end: "04:00" } } }\n')
    doc, c = why(symbi, api, "late")
    assert "outside allowed_hours 00:00-04:00" in c["policy_hours"]["message"]
    assert doc["next_run"]["utc"].endswith("T12:30:00Z")


def test_unknown_job_and_bad_at(symbi, daemons):
    d, api = up(symbi, daemons, "")
    p = symbi.run("cron", "why", "nosuch")
    assert p.returncode == 1 and "nosuch" in p.stderr
    st, body = api.get("/api/v1/schedule/nosuch/why")
    assert st == 404
    st, body = api.get("/api/v1/schedule/nosuch/why?at=yesterday")
    assert st == 400 and body["code"] == "INVALID_FIELD"
