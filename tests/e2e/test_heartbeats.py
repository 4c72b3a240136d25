"""End-to-end tests of heartbeats (SPEC §6.4, issue 11 item 3): the guide's
heartbeat example (examples/agents/heartbeat.symbi) with a command agent
standing in for the model, a beat that never says `sleep`, the iteration
count in the history (store, API, CLI), and max_iterations bounds at load."""
import json
import re
from pathlib import Path

from apiclient import Api, start_api
from sched_util import run_by_id, write_agents

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "agents" / "heartbeat.symbi"

# assess, act, and say `sleep` on the third iteration of each beat
STAND_IN = """agent heartbeat_monitor {
  command: "echo assess $SYMBI_ITERATION; cat \\"$SYMBI_CONTEXT_FILE\\"; echo; echo \\"SUMMARY: checked $SYMBI_ITERATION\\"; [ $SYMBI_ITERATION -ge 3 ] && echo sleep; true"
}
"""


def example_with_stand_in() -> str:
    text = EXAMPLE.read_text()
    out, n = re.subn(r"agent heartbeat_monitor \{.*?\n\}\n", STAND_IN, text, flags=re.S)
    assert n == 1
    return out


def run_now(symbi, job):
    p = symbi.run("cron", "run", job, "--wait", timeout=120)
    rid = p.stdout.split("\n", 1)[0]
    return run_by_id(symbi, rid)


def test_guide_heartbeat_example(symbi, daemons):
    agents = write_agents(symbi.data_dir, example_with_stand_in(), "heartbeat.symbi")
    _, port = start_api(symbi, daemons, "--agents", agents)
    r = run_now(symbi, "system-heartbeat")
    assert r["status"] == "succeeded", r
    assert r["iterations"] == 3
    its = json.loads(r["iteration_outputs"])
    assert [i["iteration"] for i in its] == [1, 2, 3]
    assert all(i["status"] == "succeeded" for i in its)
    assert its[0]["output"].startswith("assess 1\n")
    # context_mode ephemeral_with_summary between iterations
    second = json.loads(its[1]["output"].splitlines()[1])
    assert second["mode"] == "ephemeral_with_summary" and second["summary"] == "checked 1"
    assert second["history"] == []
    assert r["output"].rstrip().endswith("sleep")
    # session_mode shared_persistent between beats: the next beat's first
    # iteration sees every iteration of this one
    r2 = run_now(symbi, "system-heartbeat")
    assert r2["iterations"] == 3
    first = json.loads(json.loads(r2["iteration_outputs"])[0]["output"].splitlines()[1])
    assert first["mode"] == "shared_persistent"
    assert [e["output"].split("\n")[0] for e in first["history"]] == [
        "assess 1", "assess 2", "assess 3"]
    # the other example: a command agent that sleeps at once
    d = run_now(symbi, "disk-heartbeat")
    assert d["status"] == "succeeded" and d["iterations"] == 1
    # iterations in the API and the CLI answers
    a = Api(port)
    st, hist = a.get("/api/v1/schedule/system-heartbeat/history")
    assert st == 200 and [h["iterations"] for h in hist] == [3, 3]
    assert len(hist[0]["iteration_outputs"]) == 3
    p = symbi.run("cron", "history", "system-heartbeat", "--format", "json", check=True)
    assert [h["iterations"] for h in json.loads(p.stdout)] == [3, 3]
    table = symbi.run("cron", "history", "system-heartbeat", check=True).stdout
    assert "ITER" in table.splitlines()[0]
    assert all(" 3 " in line for line in table.splitlines()[1:3])


def test_beat_without_sleep_stops_at_the_limit(symbi, daemons):
    agents = write_agents(symbi.data_dir, """
agent busy { command: "echo busy $SYMBI_ITERATION" }
schedule {
  name: "busy" agent: "busy" cron: "0 0 1 1 *"
  heartbeat: { enabled: true, context_mode: "fully_ephemeral", max_iterations: 4 }
}
""")
    start_api(symbi, daemons, "--agents", agents)
    r = run_now(symbi, "busy")
    assert r["status"] == "failed" and r["error_message"] == "iteration limit reached"
    assert r["iterations"] == 4
    assert [i["output"] for i in json.loads(r["iteration_outputs"])] == [
        f"busy {n}\n" for n in range(1, 5)]


def test_max_iterations_bounds_at_load(symbi, daemons):
    for bad in (0, 1000000):
        f = symbi.data_dir / f"bad{bad}.symbi"
        f.write_text(f"""
agent a {{ builtin: "noop" }}
schedule {{ name: "hb{bad}" agent: "a" cron: "* * * * *"
  heartbeat: {{ enabled: true, max_iterations: {bad} }} }}
""")
        p = symbi.run("dsl", "check", f)
        assert p.returncode != 0
        assert "heartbeat.max_iterations" in p.stdout + p.stderr
        assert "between 1 and" in p.stdout + p.stderr
        p = symbi.run("cron", "add", "--file", f)
        assert p.returncode != 0 and "heartbeat.max_iterations" in p.stderr
    assert json.loads(symbi.run("cron", "list", "--format", "json", check=True).stdout) == []
    _, port = start_api(symbi, daemons)
    st, body = Api(port).post("/api/v1/schedule", {
        "name": "hb", "agent_id": "a", "cron_expr": "* * * * *",
        "heartbeat": {"enabled": True, "max_iterations": 0}})
    assert st == 400 and "max_iterations" in json.dumps(body)
