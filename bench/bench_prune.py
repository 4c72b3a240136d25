"""bench_prune.py - retention (issue 17, item 5): the scheduler's pruner
deletes 1,000,000 old runs while 100 jobs are due every second; the start
lag of those runs (started_at - scheduled_at) is measured with the pruner at
work, before it with the same jobs and no history to prune, and right after it in
the same daemon (the machine's load then is the closest to the pruning run's).
Usage: bench_prune.py [BUILD]; BENCH_PRUNE_RUNS (default 1000000) and
BENCH_PRUNE_SECONDS (the baseline window, default 20)."""
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sched import Daemon, db, pct  # noqa: E402

N = int(os.environ.get("BENCH_PRUNE_RUNS", "1000000"))
SECONDS = int(os.environ.get("BENCH_PRUNE_SECONDS", "20"))
JOBS = 'agent nop { builtin: "noop" }\n' + "".join(
    f'schedule {{ name: "j{i:03d}" agent: "nop" cron: "* * * * * *" }}\n' for i in range(100))


def lags(data: Path, t_from: float, t_to: float):
    c = db(data)
    rows = c.execute("SELECT scheduled_at, started_at FROM runs WHERE status = 'succeeded' AND "
                     "job_name LIKE 'j%' AND scheduled_at >= ? AND scheduled_at < ?",
                     (int(t_from * 1000), int(t_to * 1000))).fetchall()
    c.close()
    return [s - t for t, s in rows]


def report(what, xs):
    if not xs:
        print(f"  {what}: no runs")
        return
    print(f"  {what}: {len(xs)} runs, start - scheduled median {statistics.median(xs):.0f} ms, "
          f"p99 {pct(xs, 0.99)} ms, max {max(xs)} ms")


def main():
    with tempfile.TemporaryDirectory(prefix="symbi-bench-prune-") as tmp:
        data = Path(tmp)
        (data / "agents").mkdir()
        (data / "agents" / "jobs.symbi").write_text(JOBS)
        cfg = "[scheduler]\nmax_concurrent_jobs = 200\n"
        # baseline: no history to prune
        d = Daemon(data, cfg + "[store]\nkeep_runs = 0\nkeep_runs_per_job = 0\nkeep_audit = 0\n")
        t0 = time.time() + 2
        time.sleep(SECONDS + 3)
        d.stop()
        base = lags(data, t0, t0 + SECONDS)
        # a million finished runs of 1,000 other jobs, 200 days old
        c = sqlite3.connect(data / "symbi.db", timeout=30)
        now = int(time.time() * 1000)
        old = now - 200 * 86400000
        jobs = [str(uuid.uuid4()) for _ in range(1000)]
        c.execute("BEGIN")
        c.executemany("INSERT INTO jobs (id, name, agent, cron_expr, status, created_at, "
                      "updated_at, source) VALUES (?, ?, 'nop', '0 0 1 1 *', 'paused', ?, ?, 'cli')",
                      ((j, f"old-{i:04d}", now, now) for i, j in enumerate(jobs)))
        t = time.monotonic()
        c.executemany("INSERT INTO runs (id, job_id, job_name, scheduled_at, due_at, started_at, "
                      "finished_at, status, created_at) VALUES (?,?,?,?,?,?,?, 'succeeded', ?)",
                      ((str(uuid.uuid4()), jobs[i % 1000], f"old-{i % 1000:04d}", old + i,
                        old + i, old + i, old + i + 5, old) for i in range(N)))
        c.commit()
        c.close()
        print(f"prune: {N} runs inserted in {time.monotonic() - t:.1f} s")
        d = Daemon(data, cfg + "[store]\nkeep_runs = \"90d\"\n")
        t_start = time.time()
        deadline = time.monotonic() + 900
        while True:
            c = db(data)
            left = c.execute("SELECT count(*) FROM runs WHERE job_name LIKE 'old-%'").fetchone()[0]
            c.close()
            if left == 0 or time.monotonic() > deadline:
                break
            time.sleep(1)
        t_end = time.time()
        # the same daemon, same machine load, once the pruner is done
        time.sleep(SECONDS + 2)
        t_after = time.time()
        d.stop()
        took = t_end - t_start
        print(f"  pruned {N - left} runs in {took:.0f} s ({(N - left) / took:.0f} runs/s), "
              f"{left} left")
        report("baseline, nothing to prune", base)
        report("while pruning", lags(data, t_start + 2, t_end))
        report("right after, same daemon", lags(data, t_end + 1, t_after - 1))


if __name__ == "__main__":
    main()
