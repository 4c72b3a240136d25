"""Several `symbi up` nodes on one PostgreSQL store (issue 16 items 2-4,
issue 20 item 1): a real server (tests/tools/pg_server.py), three nodes each
with its own data directory and API port. State is read through the API and
the CLI; the agents' own log shows what really executed.

CLUSTER_SCALE=full (make test-cluster) runs the full lengths: 500 jobs for
60 s, PostgreSQL away 10 s, 30 kill -9 iterations; the default is the short
version `make test` runs."""
import os
import random
import re
import time

import pytest

import cluster as C

FULL = os.environ.get("CLUSTER_SCALE") == "full"
why_not = C.postgres_support()
pytestmark = pytest.mark.skipif(why_not is not None, reason=why_not or "")


@pytest.fixture(scope="module")
def pg():
    with C.pg_server.PgServer() as server:
        yield server


@pytest.fixture
def make_cluster(pg, tmp_path):
    made = []

    def make(n=3, **kw):
        c = C.Cluster(tmp_path / f"c{len(made)}", pg.fresh_url(), n, **kw)
        made.append(c)
        return c
    yield make
    for c in made:
        c.kill_all()


def say(*a):
    print("cluster:", *a, flush=True)


def running_runs(api):
    st, b = api.get("/api/v1/runs?status=running&limit=10000")
    assert st == 200, b
    return b if isinstance(b, list) else b.get("runs", [])


def log_time(line):
    m = re.match(r"(\S+Z) ", line)
    return C.parse_time(m.group(1)) if m else None


def test_load_three_nodes_each_instant_once(make_cluster):
    """a. 3 nodes, every-second jobs: each scheduled instant has exactly one
    run record, executed once, by one node; the load spreads."""
    if C.asan() and not FULL:
        pytest.skip("load test: runs in the plain pass (ASan makes 3 daemons too slow)")
    jobs, secs = (500, 60) if FULL else (50, 6)
    # at full length the agent is the noop builtin: 500 shells a second
    # would measure this shared machine's fork rate, not the cluster; the
    # short version's agents log what they executed
    c = make_cluster(config={"max_concurrent_jobs": 128 if FULL else 32},
                     agents_text='agent w { builtin: "noop" }\n' if FULL else None)
    c.start()
    c.add_jobs(jobs)
    t0 = time.time()
    time.sleep(secs)
    # the clean stop gives back what was claimed ahead and waits for the rest
    assert c.stop_all() == [0, 0, 0]
    runs = c.runs_cli()
    rep = C.check_ledger(runs, None if FULL else c.executed())
    assert not rep["problems"], rep["problems"][:20]
    assert rep["instants"] >= jobs * (secs - 3), rep["instants"]
    bad = [(r["job_name"], r["scheduled_at"], r["trigger"], r["attempt"], r["status"],
            r["error_message"]) for r in runs if r["status"] != "succeeded" or r["attempt"] != 1]
    assert not bad, (len(bad), bad[:10])
    names = {n.name for n in c.nodes}
    assert set(rep["per_node"]) <= names
    lags = [x for v in rep["lags"].values() for x in v]
    say(f"load: {jobs} jobs x {secs} s on 3 nodes ({time.time() - t0:.0f} s): "
        f"{rep['instants']} instants, {len(runs)} records, shares {C.shares(rep)}, "
        f"start lag median {C.percentile(lags, 50)} ms p99 {C.percentile(lags, 99)} ms")
    # the load spreads: every node executed a part
    assert len(rep["per_node"]) == 3, rep["per_node"]


def test_kill_9_node_runs_recovered_by_another(make_cluster):
    """b. kill -9 of a node mid-run: its running runs become interrupted
    through another node within the lease time and are retried; no instant
    lost or doubled; the other nodes keep starting every second's fires."""
    lease = 15 if FULL else 3
    jobs, before, after = (100, 10, 25) if FULL else (20, 3, 2)
    c = make_cluster(config={"lease_seconds": lease, "max_concurrent_jobs": 64},
                     agent_cmd='echo "$SYMBI_RUN_ID $SYMBI_SCHEDULED_AT $SYMBI_ATTEMPT" >> %s; '
                               "sleep 0.6")
    c.start()
    c.add_jobs(jobs)
    time.sleep(before)
    # the victim: a node with runs in flight (the claims do not share the
    # fires evenly), killed 0.3 s into a second, while the fires it
    # started at that second run. One request for the running runs: the
    # history of every job took seconds at full length, and the runs it
    # saw running had finished before the kill (which then waited for
    # their `interrupted` in vain)
    for _ in range(20):
        time.sleep(1.3 - (time.time() % 1.0))
        per = {}
        for r in running_runs(c.api()):
            per[r["node"]] = per.get(r["node"], 0) + 1
        if per:
            break
    victim = next(n for n in c.nodes if n.name == max(per, key=per.get))
    others = [n for n in c.nodes if n is not victim]
    victim.kill9()
    killed = time.time()
    api = others[0].api
    # what recovery has to interrupt: the dead node's runs the store has
    # running once it is dead
    running = [r for r in running_runs(api) if r["node"] == victim.name]
    assert running, "no run in flight"
    ids = {r["id"] for r in running}

    def recovered():
        got = [api.get(f"/api/v1/runs/{i}")[1] for i in ids]
        return all(g["status"] == "interrupted" for g in got)
    deadline = killed + lease + 10
    while not recovered():
        assert time.time() < deadline, "the victim's runs were not recovered"
        time.sleep(0.1)
    took = time.time() - killed
    time.sleep(after)
    C.wait_quiet(c, timeout=60)
    assert c.stop_all() == [0, 0]
    runs = c.runs_cli()
    rep = C.check_ledger(runs, c.executed())
    assert not rep["problems"], rep["problems"][:20]
    byid = {r["id"]: r for r in runs}
    for i in ids:
        assert byid[i]["status"] == "interrupted", byid[i]
        assert "lease expired" in (byid[i]["error_message"] or "")
    # each interrupted run was retried (attempt 2) and ran on a live node
    retries = [r for r in runs if r["trigger"] == "retry"]
    survivors = {n.name for n in others}
    for i in ids:
        r = byid[i]
        nxt = [x for x in retries if x["job_id"] == r["job_id"] and
               x["scheduled_at"] == r["scheduled_at"] and x["attempt"] == r["attempt"] + 1]
        assert len(nxt) == 1 and nxt[0]["status"] == "succeeded", (r, nxt)
        assert nxt[0]["node"] in survivors
    # the survivors never stalled: every second of the window, some job's
    # fire was started by a survivor within a second of its instant
    starts = {}
    for r in runs:
        if r["trigger"] == "schedule" and r["node"] in survivors and r["started_at"]:
            t = C.parse_time(r["scheduled_at"])
            if C.parse_time(r["started_at"]) - t < 1000:
                starts[t] = True
    lo = (int(killed) - 2) * 1000
    hi = (int(killed) + int(took) + 2) * 1000
    gaps = [t for t in range(lo, hi, 1000) if t not in starts]
    say(f"kill -9: {len(ids)} runs in flight on the killed node, interrupted via another node "
        f"{took:.1f} s after the kill (lease {lease} s), all retried; gaps {gaps}; executed "
        f"twice {rep['executed_twice']}; given back at the stop {rep.get('given_back', 0)}; "
        f"shares {C.shares(rep)}")
    assert not gaps, gaps
    assert took <= lease + 3, took


def test_killed_after_agent_started_runs_once(make_cluster):
    """e. (issue 16, the at-least-once window) a node killed right after an
    agent started (SYMBI_DEBUG_KILL_AFTER_START): the `running` mark was
    committed before the agent (docs/cluster.md "The start before the
    agent"), so the run is interrupted through another node and retried,
    and no run id ever executes twice. Without that order the run looked
    unstarted, was released and executed again under the same id."""
    lease = 3
    c = make_cluster(config={"lease_seconds": lease, "max_concurrent_jobs": 32},
                     agent_cmd='echo "$SYMBI_RUN_ID $SYMBI_SCHEDULED_AT $SYMBI_ATTEMPT" >> %s; '
                               "sleep 0.3")
    victim, others = c.nodes[0], c.nodes[1:]
    victim.symbi.env["SYMBI_DEBUG_KILL_AFTER_START"] = "4"
    c.start()
    c.add_jobs(12)
    api = others[0].api
    # several rounds: the kill races the recorder's commit, so that one
    # round without the order would pass about half the time
    rounds = 5 if FULL else 4
    killed_ids, tooks = [], []
    for k in range(rounds):
        if k > 0:
            victim.start()
        deadline = time.time() + 60
        while victim.alive():
            assert time.time() < deadline, "the kill point was not reached"
            time.sleep(0.05)
        killed = time.time()
        m = re.findall(r"SYMBI_DEBUG_KILL_AFTER_START: killing this process after run (\S+) "
                       r"started", victim.log())
        assert m, victim.log()[-2000:]
        rid = m[-1]
        while True:
            st, r = api.get(f"/api/v1/runs/{rid}")
            assert st == 200, r
            if r["status"] == "interrupted":
                break
            # without the order: queued (no mark), released, run again
            assert r["status"] in ("running", "queued"), r
            assert time.time() < killed + lease + 10, r
            time.sleep(0.1)
        tooks.append(round(time.time() - killed, 1))
        killed_ids.append(rid)
    time.sleep(2)
    C.wait_quiet(c, timeout=60)
    assert [n.stop() for n in others] == [0, 0]
    runs = c.runs_cli()
    executed = c.executed()
    rep = C.check_ledger(runs, executed)
    assert not rep["problems"], rep["problems"][:20]
    byid = {x["id"]: x for x in runs}
    for rid in killed_ids:
        r = byid[rid]
        assert "lease expired" in (r["error_message"] or ""), r
        # its agent did run (it outlives the node), once; its retry ran once
        assert executed.get(rid) == 1, executed.get(rid)
        nxt = [x for x in runs if x["job_id"] == r["job_id"] and x["scheduled_at"] ==
               r["scheduled_at"] and x["attempt"] == r["attempt"] + 1]
        assert len(nxt) == 1 and nxt[0]["status"] == "succeeded", nxt
        assert nxt[0]["node"] in {n.name for n in others}
        assert executed.get(nxt[0]["id"]) == 1
    say(f"killed after an agent started ({rounds} rounds): each run interrupted via another "
        f"node {tooks} s after (lease {lease} s) and retried; {rep['records']} records, "
        f"{rep['interrupted']} interrupted, executed twice {rep['executed_twice']}")


def test_postgres_away_and_back(make_cluster, pg):
    """c. PostgreSQL stopped and started again under load: the nodes
    reconnect with back-off, nothing is lost or doubled, the missed
    instants follow catch_up (once: the latest runs, the others missed)."""
    away = 10 if FULL else 3
    jobs = 200 if FULL else 20
    # a run that started as the store went away fails to load its session
    # context (docs/store.md); its retry comes 1 s later, not 30 s
    c = make_cluster(config={"max_concurrent_jobs": 64, "retry_backoff_seconds": 1})
    c.start()
    c.add_jobs(jobs)
    time.sleep(2)
    r = pg.pg_ctl("stop", ["-m", "fast"])
    assert r.returncode == 0, r.stdout
    stopped = time.time()
    time.sleep(away)
    r = pg.pg_ctl("start")
    assert r.returncode == 0, r.stdout
    back = time.time()
    # every node says it writes again
    reconnect = {}
    deadline = back + 30
    while len(reconnect) < 3:
        assert time.time() < deadline, [n.log()[-2000:] for n in c.nodes]
        for n in c.nodes:
            for line in n.log().splitlines():
                if "claims resume" in line and n.name not in reconnect:
                    reconnect[n.name] = log_time(line) / 1000.0 - back
        time.sleep(0.1)
    time.sleep(2)
    C.wait_quiet(c, timeout=60)
    stopping = time.time()
    assert c.stop_all() == [0, 0, 0]
    runs = c.runs_cli()
    rep = C.check_ledger(runs, c.executed())
    assert not rep["problems"], rep["problems"][:20]
    # per job: one catch_up run for the outage, the instants before it missed
    lo, hi = int(stopped + 1) * 1000, int(back) * 1000
    stop_cu = late_cu = 0
    resumed = back + max(reconnect.values())
    for name in {r["job_name"] for r in runs}:
        mine = [r for r in runs if r["job_name"] == name]
        # catch_up: once (the default): one run for the outage, the other
        # missed instants recorded missed. (The final stop can add one: a
        # node that stops gives its held fires back, next_run moved back,
        # and a node still running claims them late: SPEC §5.6's
        # give-back, not the outage; counted apart.)
        # At full length the claims that catch 200 jobs up (each a dozen
        # records) can take long enough on this machine that a job's next
        # fire is found more than catch_up_after (2 s) late once more, a
        # few seconds after the claims resumed: a second late claim,
        # caught up once by the same rule (counted and printed; at most
        # one; never in the short version).
        cu_all = [r for r in mine if r["trigger"] == "catch_up"]
        t_cu = sorted(C.parse_time(r["scheduled_at"]) for r in cu_all)
        outage = [t for t in t_cu if t <= resumed * 1000]
        late = [t for t in t_cu if resumed * 1000 < t < (stopping - 1) * 1000]
        assert len(outage) == 1, (name, [x["scheduled_at"] for x in cu_all])
        assert lo - 1000 <= outage[0], (name, outage)
        assert len(late) <= (1 if FULL else 0), (name, [x["scheduled_at"] for x in cu_all])
        assert len(t_cu) - len(outage) - len(late) <= 1, (name, t_cu)
        late_cu += len(late)
        stop_cu += len(t_cu) - len(outage) - len(late)
        assert all(r["status"] == "succeeded" for r in cu_all), cu_all
        gap = [r for r in mine if lo <= C.parse_time(r["scheduled_at"]) < hi]
        # besides: runs that had started as it went away, failed for the
        # store and retried (check_ledger: each retried, once)
        odd = [(r["scheduled_at"], r["trigger"], r["attempt"], r["status"],
                r["error_message"]) for r in gap if r["status"] != "missed" and
               r["trigger"] != "catch_up" and r["status"] != "succeeded" and
               not (r["status"] == "failed" and "store" in (r["error_message"] or ""))]
        assert not odd, (name, odd)
        final = {}
        for r in mine:
            t = r["scheduled_at"]
            if t not in final or r["attempt"] > final[t]["attempt"]:
                final[t] = r
        # a fire whose instant came while the job's retry ran is skipped
        # (max_concurrent 1): recorded, not lost
        bad = [(r["scheduled_at"], r["trigger"], r["attempt"], r["status"], r["error_message"])
               for r in final.values() if r["status"] not in ("succeeded", "missed", "skipped")]
        assert not bad, (name, bad)
        assert sum(1 for r in gap if r["status"] == "missed") >= away - 3
    failed = sum(1 for r in runs if r["status"] == "failed")
    say(f"postgres away {away} s: reconnected after {sorted(round(v, 1) for v in reconnect.values())}"
        f" s, {rep['missed']} missed, {rep['catch_up']} catch_up, {failed} failed for the store "
        f"and retried, {rep['records']} records, executed twice {rep['executed_twice']}, given back "
        f"{rep.get('given_back', 0)}, catch_up after the final stop's give-back {stop_cu}, jobs caught up a "
        f"second time after the claims resumed {late_cu}, "
        f"shares {C.shares(rep)}")


@pytest.mark.skipif(not FULL and os.environ.get("CLUSTER_CHAOS") is None,
                    reason="the chaos variant runs in make test-cluster")
def test_chaos_kill_9_at_random_points(make_cluster):
    """d. (issue 20 item 1) kill -9 of a random node at random points of the
    run lifecycle, restarted; afterwards every instant between the first and
    last fire has exactly one terminal record per attempt, interrupted ones
    are retried, nothing is left running or queued after a clean stop."""
    iterations = 30 if FULL else 3
    c = make_cluster(config={"lease_seconds": 3, "max_concurrent_jobs": 64},
                     agent_cmd='echo "$SYMBI_RUN_ID $SYMBI_SCHEDULED_AT $SYMBI_ATTEMPT" >> %s; '
                               "sleep 0.$((RANDOM %% 9))")
    c.start()
    c.add_jobs(20)
    rng = random.Random(20)
    for _ in range(iterations):
        time.sleep(rng.uniform(0.2, 2.5))
        n = rng.choice(c.live())
        n.kill9()
        if rng.random() < 0.5:
            time.sleep(rng.uniform(0.0, 4.0))
        n.start()
    time.sleep(5)
    C.wait_quiet(c, timeout=90)
    assert c.stop_all() == [0, 0, 0]
    runs = c.runs_cli()
    # nothing running, nothing queued but the retries a stop releases
    # unowned (SPEC §5.6: the record of work owed)
    left = [r for r in runs if r["status"] == "running" or
            (r["status"] == "queued" and (r["node"] or r["trigger"] not in ("retry", "manual")))]
    assert not left, left[:5]
    rep = C.check_ledger(runs, c.executed())
    assert not rep["problems"], rep["problems"][:20]
    say(f"chaos: {iterations} kill -9 iterations, {rep['records']} records, {rep['instants']} "
        f"instants, {rep['interrupted']} interrupted, {rep['retried']} retries, "
        f"{rep['missed']} missed, executed twice {rep['executed_twice']}, given back "
        f"{rep.get('given_back', 0)}, shares {C.shares(rep)}")
