"""The guide's two client programs (SPEC §14), saved as
sdk/python/examples/guide.py and sdk/js/examples/guide.mjs, run as written
against a real `symbi up` and exit 0, and what they print matches the
daemon's state. Their jobs name outside addresses (a webhook at
backup.example.com, Slack), so the daemon and the programs run in a network
namespace of their own that has only a loopback interface: nothing can leave
the machine, whatever a delivery tries."""
import json
import os
import re
import subprocess

import pytest

from conftest import BIN, Daemon
from sdk_util import AGENTS, KEY, SDK_JS, SDK_PY

E2E = os.path.dirname(os.path.abspath(__file__))
STATE = ("import json, sys; sys.path.insert(0, sys.argv[1]); from apiclient import Api\n"
         "a = Api(int(sys.argv[2]), key=sys.argv[3])\n"
         "print(json.dumps([a.get(p) for p in sys.argv[4:]]))\n")


@pytest.fixture
def loopback_ns():
    """A network namespace with only `lo` (up); removed after the test."""
    ns = f"symbi-guide{os.getpid() % 100000}"

    def ip(*args, check=True):
        return subprocess.run(["ip", *args], capture_output=True, text=True, check=check,
                              timeout=10)

    try:
        r = ip("netns", "add", ns, check=False)
    except FileNotFoundError:
        pytest.skip("iproute2's ip is not installed")
    if r.returncode != 0:
        pytest.skip(f"ip netns is not permitted here: {r.stderr.strip()}")
    try:
        ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
        yield ns
    finally:
        ip("netns", "del", ns, check=False)


def test_the_guides_programs_run_as_written(symbi, daemons, loopback_ns, tmp_path):
    ns = loopback_ns
    agents = tmp_path / "agents"
    agents.mkdir()
    (agents / "sdk.symbi").write_text(AGENTS)
    env = dict(symbi.env, SYMBI_API_KEY=KEY)
    log = open(symbi.data_dir / "daemon.log", "w+")
    proc = subprocess.Popen(["ip", "netns", "exec", ns, BIN, "up", "--listen", "127.0.0.1:0",
                             "--agents", str(agents)], stdout=log, stderr=subprocess.STDOUT,
                            env=env, cwd=symbi.data_dir, start_new_session=True)
    d = Daemon(proc, log)
    daemons.append(d)
    port = int(re.search(r"listening on \S+ port=(\d+)", d.wait_for(" port=", 20)).group(1))
    base = f"http://127.0.0.1:{port}"

    def in_ns(*cmd, extra_env=None):
        e = {k: v for k, v in os.environ.items() if not k.startswith("SYMBI_")}
        e.update({"SYMBI_BASE_URL": base, "SYMBI_API_KEY": KEY})
        e.update(extra_env or {})
        return subprocess.run(["ip", "netns", "exec", ns, *cmd], capture_output=True,
                              text=True, timeout=120, env=e, cwd=tmp_path)

    def state(*paths):
        p = in_ns("/usr/bin/python3", "-c", STATE, E2E, str(port), KEY, *paths)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)

    # ---- Python: examples/guide.py, with the package from the source tree
    p = in_ns("/usr/bin/python3", str(SDK_PY / "examples" / "guide.py"),
              extra_env={"PYTHONPATH": str(SDK_PY)})
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout.splitlines()
    job_id = re.fullmatch(r"Created job: (\S+)", out[0]).group(1)
    assert out[1] == "Found 1 jobs for metrics-agent"
    assert out[2] == "Cron: 0 * * * *"
    assert re.fullmatch(r"Next run: \d{4}-\d\d-\d\dT\d\d:00:00Z", out[3]), out[3]
    run_id = re.fullmatch(r"Run ID: (\S+)", out[4]).group(1)
    assert out[5] == "Job paused for maintenance"
    failed = [re.fullmatch(r"Failed run (\S+): (.*)", line) for line in out[6:-3]]
    assert all(failed), out
    assert out[-3] == "Scheduler status: healthy"
    assert out[-2] == "Active jobs: 1"
    assert re.fullmatch(r"In-flight jobs: \d+", out[-1])
    (st, job), (st2, run), (st3, hist), (st4, audit) = state(
        f"/api/v1/schedule/{job_id}", f"/api/v1/runs/{run_id}",
        f"/api/v1/schedule/{job_id}/history?limit=50", f"/api/v1/audit?job={job_id}")
    assert st == 200 and job["name"] == "hourly-metrics" and job["agent_id"] == "metrics-agent"
    assert job["cron_expr"] == "*/30 * * * *" and job["status"] == "active"  # updated, resumed
    assert job["delivery"] == ["slack", "log_file"] and job["slack_channel"] == "#metrics"
    assert job["session_mode"] == "ephemeral_with_summary"
    assert st2 == 200 and run["job_id"] == job_id and run["input"] == "Generate metrics report"
    assert st3 == 200 and run_id in [r["id"] for r in hist]  # history present
    by_id = {r["id"]: r for r in hist}
    for m in failed:  # each failed run it printed is a failed run of the job, with its message
        assert by_id[m.group(1)]["status"] == "failed"
        assert by_id[m.group(1)]["error_message"] == m.group(2)
    types = [e["type"] for e in audit]
    assert {"CronJobCreated", "CronJobUpdated", "CronJobPaused", "CronJobResumed",
            "CronJobExecuted"} <= set(types), types

    # ---- JavaScript: examples/guide.mjs, importing '@symbiont/sdk-js' by name
    p = in_ns("node", str(SDK_JS / "examples" / "guide.mjs"))
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout.splitlines()
    js_id = re.fullmatch(r"Created job: (\S+)", out[0]).group(1)
    assert out[1] == "Active jobs: 2"  # hourly-metrics and daily-backup
    assert re.fullmatch(r"Next run: \d{4}-\d\d-\d\dT02:00:00Z", out[2]), out[2]
    runs = [re.fullmatch(r"Run (\S+): (\w+) \((\d+|null)ms\)", line) for line in out[3:]]
    assert runs and all(runs), out  # history present
    (st, gone), (_, audit) = state(f"/api/v1/schedule/{js_id}", f"/api/v1/audit?job={js_id}")
    assert st == 404 and gone["code"] == "NOT_FOUND"  # deleted at the end
    types = [e["type"] for e in audit]
    assert {"CronJobCreated", "CronJobPaused", "CronJobResumed", "CronJobDeleted"} <= set(types)
    # the manual run it queued is in the history it printed (a retry of it may be too)
    manual = {e["run_id"] for e in audit if e["type"] == "CronJobExecuted"
              and e["details"].get("trigger") == "manual"}
    assert len(manual) == 1 and manual <= {m.group(1) for m in runs}, (manual, out)
    for m in runs:
        assert m.group(2) in ("queued", "running", "succeeded", "failed", "timed_out",
                              "skipped", "interrupted")
