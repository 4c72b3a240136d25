"""SPEC §9.2 end to end: upstream Symbiont's routes answer with exactly
their key sets (an extra key breaks the Python SDK), 201 on create,
PascalCase statuses, `{}` accepted by PUT, and a JSON Content-Type on a
bodiless GET or DELETE accepted."""
import pytest

from apiclient import Api, assert_error, start_api

SUMMARY = {"job_id", "name", "cron_expression", "timezone", "status", "enabled", "next_run",
           "run_count"}
DETAIL = SUMMARY | {"one_shot", "last_run", "failure_count", "created_at", "updated_at"}
HISTORY_ENTRY = {"run_id", "started_at", "completed_at", "status", "error", "execution_time_ms"}
JSON_CT = {"Content-Type": "application/json"}


@pytest.fixture
def api(symbi, daemons):
    _, port = start_api(symbi, daemons)
    return Api(port)


def test_upstream_routes_exact_shapes(api):
    st, b = api.post("/api/v1/schedules", {"name": "up-daily", "cron_expression": "0 9 * * *",
                                           "agent_name": "reporter"})
    assert st == 201, b
    assert set(b) == {"job_id", "next_run", "status"} and b["status"] == "created"
    jid = b["job_id"]
    # every optional field, with upstream's defaults spelled out
    st, b2 = api.post("/api/v1/schedules", {"name": "up-2", "cron_expression": "*/5 * * * *",
                                            "agent_name": "r", "timezone": "Europe/Paris",
                                            "policy_ids": ["p1"], "one_shot": True})
    assert st == 201 and set(b2) == {"job_id", "next_run", "status"}
    # policy_ids are kept in the job's policy (SPEC §8.3: stored, no effect)
    assert api.get(f"/api/v1/schedule/{b2['job_id']}")[1]["policy"] == {"policy_ids": ["p1"]}
    st, _ = api.put(f"/api/v1/schedules/{b2['job_id']}", {"policy_ids": ["p2", "p3"]})
    assert api.get(f"/api/v1/schedule/{b2['job_id']}")[1]["policy"] == {
        "policy_ids": ["p2", "p3"]}
    api.put(f"/api/v1/schedules/{b2['job_id']}", {"policy_ids": []})
    assert api.get(f"/api/v1/schedule/{b2['job_id']}")[1]["policy"] is None

    st, lst = api.get("/api/v1/schedules", headers=JSON_CT)
    assert st == 200 and len(lst) == 2
    for j in lst:
        assert set(j) == SUMMARY, set(j) ^ SUMMARY
        assert j["status"] == "Active" and j["enabled"] is True
    st, d = api.get(f"/api/v1/schedules/{jid}", headers=JSON_CT)
    assert st == 200 and set(d) == DETAIL, set(d) ^ DETAIL
    assert d["timezone"] == "UTC" and d["one_shot"] is False and d["run_count"] == 0
    assert d["cron_expression"] == "0 9 * * *" and d["name"] == "up-daily"

    st, d = api.put(f"/api/v1/schedules/{jid}", {})
    assert st == 200 and set(d) == DETAIL
    st, d = api.put(f"/api/v1/schedules/{jid}", {"cron_expression": "30 6 * * *",
                                                 "timezone": "Asia/Tokyo", "policy_ids": [],
                                                 "one_shot": False})
    assert st == 200 and set(d) == DETAIL
    assert d["cron_expression"] == "30 6 * * *" and d["timezone"] == "Asia/Tokyo"
    assert d["next_run"].endswith(":30:00Z")  # 06:30 Tokyo is 21:30 UTC

    for action, status, pascal in (("pause", "paused", "Paused"), ("resume", "active", "Active")):
        st, a = api.post(f"/api/v1/schedules/{jid}/{action}")
        assert st == 200 and a == {"job_id": jid, "action": action, "status": status}
        assert api.get(f"/api/v1/schedules/{jid}")[1]["status"] == pascal
    st, a = api.post(f"/api/v1/schedules/{jid}/pause")
    st, d = api.get(f"/api/v1/schedules/{jid}")
    assert d["enabled"] is False and d["status"] == "Paused"
    api.post(f"/api/v1/schedules/{jid}/resume")

    st, t = api.post(f"/api/v1/schedules/{jid}/trigger")
    assert st == 200 and t == {"job_id": jid, "action": "trigger", "status": "triggered"}
    st, h = api.get(f"/api/v1/schedules/{jid}/history?limit=10", headers=JSON_CT)
    assert st == 200 and set(h) == {"job_id", "history"} and h["job_id"] == jid
    assert len(h["history"]) >= 1
    for e in h["history"]:
        assert set(e) == HISTORY_ENTRY, set(e) ^ HISTORY_ENTRY
        assert e["status"][0].isupper() and "_" not in e["status"]

    st, n = api.get(f"/api/v1/schedules/{jid}/next-runs?count=3")
    assert st == 200 and set(n) == {"job_id", "next_runs"} and len(n["next_runs"]) == 3

    st, dl = api.delete(f"/api/v1/schedules/{jid}", headers=JSON_CT)
    assert st == 200 and dl == {"job_id": jid, "deleted": True}
    st, b = api.get(f"/api/v1/schedules/{jid}")
    assert_error(st, b, 404)


def test_upstream_rejections(api):
    st, b = api.post("/api/v1/schedules", {"name": "x", "cron_expression": "bad",
                                           "agent_name": "r"})
    assert_error(st, b, 400)
    st, b = api.post("/api/v1/schedules", {"name": "x", "cron_expression": "@daily",
                                           "agent_name": "r", "policy_ids": "p1"})
    assert_error(st, b, 400)
    assert b["details"]["field"] == "policy_ids"
    st, b = api.post("/api/v1/schedules", {"name": "x", "cron_expression": "@daily",
                                           "agent_name": "r", "agent_id": "r"})
    assert_error(st, b, 400)
    assert api.get("/api/v1/schedules")[1] == []
