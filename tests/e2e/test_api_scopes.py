"""End-to-end: API key scopes (SPEC §9): a read key lists but is refused
(403 + ApiAccessDenied) every write, run and approval; an approve key named
alice approves a run whose approvers list alice and is refused for one that
lists only bob, whatever its body claims; keys without scopes keep full rights."""
import json
import re

from apiclient import Api
from sched_util import audit, job, run_by_id, start, wait_until, write_agents

AGENTS = """
agent echoer { builtin: "echo" }
schedule { name: "for-alice" agent: "echoer" cron: "0 0 1 1 *" input: "a"
           policy { require_approval: true, approvers: ["alice"] } }
schedule { name: "for-bob" agent: "echoer" cron: "0 0 1 1 *" input: "b"
           policy { require_approval: true, approvers: ["bob"] } }
"""


def key(symbi, name, scope=None):
    args = ["api-key", "create", "--name", name] + (["--scope", scope] if scope else [])
    return symbi.run(*args, check=True).stdout.strip()


def port_of(d):
    return int(re.search(r"listening on \S+ port=(\d+)", d.wait_for(" port=")).group(1))


def status_of(symbi, rid):
    r = run_by_id(symbi, rid)
    return r and r["status"]


def pending(symbi, name):
    rid = symbi.run("cron", "run", name, check=True).stdout.strip()
    wait_until(lambda: status_of(symbi, rid) == "pending_approval", what="pending_approval")
    return rid


def denied_events(symbi):
    return sorted(audit(symbi, type="ApiAccessDenied"), key=lambda e: e["at"])


def test_read_key_is_refused_everything_else(symbi, daemons):
    write_agents(symbi.data_dir, AGENTS)
    reader = key(symbi, "reader", "read")
    admin = key(symbi, "root")  # no --scope: every right
    d = start(symbi, daemons)
    api = Api(port_of(d), key=reader)
    st, body = api.get("/api/v1/schedule")
    assert st == 200 and {j["name"] for j in body} == {"for-alice", "for-bob"}
    assert api.get("/api/v1/schedules")[0] == 200
    assert api.get("/api/v1/audit")[0] == 200
    rid = pending(symbi, "for-alice")
    assert api.get(f"/api/v1/runs/{rid}")[0] == 200
    new = {"name": "x", "agent_id": "echoer", "cron_expr": "@daily"}
    refused = [
        ("POST", "/api/v1/schedule", new, "write"),
        ("PUT", "/api/v1/schedule/for-alice", {"cron_expr": "@hourly"}, "write"),
        ("DELETE", "/api/v1/schedule/for-alice", None, "write"),
        ("POST", "/api/v1/schedule/for-alice/pause", None, "write"),
        ("POST", "/api/v1/schedule/for-alice/run", None, "run"),
        ("POST", "/api/v1/schedules/for-alice/trigger", None, "run"),
        ("POST", "/api/v1/schedules", {"name": "y", "cron_expression": "@daily",
                                       "agent_name": "echoer"}, "write"),
        ("POST", f"/api/v1/runs/{rid}/approve", None, "approve"),
        ("POST", f"/api/v1/runs/{rid}/deny", None, "approve"),
    ]
    for method, path, obj, need in refused:
        st, body = api.call(method, path, obj)
        assert st == 403, (method, path, st, body)
        assert body["code"] == "FORBIDDEN" and body["details"] == {"scope": need}
    ev = denied_events(symbi)
    assert len(ev) == len(refused)
    assert all(e["actor"] == "api-key:reader" for e in ev)
    assert [json.loads(e["details"])["needs"] for e in ev] == [r[3] for r in refused]
    # nothing changed
    assert job(symbi, "x") is None and job(symbi, "for-alice")["status"] == "active"
    assert job(symbi, "for-alice")["cron_expr"] == "0 0 1 1 *"
    assert status_of(symbi, rid) == "pending_approval"
    # a key made without --scope keeps every right
    root = Api(api.port, key=admin)
    assert root.post("/api/v1/schedule", new)[0] == 201
    assert root.post("/api/v1/schedule/x/run")[0] == 202
    # ... but scopes are not approvers: the job's approvers still decide
    st, body = root.post(f"/api/v1/runs/{rid}/deny")
    assert st == 403 and '"root" is not among the approvers' in body["error"]


def test_approve_key_is_bound_to_its_name(symbi, daemons):
    write_agents(symbi.data_dir, AGENTS)
    alice = key(symbi, "alice", "approve")
    d = start(symbi, daemons)
    api = Api(port_of(d), key=alice)
    # approve only: no reading
    assert api.get("/api/v1/schedule")[0] == 403
    mine, bobs = pending(symbi, "for-alice"), pending(symbi, "for-bob")
    for body in (None, {"approver": "bob"}, {"approver": "alice"}):
        st, out = api.post(f"/api/v1/runs/{bobs}/approve", body)
        assert st == 403, (body, out)
    st, out = api.post(f"/api/v1/runs/{mine}/approve", {"approver": "bob"})
    assert st == 403 and out["details"]["authenticated"] == "alice"
    st, out = api.post(f"/api/v1/runs/{mine}/approve")
    assert st == 200 and out["approver"] == "alice"
    wait_until(lambda: (lambda r: r is not None and (r["status"], r["output"]) ==
                        ("succeeded", "a"))(run_by_id(symbi, mine)), what="the approved run")
    assert status_of(symbi, bobs) == "pending_approval"
