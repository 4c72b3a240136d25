"""Hostile agents within limits (issue 20 item 4): a fork bomb bounded by
RLIMIT_NPROC, an agent that closes stdout early, one that never reads a big
stdin, one that writes invalid UTF-8, one that writes 1 GiB, one that ignores
SIGTERM. Each run is bounded and recorded, its process group is gone
afterwards, and the daemon keeps answering. One daemon runs them all at once."""
import os
import time
from pathlib import Path

from apiclient import Api, start_api
from sandbox_util import HOSTILE_BOMB_UID as BOMB_UID, NOBODY, count_uid, group_alive, need_root, scratch  # noqa: F401
from sched_util import run_by_id, wait_until

FINAL = ("running", "queued", "pending_approval")
PY = "/usr/bin/python3"
BOMB = """import os, sys, time
told = False
while True:
    try:
        os.fork()
    except OSError as e:
        if not told:
            print("fork:", e, file=sys.stderr, flush=True)
            told = True
        time.sleep(0.05)
"""


def test_hostile_agents_bounded_recorded_and_gone(symbi, daemons, tmp_path, scratch):
    need_root()
    assert count_uid(BOMB_UID) == 0, "something runs as the bombs' uid"
    s = Path(scratch)
    (s / "bomb.py").write_text(BOMB)
    agents = {
        # RLIMIT_NPROC binds nobody, not root
        "bomb": f'command: "echo $$ > {s}/bomb.pgid; exec {PY} {s}/bomb.py" timeout: "3s" '
                f'sandbox: {{ user: {BOMB_UID}, limits: {{ processes: 16 }} }}',
        "closer": f'command: "echo $$ > {s}/closer.pgid; exec >&-; sleep 0.3; echo late >&2"',
        "deaf": f'command: "echo $$ > {s}/deaf.pgid; sleep 0.3; echo fine"',
        "garbage": f'command: "echo $$ > {s}/garbage.pgid; printf \'ok \\\\377\\\\376\\\\300 end\'"',
        "flood": f'command: "echo $$ > {s}/flood.pgid; head -c 1073741824 /dev/zero"',
        "stubborn": f'command: "trap \'\' TERM; echo $$ > {s}/stubborn.pgid; sleep 60 & wait"'
                    ' timeout: "1s"',
    }
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "h.symbi").write_text(
        "".join(f"agent {n} {{ {body} }}\n" for n, body in agents.items()))
    d, port = start_api(symbi, daemons, "--agents", tmp_path / "agents")
    api = Api(port, timeout=30)
    big_input = "x" * (768 * 1024)  # far more than a pipe holds; the agent never reads it
    runs = {}
    for name in agents:
        body = {"name": name, "agent_id": name, "cron_expr": "0 0 1 1 *", "max_retries": 0}
        st, b = api.post("/api/v1/schedule", body)
        assert st == 201, b
    t0 = time.monotonic()
    for name in agents:
        st, r = api.post(f"/api/v1/schedule/{name}/run",
                         {"input": big_input} if name == "deaf" else {})
        assert st == 202, r
        runs[name] = r["id"]

    def outcome(name):
        st, r = api.get(f"/api/v1/runs/{runs[name]}")
        return r if st == 200 and r["status"] not in FINAL else None
    done = {n: wait_until(lambda n=n: outcome(n), timeout=60, what=f"{n} done") for n in agents}
    took = time.monotonic() - t0
    # the slowest is `stubborn`: 1 s of max_runtime, then 5 s of grace, then SIGKILL
    assert took < 30, took

    assert done["bomb"]["status"] == "timed_out", done["bomb"]
    assert "process limit (16)" in done["bomb"]["error_message"]
    assert done["closer"]["status"] == "succeeded", done["closer"]
    assert done["closer"]["output"] == "" and "late" in done["closer"]["stderr"]
    assert done["deaf"]["status"] == "succeeded", done["deaf"]
    assert done["deaf"]["output"].strip() == "fine"
    g = done["garbage"]
    assert g["status"] == "succeeded", g
    assert g["output"].startswith("ok ") and g["output"].endswith(" end"), g["output"]
    f = done["flood"]
    assert f["status"] == "succeeded", f
    rec = run_by_id(symbi, runs["flood"])
    assert rec["output_truncated"] == 1 and len(rec["output"].encode()) <= 1024 * 1024, \
        rec["output_truncated"]
    st_ = done["stubborn"]
    assert st_["status"] == "timed_out" and "max_runtime" in st_["error_message"], st_

    # nothing of any of them is left
    for name in agents:
        pgid = int((s / f"{name}.pgid").read_text())
        wait_until(lambda pgid=pgid: not group_alive(pgid), timeout=10,
                   what=f"{name}'s group gone")
    wait_until(lambda: count_uid(BOMB_UID) == 0, timeout=10, what="no process of the bomb's uid left")
    # and the daemon still answers and schedules
    st, health = api.get("/api/v1/health")
    assert st == 200, health
    assert d.proc.poll() is None
