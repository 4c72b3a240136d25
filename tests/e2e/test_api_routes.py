"""SPEC §9.1 end to end: the guide's own curl commands against the real
daemon in protected mode, the documented fields of every answer, PUT
recomputing next_run, filters, and validation that matches the CLI's."""
import json
import subprocess
from datetime import datetime, timezone

import pytest
from croniter import croniter

from apiclient import Api, assert_error, start_api

JOB_KEYS = {"id", "name", "agent_id", "cron_expr", "at", "timezone", "status", "session_mode",
            "delivery", "webhook_url", "webhook_headers", "slack_channel", "email_recipients",
            "policy", "heartbeat", "max_concurrent", "max_retries", "jitter", "catch_up",
            "created_at", "updated_at", "last_run", "next_run", "run_count", "failure_count"}
RUN_KEYS = {"id", "job_id", "job_name", "agent", "trigger", "scheduled_at", "started_at",
            "finished_at", "status", "attempt", "input", "output", "output_truncated",
            "error_message", "exit_code", "execution_time_ms", "node", "iterations", "deliveries"}
HEALTH_KEYS = {"status", "active_jobs", "paused_jobs", "dead_letter_jobs", "in_flight_jobs",
               "queued_runs", "uptime_seconds", "metrics"}


def curl(port, *args):
    """Runs a guide curl command (base URL rewritten to the test's port);
    returns (status, parsed JSON body)."""
    argv = ["curl", "-sS", "-w", "\n%{http_code}"]
    for a in args:
        argv.append(a.replace("http://localhost:8080", f"http://127.0.0.1:{port}"))
    p = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    body, _, code = p.stdout.rpartition("\n")
    return int(code), json.loads(body)


def parse_t(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


@pytest.fixture
def api(symbi, daemons):
    _, port = start_api(symbi, daemons)
    return port


def test_guide_curl_commands(api, symbi):
    port = api
    st, job = curl(port, "-X", "POST", "http://localhost:8080/api/v1/schedule",
                   "-H", "Content-Type: application/json",
                   "-d", '{"name": "hourly-report", "agent_id": "reporter", "cron_expr": '
                   '"0 * * * *",\n       "session_mode": "ephemeral_with_summary", '
                   '"delivery": ["stdout"]}')
    assert st == 201, job
    assert JOB_KEYS <= set(job), JOB_KEYS - set(job)
    assert job["name"] == "hourly-report" and job["agent_id"] == "reporter"
    assert job["cron_expr"] == "0 * * * *" and job["status"] == "active"
    assert job["session_mode"] == "ephemeral_with_summary" and job["delivery"] == ["stdout"]
    assert job["run_count"] == 0 and job["failure_count"] == 0 and job["timezone"] == "UTC"
    created = parse_t(job["created_at"])
    assert parse_t(job["next_run"]) == croniter("0 * * * *", created).get_next(datetime)
    jid = job["id"]
    a = Api(port)
    assert a.post("/api/v1/schedule", {"name": "other", "agent_id": "writer",
                                       "cron_expr": "5 4 * * *"})[0] == 201

    st, jobs = curl(port, "http://localhost:8080/api/v1/schedule?status=active&agent_id=reporter")
    assert st == 200 and [j["name"] for j in jobs] == ["hourly-report"]
    assert all(JOB_KEYS <= set(j) for j in jobs)

    for ref in (jid, jid[:8], "hourly-report"):
        st, got = curl(port, f"http://localhost:8080/api/v1/schedule/{ref}")
        assert st == 200 and got["id"] == jid

    before = parse_t(job["created_at"])
    st, upd = curl(port, "-X", "PUT", f"http://localhost:8080/api/v1/schedule/{jid}",
                   "-H", "Content-Type: application/json", "-d", '{"cron_expr": "0 */2 * * *"}')
    assert st == 200 and upd["cron_expr"] == "0 */2 * * *"
    nxt = parse_t(upd["next_run"])
    assert nxt == croniter("0 */2 * * *", parse_t(upd["updated_at"])).get_next(datetime)
    assert nxt > before and nxt.hour % 2 == 0 and nxt.minute == 0
    # a second change moves next_run again (03:15 daily)
    st, upd2 = a.put(f"/api/v1/schedule/{jid}", {"cron_expr": "15 3 * * *"})
    assert st == 200 and parse_t(upd2["next_run"]).strftime("%H:%M") == "03:15"
    st, upd = a.put(f"/api/v1/schedule/{jid}", {"cron_expr": "0 */2 * * *"})
    assert st == 200

    st, p = curl(port, "-X", "POST", f"http://localhost:8080/api/v1/schedule/{jid}/pause")
    assert st == 200 and p["status"] == "paused" and JOB_KEYS <= set(p)
    st, r = curl(port, "-X", "POST", f"http://localhost:8080/api/v1/schedule/{jid}/resume")
    assert st == 200 and r["status"] == "active"
    # reset is for dead_letter and failed jobs only (test_api_hardening.py)
    st, r = a.post(f"/api/v1/schedule/{jid}/reset")
    assert st == 409 and r["code"] == "INVALID_STATE"

    st, run = curl(port, "-X", "POST", f"http://localhost:8080/api/v1/schedule/{jid}/run",
                   "-H", "Content-Type: application/json",
                   "-d", '{"input": "Run with custom input"}')
    assert st == 202, run
    assert RUN_KEYS <= set(run), RUN_KEYS - set(run)
    assert run["job_id"] == jid and run["trigger"] == "manual"
    assert run["input"] == "Run with custom input" and run["attempt"] == 1

    st, hist = curl(port, f"http://localhost:8080/api/v1/schedule/{jid}/history?limit=20&status=failed")
    assert st == 200 and isinstance(hist, list)
    assert all(h["status"] == "failed" for h in hist)
    st, hist = a.get(f"/api/v1/schedule/{jid}/history?limit=20")
    assert st == 200 and run["id"] in [h["id"] for h in hist]
    assert all(RUN_KEYS <= set(h) for h in hist)

    st, nr = curl(port, f"http://localhost:8080/api/v1/schedule/{jid}/next_run")
    assert st == 200 and set(nr) == {"id", "next_run", "next_runs"} and nr["id"] == jid
    assert len(nr["next_runs"]) == 1 and parse_t(nr["next_runs"][0]).hour % 2 == 0
    st, nr = a.get(f"/api/v1/schedule/{jid}/next_run?count=5")
    times = [parse_t(t) for t in nr["next_runs"]]
    assert len(times) == 5 and times == sorted(times) and len(set(times)) == 5

    st, got = a.get(f"/api/v1/runs/{run['id']}")
    assert st == 200 and got["id"] == run["id"] and RUN_KEYS <= set(got)

    st, ev = a.get(f"/api/v1/audit?job={jid}")
    assert st == 200
    types = {e["type"] for e in ev}
    assert {"CronJobCreated", "CronJobUpdated", "CronJobPaused", "CronJobResumed"} <= types, types
    st, ev = a.get("/api/v1/audit?type=CronJobPaused")
    assert st == 200 and ev and all(e["type"] == "CronJobPaused" for e in ev)

    st, h = curl(port, "http://localhost:8080/api/v1/health/scheduler")
    assert st == 200 and HEALTH_KEYS <= set(h), h
    assert h["status"] == "healthy" and h["active_jobs"] == 2 and h["paused_jobs"] == 0
    assert {"runs_total", "runs_succeeded", "runs_failed", "avg_execution_time_ms"} <= set(h["metrics"])
    st, h = a.get("/api/v1/health")
    assert st == 200 and set(h) == {"status", "uptime_seconds", "timestamp", "version"}

    st, d = curl(port, "-X", "DELETE", f"http://localhost:8080/api/v1/schedule/{jid}")
    assert st == 200 and d == {"id": jid, "deleted": True}
    st, body = a.get(f"/api/v1/schedule/{jid}")
    assert_error(st, body, 404)


def test_validation_statuses(api):
    a = Api(api)
    ok = {"name": "v1", "agent_id": "a", "cron_expr": "0 9 * * *"}
    assert a.post("/api/v1/schedule", ok)[0] == 201
    st, b = a.post("/api/v1/schedule", ok)
    assert_error(st, b, 409)
    st, b = a.post("/api/v1/schedule", {**ok, "name": "v2", "cron_expr": "0 9 * * 8"})
    assert_error(st, b, 400)
    assert "day-of-week" in b["error"] and b["details"]["field"] in ("cron_expr", "cron")
    st, b = a.post("/api/v1/schedule", {**ok, "name": "v3", "timezone": "Mars/Base"})
    assert_error(st, b, 400)
    assert "Mars/Base" in b["error"] and b["details"]["field"] == "timezone"
    st, b = a.post("/api/v1/schedule", {**ok, "name": "v4", "jitter": "soon"})
    assert_error(st, b, 400)
    assert b["details"]["field"] == "jitter"
    st, b = a.post("/api/v1/schedule", {**ok, "name": "v5", "crn": "x"})
    assert_error(st, b, 400)
    assert "crn" in b["error"] and b["details"]["field"] == "crn"
    st, b = a.put("/api/v1/schedule/v1", {"name": "v1", "cron_expr": "61 * * * *"})
    assert_error(st, b, 400)
    st, b = a.get("/api/v1/schedule/v1")
    assert b["cron_expr"] == "0 9 * * *"  # a rejected request changes nothing
    st, b = a.post("/api/v1/schedule/nope/pause")
    assert_error(st, b, 404)
    # the actions take no fields: one would be accepted and ignored
    for action in ("pause", "resume", "reset"):
        st, b = a.post(f"/api/v1/schedule/v1/{action}", {"reason": "maintenance"})
        assert_error(st, b, 400)
        assert b["details"]["field"] == "reason", b
        # {} is no field (reset answers 409 for a job not in dead letter)
        assert a.post(f"/api/v1/schedule/v1/{action}", {})[0] in (200, 409)
    for action in ("pause", "resume", "trigger"):
        st, b = a.post(f"/api/v1/schedules/v1/{action}", {"force": True})
        assert_error(st, b, 400)
    assert a.get("/api/v1/schedule/v1")[1]["status"] == "active"
    st, b = a.get("/api/v1/schedule?status=sleeping")
    assert_error(st, b, 400)
    st, b = a.get("/api/v1/schedule?limit=abc")
    assert_error(st, b, 400)
    st, b = a.get("/api/v1/schedule?limit=1&offset=0")
    assert st == 200 and len(b) == 1


def test_rename_onto_taken_name_is_409(api):
    a = Api(api)
    assert a.post("/api/v1/schedule", {"name": "n1", "agent_id": "a", "cron_expr": "@daily"})[0] == 201
    assert a.post("/api/v1/schedule", {"name": "n2", "agent_id": "a", "cron_expr": "@daily"})[0] == 201
    st, b = a.put("/api/v1/schedule/n2", {"name": "n1"})
    assert_error(st, b, 409)
    assert a.get("/api/v1/schedule/n2")[0] == 200

def test_cli_and_api_reject_with_the_same_message(api, symbi):
    """`symbi cron add --json` and POST /api/v1/schedule share validation."""
    a = Api(api)
    for bad in ({"name": "c1", "agent_id": "a", "cron_expr": "0 9 * * 8"},
                {"name": "c2", "agent_id": "a", "cron_expr": "0 9 * * *", "timezone": "Mars/Base"},
                {"name": "c3", "agent_id": "a", "cron_expr": "0 9 * * *", "max_concurrent": "x"}):
        st, b = a.post("/api/v1/schedule", bad)
        assert_error(st, b, 400)
        p = symbi.run("cron", "add", "--json", json.dumps(bad))
        assert p.returncode != 0
        assert b["error"] in p.stderr, (b["error"], p.stderr)


def test_list_reflects_every_change(api, symbi):
    """Job lists are re-rendered whenever the store changed, whoever changed
    it (this API on any worker thread, or another process)."""
    a = Api(api)
    assert a.post("/api/v1/schedule", {"name": "l1", "agent_id": "a", "cron_expr": "@daily"})[0] == 201

    def statuses():
        return {a.get("/api/v1/schedule")[1][0]["status"] for _ in range(6)}

    assert statuses() == {"active"}
    assert symbi.run("cron", "pause", "l1").returncode == 0
    assert statuses() == {"paused"}
    assert a.post("/api/v1/schedule/l1/resume")[0] == 200
    assert statuses() == {"active"}
    assert a.post("/api/v1/schedule", {"name": "l2", "agent_id": "a", "cron_expr": "@daily"})[0] == 201
    assert {len(a.get("/api/v1/schedule")[1]) for _ in range(6)} == {2}
    assert [j["name"] for j in a.get("/api/v1/schedule?limit=1&offset=1")[1]] == ["l2"]
    assert symbi.run("cron", "remove", "l2", "--force").returncode == 0
    assert {len(a.get("/api/v1/schedule")[1]) for _ in range(6)} == {1}
