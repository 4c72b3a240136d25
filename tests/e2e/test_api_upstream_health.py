"""SPEC §9.2: with `[api] upstream_health = true` (or
SYMBI_API_UPSTREAM_HEALTH=1), GET /api/v1/health/scheduler answers upstream
Symbiont's exact 13 keys, with live values (jobs by status, runs by outcome,
the running run, the configured concurrency); without it, the guide's shape."""
import pytest

from apiclient import Api, start_api, wait_until

UPSTREAM_KEYS = {"is_running", "store_accessible", "jobs_total", "jobs_active", "jobs_paused",
                 "jobs_dead_letter", "global_active_runs", "max_concurrent", "runs_total",
                 "runs_succeeded", "runs_failed", "average_execution_time_ms", "longest_run_ms"}

AGENTS = """agent quick {
  command: "echo ok"
}
agent slow {
  command: "sleep 1.5"
}
agent failer {
  builtin: "fail"
}
"""


def health(api):
    st, h = api.get("/api/v1/health/scheduler")
    assert st == 200, h
    assert set(h) == UPSTREAM_KEYS, set(h) ^ UPSTREAM_KEYS
    return h


def final(api, run_id):
    return wait_until(lambda: (lambda r: r if r["status"] not in ("queued", "running") else None)(
        api.get(f"/api/v1/runs/{run_id}")[1]), timeout=20)


@pytest.mark.parametrize("how", ["config", "env"])
def test_upstream_health_has_the_13_keys_with_live_values(symbi, daemons, tmp_path, how):
    agents = tmp_path / "agents"
    agents.mkdir()
    (agents / "a.symbi").write_text(AGENTS)
    env = {"SYMBI_SCHEDULER_MAX_CONCURRENT": "7"}
    args = ["--agents", agents]
    if how == "config":
        cfg = tmp_path / "symbi.toml"
        cfg.write_text("[api]\nupstream_health = true\n")
        env["SYMBI_CONFIG"] = str(cfg)
    else:
        env["SYMBI_API_UPSTREAM_HEALTH"] = "1"
    _, port = start_api(symbi, daemons, *args, env=env)
    api = Api(port)

    h = health(api)
    assert h == {"is_running": True, "store_accessible": True, "jobs_total": 0,
                 "jobs_active": 0, "jobs_paused": 0, "jobs_dead_letter": 0,
                 "global_active_runs": 0, "max_concurrent": 7, "runs_total": 0,
                 "runs_succeeded": 0, "runs_failed": 0, "average_execution_time_ms": 0.0,
                 "longest_run_ms": 0}
    assert isinstance(h["average_execution_time_ms"], float)

    for name, agent in (("q", "quick"), ("s", "slow"), ("f", "failer"), ("p", "quick")):
        st, _ = api.post("/api/v1/schedule", {"name": name, "agent_id": agent,
                                              "cron_expr": "0 0 1 1 *", "max_retries": 1})
        assert st == 201
    assert api.post("/api/v1/schedule/p/pause")[0] == 200
    q = final(api, api.post("/api/v1/schedule/q/run")[1]["id"])
    f = final(api, api.post("/api/v1/schedule/f/run")[1]["id"])
    assert (q["status"], f["status"]) == ("succeeded", "failed")
    wait_until(lambda: api.get("/api/v1/schedule/f")[1]["status"] == "dead_letter")
    slow = api.post("/api/v1/schedule/s/run")[1]["id"]
    wait_until(lambda: api.get(f"/api/v1/runs/{slow}")[1]["status"] == "running")
    h = health(api)
    assert (h["jobs_total"], h["jobs_active"], h["jobs_paused"], h["jobs_dead_letter"]) == \
        (4, 2, 1, 1)
    assert h["global_active_runs"] == 1  # the slow run, running now
    assert (h["runs_succeeded"], h["runs_failed"]) == (1, 1)
    assert h["runs_total"] == 3
    s = final(api, slow)
    assert s["status"] == "succeeded" and s["execution_time_ms"] >= 1400
    h = health(api)
    assert h["global_active_runs"] == 0 and h["runs_succeeded"] == 2
    times = [q["execution_time_ms"], f["execution_time_ms"], s["execution_time_ms"]]
    assert h["longest_run_ms"] == max(times)
    assert h["average_execution_time_ms"] == pytest.approx(sum(times) / 3)


def test_the_guides_shape_stays_the_default(symbi, daemons):
    _, port = start_api(symbi, daemons, env={"SYMBI_API_UPSTREAM_HEALTH": "0"})
    st, h = Api(port).get("/api/v1/health/scheduler")
    assert st == 200 and {"status", "active_jobs", "in_flight_jobs", "metrics"} <= set(h)
    assert not UPSTREAM_KEYS & set(h) - {"uptime_seconds"}


def test_a_bad_value_stops_start_up(symbi):
    p = symbi.run("up", "--listen", "127.0.0.1:0", env={"SYMBI_API_UPSTREAM_HEALTH": "maybe"},
                  timeout=20)
    assert p.returncode != 0 and "SYMBI_API_UPSTREAM_HEALTH" in p.stderr
