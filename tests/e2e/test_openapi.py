"""docs/openapi.yaml is exact (SPEC §9.1): it validates as OpenAPI 3.1
(@apidevtools/swagger-parser from the npm registry, installed once into
tests/tools/node_modules), the daemon serves it at GET
/api/v1/openapi.json, every route of the server's table (src/http/routes.c)
is in it and nothing else, and one request per documented operation (plus
an error request for each) against a real `symbi up` answers with a status
the document lists and a body its schema accepts."""
import json
import os
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from apiclient import Api, start_api, wait_until
from sdk_util import AGENTS, KEY, ROOT, TOOLS, ensure_tools, insert_pending_run

DOC_PATH = ROOT / "docs" / "openapi.yaml"
ROUTES_C = ROOT / "src" / "http" / "routes.c"
BUILD = Path(os.environ.get("SYMBI_BUILD", ROOT / "build"))
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


@pytest.fixture(scope="module")
def doc():
    with open(DOC_PATH, encoding="utf-8") as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def swagger_parser():
    ensure_tools()
    return TOOLS / "openapi_validate.mjs"


def test_the_document_validates(swagger_parser, tmp_path, doc):
    served = BUILD / "gen" / "openapi.json"
    assert served.exists(), f"{served}: the build writes it (mk/openapi_embed.py)"
    p = subprocess.run(["node", str(swagger_parser), str(DOC_PATH), str(served)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("ok ") == 2 and "OpenAPI 3.1.0" in p.stdout
    # the validator does refuse a broken document
    broken = json.loads(json.dumps(doc))
    broken["paths"]["/api/v1/health"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"] = {"$ref": "#/components/schemas/NoSuchSchema"}
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    p = subprocess.run(["node", str(swagger_parser), str(tmp_path / "broken.json")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and "NoSuchSchema" in p.stdout, p.stdout


def server_routes():
    """(METHOD, pattern) of every row of the server's route table."""
    text = ROUTES_C.read_text()
    rows = re.findall(r'\{\s*"([A-Z]+)",\s*"([^"]+)",\s*http_h_\w+', text)
    assert len(rows) >= 20, f"cannot read the route table of {ROUTES_C}"
    return {(m, p) for m, p in rows}


def documented_routes(doc):
    out = {}
    for path, item in doc["paths"].items():
        for method in item:
            if method in METHODS:
                out[(method.upper(), re.sub(r"\{[^}]+\}", "{}", path))] = \
                    (path, item[method]["operationId"])
    return out


def test_every_route_of_the_server_is_documented(doc):
    served = server_routes()
    documented = documented_routes(doc)
    missing = sorted(served - set(documented))
    extra = sorted(set(documented) - served)
    msg = []
    for m, p in missing:
        msg.append(f"{m} {p.replace('{}', '{param}')} is served (src/http/routes.c) but not "
                   f"in docs/openapi.yaml: add it (and a request for it in "
                   f"test_replay_one_request_per_operation)")
    for m, p in extra:
        msg.append(f"{m} {documented[(m, p)][0]} is in docs/openapi.yaml but the server has "
                   f"no such route")
    assert not msg, "\n".join(msg)


def test_the_daemon_serves_the_document(symbi, daemons, doc):
    _, port = start_api(symbi, daemons, env={"SYMBI_API_KEY": KEY})
    st, hd, body = Api(port, key=KEY).raw("GET", "/api/v1/openapi.json")
    assert st == 200 and hd["content-type"] == "application/json"
    assert json.loads(body) == doc
    assert Api(port).raw("GET", "/api/v1/openapi.json")[0] == 401  # a key is needed


# ---------------------------------------------------------------- replay

def make_checker(doc):
    fc = jsonschema.FormatChecker()

    @fc.checks("date-time")
    def is_time(v):
        return not isinstance(v, str) or bool(TIME_RE.match(v))

    resolver = jsonschema.RefResolver.from_schema(doc)

    def check(schema, value, where):
        v = jsonschema.Draft202012Validator(schema, resolver=resolver, format_checker=fc)
        errors = sorted(v.iter_errors(value), key=lambda e: list(e.absolute_path))
        if errors:
            lines = [f"{where}: {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
                     for e in errors[:8]]
            raise AssertionError("answer does not match docs/openapi.yaml:\n" + "\n".join(lines))
    return check


def deref(doc, obj):
    while isinstance(obj, dict) and "$ref" in obj:
        node = doc
        for part in obj["$ref"].lstrip("#/").split("/"):
            node = node[part]
        obj = node
    return obj


class Replayer:
    def __init__(self, doc, api):
        self.doc, self.api, self.check = doc, api, make_checker(doc)
        self.ops = {}
        for path, item in doc["paths"].items():
            for method in item:
                if method in METHODS:
                    self.ops[item[method]["operationId"]] = (method.upper(), path, item[method])
        self.done = set()

    def send(self, op_id, path, body=None, query="", want=None):
        """Sends the request of operation op_id with the path filled in;
        checks the status is documented for it (or an error under default)
        and the body against the schema; returns the parsed body."""
        method, template, op = self.ops[op_id]
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        assert re.fullmatch(pattern, path), (op_id, path, template)
        if body is not None and "requestBody" in op and want != 400:  # 400: a body made bad
            schema = deref(self.doc, op["requestBody"])["content"]["application/json"]["schema"]
            self.check(schema, body, f"request body of {op_id}")
        st, hd, raw = self.api.raw(method, path + query,
                                   json.dumps(body) if body is not None else None,
                                   {"Content-Type": "application/json"} if body is not None
                                   else None)
        where = f"{method} {path}{query} ({op_id}) -> {st}"
        if want is not None:
            assert st == want, f"{where}: want {want}: {raw[:300]!r}"
        responses = op["responses"]
        resp = responses.get(str(st))
        if resp is None:
            assert st >= 400 and "default" in responses, f"{where}: status not documented"
            resp = responses["default"]
        resp = deref(self.doc, resp)
        ctype = hd.get("content-type", "").split(";")[0]
        assert ctype in resp.get("content", {}), f"{where}: content type {ctype} not documented"
        if ctype == "application/json":
            value = json.loads(raw)
            self.check(resp["content"][ctype]["schema"], value, where)
        else:
            value = raw.decode()
            self.check(resp["content"][ctype]["schema"], value, where)
        self.done.add(op_id)
        return value


def final_run(api, rid):
    return wait_until(lambda: (lambda r: r if r["status"] not in ("queued", "running") else None)(
        api.get(f"/api/v1/runs/{rid}")[1]), timeout=20)


def test_replay_one_request_per_operation(symbi, daemons, tmp_path, doc):
    agents = tmp_path / "agents"
    agents.mkdir()
    (agents / "sdk.symbi").write_text(AGENTS)
    _, port = start_api(symbi, daemons, "--agents", agents, env={"SYMBI_API_KEY": KEY})
    api = Api(port, key=KEY)
    r = Replayer(doc, api)

    # the guide's routes
    job = r.send("createJob", "/api/v1/schedule", {
        "name": "replay", "agent_id": "echoer", "cron_expr": "0 3 * * *",
        "session_mode": "ephemeral_with_summary", "delivery": ["stdout"],
        "webhook_headers": {"X-A": "b"}, "policy": {"approvers": ["alice"]},
        "heartbeat": {"enabled": False, "context_mode": "shared_persistent",
                      "max_iterations": 2}, "jitter": "1s", "agent_pin_jwt": "a.b.c"}, want=201)
    r.send("createJob", "/api/v1/schedule", {"name": "replay", "agent_id": "echoer",
                                              "cron_expr": "0 3 * * *"}, want=409)
    r.send("createJob", "/api/v1/schedule", {"name": "x", "agent_id": "echoer",
                                              "cron_expr": "99 * * * *"}, want=400)
    r.send("listJobs", "/api/v1/schedule", query="?status=active&agent_id=echoer&limit=10",
           want=200)
    r.send("listJobs", "/api/v1/schedule", query="?status=nope", want=400)
    r.send("getJob", f"/api/v1/schedule/{job['id'][:8]}", want=200)
    r.send("getJob", "/api/v1/schedule/no-such-job", want=404)
    r.send("updateJob", "/api/v1/schedule/replay", {"cron_expr": "0 */2 * * *"}, want=200)
    r.send("updateJob", "/api/v1/schedule/replay", {"colour": "red"}, want=400)
    r.send("pauseJob", "/api/v1/schedule/replay/pause", want=200)
    r.send("resumeJob", "/api/v1/schedule/replay/resume", want=200)
    r.send("resumeJob", "/api/v1/schedule/no-such-job/resume", want=404)
    run = r.send("runJob", "/api/v1/schedule/replay/run", {"input": "replayed"}, want=202)
    done = final_run(api, run["id"])
    assert done["status"] == "succeeded", done
    r.send("runJob", "/api/v1/schedule/replay/run", {"inputs": "x"}, want=400)
    r.send("jobHistory", "/api/v1/schedule/replay/history", query="?limit=20&status=succeeded",
           want=200)
    r.send("jobHistory", "/api/v1/schedule/replay/history", query="?limit=0", want=400)
    r.send("jobNextRun", "/api/v1/schedule/replay/next_run", query="?count=3", want=200)
    why = r.send("jobWhy", "/api/v1/schedule/replay/why", want=200)
    assert why["causes"] and why["causes"][0]["run"] is not None  # the manual run, cited
    r.send("jobWhy", "/api/v1/schedule/replay/why", query="?at=soon", want=400)
    r.send("jobWhy", "/api/v1/schedule/no-such-job/why", want=404)
    r.send("backfillJob", "/api/v1/schedule/replay/backfill",
           {"from": "2026-01-01T00:00:00Z", "to": "2026-01-01T05:00:00Z", "dry_run": True},
           want=200)
    r.send("backfillJob", "/api/v1/schedule/replay/backfill",
           {"from": "2026-01-01T00:00:00Z", "to": "2026-01-01T05:00:00Z"}, want=202)
    r.send("backfillJob", "/api/v1/schedule/replay/backfill",
           {"from": "2000-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, want=422)
    r.send("backfillJob", "/api/v1/schedule/replay/backfill", {"from": "x", "to": "y"},
           want=400)
    ctx = r.send("getJobContext", "/api/v1/schedule/replay/context", want=200)
    assert ctx["summary"] is not None  # the run above carried its summary
    r.send("getJobContext", "/api/v1/schedule/no-such-job/context", want=404)
    r.send("clearJobContext", "/api/v1/schedule/replay/context", want=200)
    r.send("clearJobContext", "/api/v1/schedule/no-such-job/context", want=404)
    r.send("getRun", f"/api/v1/runs/{run['id']}", want=200)  # a finished run, every field set
    r.send("getRun", "/api/v1/runs/no-such-run", want=404)
    # reset: a job in the dead letter
    assert api.post("/api/v1/schedule", {"name": "replay-fail", "agent_id": "failer",
                                         "cron_expr": "0 3 * * *", "max_retries": 1})[0] == 201
    final_run(api, api.post("/api/v1/schedule/replay-fail/run")[1]["id"])
    wait_until(lambda: api.get("/api/v1/schedule/replay-fail")[1]["status"] == "dead_letter")
    r.send("resetJob", "/api/v1/schedule/replay-fail/reset", want=200)
    # approvals
    gated_id = api.post("/api/v1/schedule", {"name": "replay-gated", "agent_id": "echoer",
                                             "cron_expr": "0 3 * * *"})[1]["id"]
    p1 = insert_pending_run(symbi.data_dir, gated_id, "replay-gated")
    p2 = insert_pending_run(symbi.data_dir, gated_id, "replay-gated")
    # the approver is the caller (SYMBI_API_KEY: "env"); a body may not claim another
    r.send("approveRun", f"/api/v1/runs/{p1}/approve", {"approver": "alice"}, want=403)
    r.send("approveRun", f"/api/v1/runs/{p1}/approve", {"approver": "env"}, want=200)
    r.send("approveRun", f"/api/v1/runs/{p1}/approve", {"approver": "env"}, want=409)
    r.send("denyRun", f"/api/v1/runs/{p2}/deny", {"reason": "replayed"}, want=200)
    # the dashboard's routes (SPEC §16)
    pending = r.send("listRuns", "/api/v1/runs", query="?status=pending_approval&limit=5",
                     want=200)
    assert pending == []
    r.send("listRuns", "/api/v1/runs", query="?job=replay&limit=5", want=200)
    r.send("listRuns", "/api/v1/runs", query="?status=nope", want=400)
    r.send("listRuns", "/api/v1/runs", query="?job=no-such-job", want=404)
    act = r.send("activity", "/api/v1/activity", query="?runs=10&minutes=5", want=200)
    assert act["recent"][job["id"]][0] == "S" and len(act["per_minute"]) == 5
    r.send("activity", "/api/v1/activity", query="?minutes=0", want=400)
    r.send("changes", "/api/v1/changes", want=200)
    r.send("jobFires", "/api/v1/schedule/replay/fires", query="?count=12", want=200)
    r.send("jobFires", "/api/v1/schedule/replay/fires", query="?count=101", want=400)
    r.send("jobFires", "/api/v1/schedule/no-such-job/fires", want=404)
    r.send("uiIndex", "/ui", want=200)
    r.send("uiIndexSlash", "/ui/", want=200)
    r.send("uiFile", "/ui/app.js", want=200)
    r.send("uiFile", "/ui/no-such-file.js", want=404)
    r.send("queryAudit", "/api/v1/audit", query="?type=CronJobCreated&limit=10", want=200)
    r.send("queryAudit", "/api/v1/audit", query="?since=yesterday", want=400)
    r.send("health", "/api/v1/health", want=200)
    r.send("schedulerHealth", "/api/v1/health/scheduler", want=200)
    assert "symbiont_cron_runs_total" in r.send("metrics", "/metrics", want=200)
    r.send("openapi", "/api/v1/openapi.json", want=200)

    # upstream's routes
    up = r.send("upstreamCreate", "/api/v1/schedules", {
        "name": "replay-up", "cron_expression": "*/10 * * * *", "agent_name": "echoer",
        "timezone": "UTC", "policy_ids": [], "one_shot": False}, want=201)
    uid = up["job_id"]
    r.send("upstreamCreate", "/api/v1/schedules", {"name": "u2", "cron": "x"}, want=400)
    r.send("upstreamList", "/api/v1/schedules", want=200)
    r.send("upstreamGet", f"/api/v1/schedules/{uid}", want=200)
    r.send("upstreamGet", "/api/v1/schedules/no-such-job", want=404)
    r.send("upstreamUpdate", f"/api/v1/schedules/{uid}", {}, want=200)
    r.send("upstreamUpdate", f"/api/v1/schedules/{uid}", {"cron_expression": "0 5 * * *"},
           want=200)
    r.send("upstreamPause", f"/api/v1/schedules/{uid}/pause", want=200)
    r.send("upstreamResume", f"/api/v1/schedules/{uid}/resume", want=200)
    r.send("upstreamTrigger", f"/api/v1/schedules/{uid}/trigger", want=200)
    wait_until(lambda: all(h["status"] == "Succeeded" for h in
                           api.get(f"/api/v1/schedules/{uid}/history")[1]["history"]))
    r.send("upstreamHistory", f"/api/v1/schedules/{uid}/history", query="?limit=5", want=200)
    r.send("upstreamNextRuns", f"/api/v1/schedules/{uid}/next-runs", query="?count=4", want=200)
    r.send("upstreamDelete", f"/api/v1/schedules/{uid}", want=200)
    r.send("upstreamDelete", f"/api/v1/schedules/{uid}", want=404)
    r.send("deleteJob", "/api/v1/schedule/replay", want=200)
    r.send("deleteJob", "/api/v1/schedule/replay", want=404)

    left = sorted(set(r.ops) - r.done)
    assert not left, ("documented operations with no request in this test (add one): " +
                      ", ".join(f"{r.ops[o][0]} {r.ops[o][1]} ({o})" for o in left))


def test_replay_upstream_health_shape(symbi, daemons, doc):
    _, port = start_api(symbi, daemons, env={"SYMBI_API_UPSTREAM_HEALTH": "1"})
    r = Replayer(doc, Api(port))
    h = r.send("schedulerHealth", "/api/v1/health/scheduler", want=200)
    assert "is_running" in h and len(h) == 13
