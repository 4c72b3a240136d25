"""SPEC §12 end to end: /metrics carries every series, parses with a real
Prometheus parser (promtool check metrics), and its counters move as runs
happen under the real scheduler."""
import re
import shutil
import subprocess

import pytest

from apiclient import Api, start_api, wait_until

SERIES = ["symbiont_cron_runs_total", "symbiont_cron_execution_duration_seconds",
          "symbiont_cron_in_flight_jobs", "symbiont_cron_dead_letter_total",
          "symbiont_cron_schedule_lag_seconds", "symbiont_cron_jobs",
          "symbiont_cron_deliveries_total"]


def promtool_check(text):
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr


def value(text, series):
    m = re.search(rf"^{re.escape(series)} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian prometheus) missing")
def test_metrics_parse_and_track_jobs(symbi, daemons):
    _, port = start_api(symbi, daemons)
    a = Api(port)
    st, text = a.get("/metrics")
    assert st == 200
    for s in SERIES:
        assert f"# TYPE {s} " in text, s
    promtool_check(text)
    assert a.post("/api/v1/schedule", {"name": "m1", "agent_id": "echoer",
                                       "cron_expr": "0 0 1 1 *"})[0] == 201
    assert a.post("/api/v1/schedule", {"name": "m2", "agent_id": "echoer",
                                       "cron_expr": "0 0 1 1 *"})[0] == 201
    assert a.post("/api/v1/schedule/m2/pause")[0] == 200
    text = a.get("/metrics")[1]
    assert value(text, 'symbiont_cron_jobs{status="active"}') == 1
    assert value(text, 'symbiont_cron_jobs{status="paused"}') == 1
    assert value(text, 'symbiont_cron_jobs{status="dead_letter"}') == 0
    promtool_check(text)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian prometheus) missing")
def test_metrics_counters_move_with_runs(symbi, daemons, tmp_path):
    agents = tmp_path / "agents"
    agents.mkdir()
    (agents / "m.symbi").write_text('agent echoer {\n  builtin: "echo"\n}\n')
    _, port = start_api(symbi, daemons, "--agents", agents)
    a = Api(port)
    st, text = a.get("/metrics")
    assert st == 200
    for s in SERIES:
        assert f"# TYPE {s} " in text, s
    promtool_check(text)
    assert a.post("/api/v1/schedule", {"name": "m1", "agent_id": "echoer",
                                       "cron_expr": "0 0 1 1 *"})[0] == 201
    assert a.post("/api/v1/schedule", {"name": "m2", "agent_id": "echoer",
                                       "cron_expr": "0 0 1 1 *"})[0] == 201
    assert a.post("/api/v1/schedule/m2/pause")[0] == 200
    text = a.get("/metrics")[1]
    assert value(text, 'symbiont_cron_jobs{status="active"}') == 1
    assert value(text, 'symbiont_cron_jobs{status="paused"}') == 1
    ok = 'symbiont_cron_runs_total{job_name="m1",status="succeeded"}'
    for i in range(1, 3):
        st, run = a.post("/api/v1/schedule/m1/run", {"input": f"hello {i}"})
        assert st == 202, run
        wait_until(lambda: value(a.get("/metrics")[1], ok) == i, timeout=15)
        # the next manual run waits until this one is recorded finished
        # (max_concurrent 1 counts it while the store still says running)
        wait_until(lambda: a.get(f"/api/v1/runs/{run['id']}")[1]["status"] == "succeeded",
                   timeout=15)
    text = a.get("/metrics")[1]
    assert value(text, 'symbiont_cron_execution_duration_seconds_count{job_name="m1"}') == 2
    assert value(text, 'symbiont_cron_execution_duration_seconds_bucket{job_name="m1",le="+Inf"}') == 2
    assert 'le="0.01"' in text and 'le="3600"' in text
    promtool_check(text)
