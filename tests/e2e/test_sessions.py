"""End-to-end tests of session contexts (SPEC §6.3, issue 11 items 1-2 and
the bad input): what a command agent reads from SYMBI_CONTEXT_FILE in each
mode over consecutive runs and across a daemon restart, through the daemon,
`cron run --local` and `symbi run`; the bounded shared_persistent history
and its archive; `cron context` and /api/v1/schedule/{job}/context."""
import json

import pytest

from apiclient import Api, start_api
from sched_util import rows, run_by_id, write_agents, write_config

ECHO = 'cat "$SYMBI_CONTEXT_FILE"; echo; echo "SUMMARY: sum-$(cat)"'


def jobs_file(mode):
    return f"""
agent ctx_echo {{ command: {json.dumps(ECHO)} }}
schedule {{ name: "ctx" agent: "ctx_echo" cron: "0 0 1 1 *" session_mode: "{mode}" }}
"""


def seen(out: str) -> dict:
    """The context the agent printed (its first output line)."""
    return json.loads(out.splitlines()[0])


def manual(symbi, inp, local=False):
    args = ["cron", "run", "ctx", "--input", inp] + (["--local"] if local else ["--wait"])
    p = symbi.run(*args, check=True)
    out = p.stdout if local else p.stdout.split("\n", 1)[1]  # --wait prints the id first
    return seen(out)


def expect(mode, ctx, previous):
    """What a run may see after the runs whose inputs are `previous`."""
    assert ctx["mode"] == mode
    if mode == "fully_ephemeral" or not previous:
        assert ctx["summary"] is None and ctx["history"] == []
        return
    assert ctx["summary"] == f"sum-{previous[-1]}"
    if mode == "ephemeral_with_summary":
        assert ctx["history"] == []
    else:
        assert [e["input"] for e in ctx["history"]] == previous
        for e, i in zip(ctx["history"], previous):
            assert f"sum-{i}" in e["output"] and e["at"].endswith("Z")


@pytest.mark.parametrize("mode", ["shared_persistent", "ephemeral_with_summary",
                                  "fully_ephemeral"])
def test_context_over_runs_and_restart(symbi, daemons, mode):
    agents = write_agents(symbi.data_dir, jobs_file(mode))
    d, _ = start_api(symbi, daemons, "--agents", agents)
    expect(mode, manual(symbi, "r1"), [])
    expect(mode, manual(symbi, "r2"), ["r1"])
    d.stop()
    daemons.remove(d)
    # a new daemon: the context lives in the store
    start_api(symbi, daemons, "--agents", agents)
    expect(mode, manual(symbi, "r3"), ["r1", "r2"])
    daemons[-1].stop()
    daemons.clear()
    # the same pipeline without a daemon
    expect(mode, manual(symbi, "r4", local=True), ["r1", "r2", "r3"])
    expect(mode, manual(symbi, "r5", local=True), ["r1", "r2", "r3", "r4"])
    # no file is left behind
    assert list((symbi.data_dir / "contexts").iterdir()) == []
    # `symbi run <agent>` has no job: a fully ephemeral session every time
    for _ in range(2):
        p = symbi.run("run", "ctx_echo", "--file", agents / "jobs.symbi", "--input", "x",
                      check=True)
        ctx = seen(p.stdout)
        assert ctx == {"mode": "fully_ephemeral", "summary": None, "history": []}


def test_bounded_history_archives_every_entry(symbi):
    write_config(symbi.data_dir, {"context_max_bytes": 4096})
    f = symbi.data_dir / "big.symbi"
    f.write_text("""
agent kib { command: "cat; printf ' '; head -c 1019 /dev/zero | tr '\\\\000' k" }
schedule { name: "big" agent: "kib" cron: "0 0 1 1 *" session_mode: "shared_persistent" }
""")
    symbi.run("cron", "add", "--file", f, check=True)
    for i in range(100):
        p = symbi.run("cron", "run", "big", "--local", "--input", f"n{i:03d}", check=True)
        assert len(p.stdout.rstrip("\n")) == 1024
    p = symbi.run("cron", "context", "big", "--format", "json", check=True)
    ctx = json.loads(p.stdout)
    live = ctx["live_entries"]
    assert ctx["bytes"] <= 4096 and 2 <= live == len(ctx["history"])
    assert ctx["archived_entries"] == 100 - live
    assert [e["input"] for e in ctx["history"]] == [f"n{i:03d}" for i in range(100 - live, 100)]
    # the file an agent reads is that size
    assert len(json.dumps({k: ctx[k] for k in ("mode", "summary", "history")},
                          separators=(",", ":"), ensure_ascii=False)) == ctx["bytes"]
    # SQLite-only: the archived entries' contents have no CLI or API read
    archived = rows(symbi, "SELECT input, output FROM context_entries "
                    "WHERE archived_at IS NOT NULL ORDER BY id")
    assert [r["input"] for r in archived] == [f"n{i:03d}" for i in range(100 - live)]
    assert all(len(r["output"]) == 1024 for r in archived)
    # clearing moves the live ones to the archive too
    p = symbi.run("cron", "context", "big", "--clear", check=True)
    assert f"{live} history entries archived" in p.stdout
    ctx = json.loads(symbi.run("cron", "context", "big", "--format", "json", check=True).stdout)
    assert ctx["history"] == [] and ctx["summary"] is None and ctx["archived_entries"] == 100
    table = symbi.run("cron", "context", "big", check=True).stdout
    assert "0 live entries" in table and "100 archived" in table


def test_context_api(symbi, daemons):
    agents = write_agents(symbi.data_dir, jobs_file("shared_persistent"))
    _, port = start_api(symbi, daemons, "--agents", agents)
    a = Api(port)
    manual(symbi, "one")
    st, body = a.get("/api/v1/schedule/ctx/context")
    assert st == 200, body
    assert body["mode"] == "shared_persistent" and body["live_entries"] == 1
    assert body["history"][0]["input"] == "one" and body["summary"] == "sum-one"
    st, body = a.delete("/api/v1/schedule/ctx/context")
    assert st == 200 and body["archived"] == 1, body
    st, body = a.get("/api/v1/schedule/ctx/context")
    assert body["history"] == [] and body["archived_entries"] == 1
    st, body = a.get("/api/v1/schedule/nope/context")
    assert st == 404, body
    expect("shared_persistent", manual(symbi, "two"), [])


def test_bad_agents_leave_the_daemon_up(symbi, daemons):
    agents = write_agents(symbi.data_dir, """
agent flood { command: "head -c 104857600 /dev/zero | tr '\\\\000' a" }
agent bigsum { command: "printf 'SUMMARY: '; head -c 1048576 /dev/zero | tr '\\\\000' s; echo" }
agent unreadable { command: "rm -f \\"$SYMBI_CONTEXT_FILE\\"; cat \\"$SYMBI_CONTEXT_FILE\\"" }
schedule { name: "flood" agent: "flood" cron: "0 0 1 1 *" session_mode: "shared_persistent" }
schedule { name: "bigsum" agent: "bigsum" cron: "0 0 1 1 *" }
schedule { name: "unreadable" agent: "unreadable" cron: "0 0 1 1 *" }
""")
    _, port = start_api(symbi, daemons, "--agents", agents)
    a = Api(port)

    def run(job):
        p = symbi.run("cron", "run", job, "--wait", timeout=120)
        return run_by_id(symbi, p.stdout.split("\n", 1)[0])

    r = run("flood")
    assert r["status"] == "succeeded" and r["output_truncated"] == 1
    assert len(r["output"]) == 1024 * 1024
    ctx = json.loads(symbi.run("cron", "context", "flood", "--format", "json").stdout)
    assert ctx["bytes"] <= 256 * 1024 and ctx["archived_entries"] == 1
    r = run("bigsum")
    assert r["status"] == "succeeded" and len(r["summary"]) <= 500
    ctx = json.loads(symbi.run("cron", "context", "bigsum", "--format", "json").stdout)
    assert len(ctx["summary"]) <= 500
    r = run("unreadable")
    assert r["status"] == "failed" and "No such file" in r["stderr_text"]
    # a data directory where the contexts directory cannot be made
    (symbi.data_dir / "contexts").rmdir()
    (symbi.data_dir / "contexts").write_text("in the way")
    r = run("bigsum")
    assert r["status"] == "failed"
    assert "session context" in r["error_message"] and "not a directory" in r["error_message"]
    assert a.get("/api/v1/health")[0] == 200
    (symbi.data_dir / "contexts").unlink()
    assert run("bigsum")["status"] == "succeeded"
