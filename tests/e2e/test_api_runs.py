"""Manual runs through the API under the real scheduler: `run` with input
reaches the agent's stdin, and history filters by status."""
import json

from apiclient import Api, start_api, wait_until


def test_run_input_reaches_stdin_and_history_filters(symbi, daemons, tmp_path):
    agents = tmp_path / "agents"
    agents.mkdir()
    out = tmp_path / "stdin.txt"
    (agents / "a.symbi").write_text(
        'agent catter {\n  command: "cat > %s"\n}\n'
        'agent failer {\n  builtin: "fail"\n}\n' % json.dumps(str(out))[1:-1].replace('"', '\\"'))
    _, port = start_api(symbi, daemons, "--agents", agents)
    a = Api(port)
    assert a.post("/api/v1/schedule", {"name": "cat", "agent_id": "catter",
                                       "cron_expr": "0 0 1 1 *"})[0] == 201
    st, run = a.post("/api/v1/schedule/cat/run", {"input": "Run with custom input"})
    assert st == 202 and run["status"] == "queued"
    done = wait_until(lambda: (lambda r: r if r["status"] in ("succeeded", "failed") else None)(
        a.get(f"/api/v1/runs/{run['id']}")[1]), timeout=20)
    assert done["status"] == "succeeded", done
    assert out.read_text() == "Run with custom input"
    assert done["execution_time_ms"] >= 0 and done["started_at"] and done["finished_at"]

    assert a.post("/api/v1/schedule", {"name": "bad", "agent_id": "failer",
                                       "cron_expr": "0 0 1 1 *", "max_retries": 10})[0] == 201
    ids = []
    for _ in range(2):
        st, r = a.post("/api/v1/schedule/bad/run", {})
        assert st == 202
        ids.append(r["id"])
        wait_until(lambda: a.get(f"/api/v1/runs/{r['id']}")[1]["status"] == "failed", timeout=20)
    st, hist = a.get("/api/v1/schedule/bad/history?limit=20&status=failed")
    assert st == 200 and {h["id"] for h in hist} >= set(ids)
    assert all(h["status"] == "failed" for h in hist)
    st, hist = a.get("/api/v1/schedule/bad/history?limit=1&status=failed")
    assert len(hist) == 1
    st, hist = a.get("/api/v1/schedule/bad/history?status=succeeded")
    assert hist == []
    st, h = a.get("/api/v1/health/scheduler")
    assert h["metrics"]["runs_failed"] >= 2 and h["metrics"]["runs_succeeded"] >= 1
