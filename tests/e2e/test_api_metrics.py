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
