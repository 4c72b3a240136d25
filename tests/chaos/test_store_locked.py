"""The store locked by another process (issue 20 #3): a process holds
BEGIN EXCLUSIVE on the SQLite file for 30 s (`make test-chaos`; 8 s in
`make test`) while jobs fire every second. No burst of duplicate fires
(the ledger checker: every instant once), the instants missed while the
store was locked follow each job's catch_up (once: the latest runs as
catch_up, the others are `missed`; skip: all `missed`; all: each runs, in
order), and the daemon recovers: health 200, fires on time again."""
import subprocess
import sys
import time

import ledger
from apiclient import Api
from report import figures
from sched_util import rows, wait_until, write_config, write_every_second_jobs

HOLD = """
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
c.execute("BEGIN EXCLUSIVE")
print(int(time.time() * 1000), flush=True)
time.sleep(float(sys.argv[2]))
c.execute("ROLLBACK")
print(int(time.time() * 1000), flush=True)
"""


def test_store_locked_for_a_while(symbi, daemons, chaos):
    hold_s = chaos.pick(8, 30)
    data = symbi.data_dir
    write_config(data, {"max_concurrent_jobs": 32})
    write_every_second_jobs(data, ("once", "skip", "all"), 20)
    d = symbi.start("up", "--listen", "127.0.0.1:0", "--agents", data / "agents")
    daemons.append(d)
    out = d.wait_for(" port=", timeout=30)
    port = int(out.split(" port=")[1].split()[0])
    d.wait_for("scheduler started", timeout=30)
    wait_until(lambda: len(rows(symbi, "SELECT id FROM runs WHERE job_name = 'once' AND "
                                       "status = 'succeeded'")) >= 3, timeout=20,
               what="runs before the lock")

    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(data / "symbi.db"), str(hold_s)],
                              stdout=subprocess.PIPE, text=True)
    locked_at = int(holder.stdout.readline())
    mark = len(d.output())
    health_during = Api(port, timeout=30).get("/api/v1/health/scheduler")[0]
    released_at = int(holder.stdout.readline())
    assert holder.wait(timeout=30) == 0
    # recovered: health answers 200, the next instants run on time
    wait_until(lambda: Api(port, timeout=30).get("/api/v1/health/scheduler")[0] == 200,
               timeout=30, every=0.5, what="health 200")
    after = released_at + 5500  # claims resume within the 5 s back-off
    wait_until(lambda: rows(symbi, "SELECT count(*) AS n FROM runs WHERE job_name = 'once' AND "
                                   "trigger = 'schedule' AND status = 'succeeded' AND "
                                   "scheduled_at >= ?", after)[0]["n"] >= 1,
               timeout=40, what="on-time fires after the lock")
    wait_until(lambda: rows(symbi, "SELECT count(*) AS n FROM runs WHERE status IN "
                                   "('queued', 'running')")[0]["n"] <= 30, timeout=30,
               what="the backlog to drain")
    d.signal()
    assert d.wait(timeout=60) == 0
    log = "\n".join(ln for ln in d.output()[mark:].splitlines() if " scheduler " in ln)

    dump = ledger.dump(symbi)
    rep = ledger.check(dump)
    # the instants whose claim the lock held back past the catch-up bound
    # (2 s late, whenever after the release the claim comes): those are the
    # missed fires; each mode decides them
    late = {}
    for mode in ("once", "skip", "all"):
        _, runs = dump[mode]
        win = [r for r in runs if r["attempt"] == 1 and locked_at + 2500 <= ledger.ms(
            r["scheduled_at"]) <= released_at - 2500]
        late[mode] = {}
        for r in win:
            k = f"{r['trigger']}/{r['status']}"
            late[mode][k] = late[mode].get(k, 0) + 1
    # a burst: more runs of a job started in one second than instants due
    burst = 0
    for name, (_, runs) in dump.items():
        if name == "all":
            continue
        per = {}
        for r in runs:
            if r["started_at"] and r["status"] != "missed":
                s = ledger.ms(r["started_at"]) // 1000
                per[s] = per.get(s, 0) + 1
        burst = max(burst, max(per.values(), default=0))
    # a fire claimed before the lock starts at its instant: the loop does
    # not wait on the locked store (before: 7 s late, then the next
    # instants recorded `skipped` as if the job were running)
    lag = max(ledger.ms(r["started_at"]) - ledger.ms(r["due_at"])
              for _, runs in dump.values() for r in runs
              if r["trigger"] == "schedule" and r["started_at"])
    figures("store_locked", max_start_lag_ms=lag, hold_s=hold_s, health_during=health_during,
            catch_up=late, max_runs_of_a_job_started_in_one_second=burst,
            log_lines_during=len(log.splitlines()), **rep.figures())
    assert rep.ok, rep.explain()
    expect = hold_s - 6  # instants in the window at least
    once, skip, every = late["once"], late["skip"], late["all"]
    assert once.get("schedule/missed", 0) >= expect - 1, once
    assert once.get("catch_up/succeeded", 0) <= 1, once
    assert set(skip) == {"schedule/missed"} and skip["schedule/missed"] >= expect, skip
    assert every.get("catch_up/succeeded", 0) >= expect and "schedule/missed" not in every, every
    assert lag <= 2500, f"a scheduled run started {lag} ms after its instant"
    # around the lock nothing is `skipped` as if a job were running (a run
    # slower than a second on a starved machine may be, elsewhere)
    assert not [r for _, runs in dump.values() for r in runs if r["status"] == "skipped" and
                locked_at <= ledger.ms(r["scheduled_at"]) <= released_at + 6000]
    assert burst <= 3, f"{burst} runs of one job started in one second"
    # said once what failed and once that it recovered, not a line per try
    assert "the store cannot write" in log and "the store writes again" in log, log
    assert len(log.splitlines()) <= 10, log[-3000:]
