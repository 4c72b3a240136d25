"""bench_sched.py - the scheduler daemon's figures (issue 6, items 2 and 9),
measured on the real `symbi up` with a temporary data directory:
  latency     100 jobs due every second (builtin noop), every run recorded:
              started_at - scheduled_at, median / p99 / max over the window
  idle        1,000,000 jobs in the store, none due: daemon RSS and CPU
  throughput  5,000 one-shot jobs due at one instant, until all are recorded
              succeeded: builtin noop, and exec ["/bin/true"]
Usage: bench_sched.py [BUILD] (SYMBI_BIN overrides); BENCH_SCHED_SECONDS sets
the latency window (default 60), BENCH_SCHED_JOBS the idle job count,
BENCH_SCHED_ONLY a comma-separated subset of latency,noop,exec,idle."""
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
BIN = os.environ.get("SYMBI_BIN", str(ROOT / BUILD / "symbi"))
CLK = os.sysconf("SC_CLK_TCK")


class Daemon:
    def __init__(self, data: Path, config: str = ""):
        self.data = data
        (data / "symbi.toml").write_text(config)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYMBI_")}
        env["SYMBI_HOME"] = str(data)
        self.log = open(data / "daemon.log", "w+")
        agents = data / "agents"
        args = [BIN, "up", "--listen", "127.0.0.1:0"]
        if agents.exists():
            args += ["--agents", str(agents)]
        self.p = subprocess.Popen(args, cwd=data, env=env, stdout=self.log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while "scheduler started" not in (data / "daemon.log").read_text():
            if self.p.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("daemon did not start:\n" + (data / "daemon.log").read_text())
            time.sleep(0.05)

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait()
        self.log.close()

    def cpu_s(self) -> float:
        f = open(f"/proc/{self.p.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / CLK

    def rss_mib(self) -> float:
        for line in open(f"/proc/{self.p.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0


def db(data: Path):
    return sqlite3.connect(f"file:{data / 'symbi.db'}?mode=ro", uri=True, timeout=30)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def latency(tmp: Path, seconds: int):
    data = tmp / "latency"
    (data / "agents").mkdir(parents=True)
    (data / "agents" / "jobs.symbi").write_text('agent nop { builtin: "noop" }\n' + "".join(
        f'schedule {{ name: "j{i:03d}" agent: "nop" cron: "* * * * * *" }}\n'
        for i in range(100)))
    d = Daemon(data, "[scheduler]\nmax_concurrent_jobs = 200\n")
    t0 = time.time()
    time.sleep(seconds + 3)
    d.stop()
    c = db(data)
    rows = c.execute("SELECT scheduled_at, started_at, status FROM runs").fetchall()
    c.close()
    instants = sorted({r[0] for r in rows})
    # the window: whole instants after two seconds of warm-up
    window = [t for t in instants if t >= t0 * 1000 + 2000][:seconds]
    sel = [r for r in rows if r[0] in set(window)]
    lags = [r[1] - r[0] for r in sel if r[2] == "succeeded"]
    missing = 100 * len(window) - len(lags)
    print(f"latency: {len(window)} s x 100 jobs/s, {len(lags)} runs recorded, "
          f"{missing} not succeeded")
    if lags:
        print(f"  start - scheduled: median {statistics.median(lags):.0f} ms, "
              f"p99 {pct(lags, 0.99)} ms, max {max(lags)} ms, mean {statistics.mean(lags):.1f} ms")


def idle(tmp: Path, n: int):
    data = tmp / "idle"
    data.mkdir()
    # create the schema with a first start, then fill the store directly
    d = Daemon(data)
    d.stop()
    c = sqlite3.connect(data / "symbi.db", timeout=30)
    now = int(time.time() * 1000)
    year = (time.gmtime().tm_year + 1)
    nxt = int(time.mktime((year, 1, 1, 0, 0, 0, 0, 0, 0)) - time.timezone) * 1000
    t = time.monotonic()
    c.execute("BEGIN")
    c.executemany(
        "INSERT INTO jobs (id, name, agent, cron_expr, status, created_at, updated_at, next_run,"
        " source) VALUES (?, ?, 'nop', '0 0 1 1 *', 'active', ?, ?, ?, 'cli')",
        ((str(uuid.uuid4()), f"job-{i:07d}", now, now, nxt) for i in range(n)))
    c.commit()
    c.close()
    print(f"idle: {n} jobs inserted in {time.monotonic() - t:.1f} s")
    d = Daemon(data)
    time.sleep(5)
    c0, t0 = d.cpu_s(), time.monotonic()
    time.sleep(30)
    cpu = (d.cpu_s() - c0) / (time.monotonic() - t0) * 100
    rss = d.rss_mib()
    d.stop()
    print(f"  daemon RSS {rss:.1f} MiB, CPU {cpu:.2f} % of a core over 30 s (none due)")


def throughput(tmp: Path, name: str, agent: str, n: int = 5000, workers: int = 64):
    data = tmp / f"tp-{name}"
    (data / "agents").mkdir(parents=True)
    at = (int(time.time()) + 20) * 1000
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at / 1000))
    (data / "agents" / "jobs.symbi").write_text(f"agent a {{ {agent} }}\n" + "".join(
        f'schedule {{ name: "t{i:05d}" agent: "a" at: "{iso}" }}\n' for i in range(n)))
    d = Daemon(data, f"[scheduler]\nmax_concurrent_jobs = {workers}\n")
    if time.time() * 1000 > at - 500:
        print(f"throughput {name}: the daemon started too late for the instant; skipped")
        d.stop()
        return
    while time.time() * 1000 < at:
        time.sleep(0.05)
    c0 = d.cpu_s()
    deadline = time.monotonic() + 300
    done = 0
    while time.monotonic() < deadline:
        c = db(data)
        done = c.execute("SELECT count(*) FROM runs WHERE status = 'succeeded'").fetchone()[0]
        c.close()
        if done >= n:
            break
        time.sleep(0.05)
    wall = time.time() - at / 1000
    cpu = d.cpu_s() - c0
    d.stop()
    c = db(data)
    last = c.execute("SELECT max(finished_at) FROM runs").fetchone()[0]
    c.close()
    span = (last - at) / 1000
    print(f"throughput {name}: {done}/{n} runs recorded succeeded in {wall:.2f} s "
          f"(last finished {span:.2f} s after the instant): {done / wall:.0f} runs/s recorded, "
          f"daemon CPU {cpu:.1f} s, max_concurrent_jobs {workers}")


def main():
    seconds = int(os.environ.get("BENCH_SCHED_SECONDS", "60"))
    jobs = int(os.environ.get("BENCH_SCHED_JOBS", "1000000"))
    print(f"bench_sched: {BIN}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="bench-sched-") as t:
        tmp = Path(t)
        only = os.environ.get("BENCH_SCHED_ONLY", "latency,noop,exec,idle").split(",")
        if "latency" in only:
            latency(tmp, seconds)
        if "noop" in only:
            throughput(tmp, "noop", 'builtin: "noop"')
        if "exec" in only:
            throughput(tmp, "exec-true", 'exec: ["/bin/true"]')
        if "idle" in only:
            idle(tmp, jobs)
    print(f"bench_sched: done; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
