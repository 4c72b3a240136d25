"""symbi_harness.py - symbi's side of the areas `make bench` compares with
the peers (bench/bench.py drives it), on the real binary with a temporary data
directory; one measurement per invocation, one JSON object on stdout.
  symbi_harness.py BIN add N PER_FILE     `symbi cron add --file` of N jobs, PER_FILE
                                          schedules a file (one transaction each),
                                          then the daemon's RSS with them loaded
  symbi_harness.py BIN latency SECONDS    100 `at` jobs due each second
  symbi_harness.py BIN burst N CONC       N `at` jobs due at one instant, noop
  symbi_harness.py BIN throughput N CONC noop|true
  symbi_harness.py BIN multi N NODES URL  NODES daemons on the PostgreSQL store URL
The start of a run is its `started_at` (when the scheduler hands it to a worker),
its end the `finished_at` of the history row."""
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sched import Daemon, db  # noqa: E402

BIN = sys.argv[1]
os.environ["SYMBI_BIN"] = BIN
import bench_sched  # noqa: E402

bench_sched.BIN = BIN
AGENT = {"noop": 'builtin: "noop"', "true": 'exec: ["/bin/true"]'}


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def write_at_jobs(agents: Path, dues, body="noop", per_file=2000, prefix="j"):
    """`at` jobs <prefix><i> due at dues[i], per_file schedules to a .symbi file."""
    agents.mkdir(parents=True, exist_ok=True)
    (agents / "agent.symbi").write_text(f"agent a {{ {AGENT[body]} }}\n")
    for f in range(0, len(dues), per_file):
        (agents / f"jobs-{f // per_file:03d}.symbi").write_text("".join(
            f'schedule {{ name: "{prefix}{i:06d}" agent: "a" at: "{iso(dues[i])}" }}\n'
            for i in range(f, min(len(dues), f + per_file))))


def env_for(data: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYMBI_")}
    env["SYMBI_HOME"] = str(data)
    return env


def add(tmp: Path, n: int, per_file: int):
    data = tmp / "add"
    data.mkdir()
    files = tmp / "files"
    files.mkdir()
    (files / "agent.symbi").write_text('agent a { builtin: "noop" }\n')
    for f in range(0, n, per_file):
        (files / f"jobs-{f // per_file:03d}.symbi").write_text("".join(
            f'schedule {{ name: "job-{i:07d}" agent: "a" cron: "0 0 1 1 *" }}\n'
            for i in range(f, min(n, f + per_file))))
    d = Daemon(data)  # the schema, as an operator's first start makes it
    d.stop()
    env = env_for(data)
    paths = sorted(files.glob("jobs-*.symbi"))
    subprocess.run([BIN, "cron", "add", "--file", str(files / "agent.symbi")], env=env, cwd=data,
                   check=True, capture_output=True)
    t0 = time.perf_counter()
    for p in paths:
        subprocess.run([BIN, "cron", "add", "--file", str(p)], env=env, cwd=data, check=True,
                       stdout=subprocess.DEVNULL)
    secs = time.perf_counter() - t0
    d = Daemon(data)
    time.sleep(3)
    rss = d.rss_mib()
    d.stop()
    c = db(data)
    count = c.execute("SELECT count(*) FROM jobs").fetchone()[0]
    c.close()
    return {"n": n, "jobs": count, "seconds": secs, "per_s": n / secs, "rss_mib": rss,
            "db_bytes": sum(p.stat().st_size for p in data.glob("symbi.db*"))}


def runs_of(data: Path):
    c = db(data)
    rows = c.execute("SELECT scheduled_at, started_at, finished_at, status FROM runs").fetchall()
    c.close()
    return rows


def latency(tmp: Path, secs: int):
    data = tmp / "latency"
    t0 = (math.ceil(time.time()) + 6) * 1000
    dues = [t0 + k * 1000 for k in range(secs) for _ in range(100)]
    write_at_jobs(data / "agents", dues)
    d = Daemon(data, "[scheduler]\nmax_concurrent_jobs = 200\n")
    late = time.time() * 1000 > t0
    while time.time() * 1000 < dues[-1] + 3000:
        time.sleep(0.2)
    d.stop()
    rows = [r for r in runs_of(data) if r[1] is not None]
    return {"n": len(dues), "done": len(rows), "late": late, "due": [r[0] for r in rows],
            "lag": [r[1] - r[0] for r in rows]}


def burst(tmp: Path, n: int, conc: int, body: str = "noop"):
    data = tmp / "burst"
    at = (math.ceil(time.time()) + 5 + math.ceil(n / 2000)) * 1000
    write_at_jobs(data / "agents", [at] * n, body)
    d = Daemon(data, f"[scheduler]\nmax_concurrent_jobs = {conc}\n")
    late = time.time() * 1000 > at
    deadline = time.monotonic() + 600
    done = 0
    while time.monotonic() < deadline:
        c = db(data)
        done = c.execute("SELECT count(*) FROM runs WHERE finished_at IS NOT NULL").fetchone()[0]
        c.close()
        if done >= n:
            break
        time.sleep(0.05)
    d.stop()
    rows = runs_of(data)
    ok = sum(1 for r in rows if r[3] == "succeeded")
    started = max(r[1] for r in rows if r[1] is not None) - at
    recorded = max(r[2] for r in rows if r[2] is not None) - at
    return {"n": n, "done": done, "succeeded": ok, "late": late, "started_s": started / 1000,
            "recorded_s": recorded / 1000, "per_s": done / (recorded / 1000)}


def multi(tmp: Path, n: int, nodes: int, url: str):
    """NODES daemons sharing the PostgreSQL store url: N `at` jobs due at one
    instant; every run of the shared history counted per job."""
    at = (math.ceil(time.time()) + 20) * 1000
    agents = tmp / "agents"
    prefix = f"m{at // 1000}-"  # the store outlives this run: names of its own
    write_at_jobs(agents, [at] * n, prefix=prefix)
    ds = []
    try:
        for i in range(nodes):
            data = tmp / f"node{i}"
            data.mkdir()
            (data / "symbi.toml").write_text("[scheduler]\nmax_concurrent_jobs = 64\n")
            ds.append(Daemon.__new__(Daemon))
            start_node(ds[-1], data, agents, url)
        late = time.time() * 1000 > at
        deadline = time.monotonic() + 300
        rows = []
        while time.monotonic() < deadline:
            rows = pg_runs(url, prefix)
            if len({r[0] for r in rows if r[3] is not None}) >= n:
                break
            time.sleep(0.2)
    finally:
        for d in ds:
            if getattr(d, "p", None) is not None:
                d.stop()
    rows = pg_runs(url, prefix)
    per_job = {}
    for r in rows:
        per_job[r[0]] = per_job.get(r[0], 0) + 1
    dup = sum(c - 1 for c in per_job.values() if c > 1)
    lost = n - len(per_job)
    nodes_used = len({r[1] for r in rows})
    recorded = max((r[3] for r in rows if r[3] is not None), default=at) - at
    return {"n": n, "done": len(per_job), "late": late, "duplicates": dup, "lost": lost,
            "nodes_used": nodes_used, "recorded_s": recorded / 1000,
            "per_s": len(per_job) / (recorded / 1000) if recorded > 0 else 0}


def start_node(d, data: Path, agents: Path, url: str):
    """Daemon.__init__ for a node: `symbi --store URL --data-dir DATA up` on
    a port of its own."""
    d.data = data
    env = env_for(data)
    d.log = open(data / "daemon.log", "w+")
    d.p = subprocess.Popen([BIN, "--store", url, "--data-dir", str(data), "up", "--listen",
                            "127.0.0.1:0",
                            "--agents", str(agents)], cwd=data, env=env, stdout=d.log,
                           stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while "scheduler started" not in (data / "daemon.log").read_text():
        if d.p.poll() is not None or time.monotonic() > deadline:
            text = (data / "daemon.log").read_text()
            d.p = None
            raise NodeRefused(text)
        time.sleep(0.05)


class NodeRefused(Exception):
    pass


def pg_runs(url: str, prefix: str):
    q = ("SELECT job_name, node, started_at, finished_at FROM runs "
         f"WHERE job_name LIKE '{prefix}%' AND finished_at IS NOT NULL")
    r = subprocess.run(["psql", url, "-AtF", "\t", "-c", q], capture_output=True, text=True)
    out = []
    for line in r.stdout.splitlines():
        f = line.split("\t")
        if len(f) == 4:
            out.append((f[0], f[1], int(f[2]) if f[2] else None, int(f[3]) if f[3] else None))
    return out


def main():
    cmd, args = sys.argv[2], sys.argv[3:]
    with tempfile.TemporaryDirectory(prefix="symbi-bench-h-") as t:
        tmp = Path(t)
        if cmd == "add":
            out = add(tmp, int(args[0]), int(args[1]))
        elif cmd == "latency":
            out = latency(tmp, int(args[0]))
        elif cmd in ("burst", "throughput"):
            out = burst(tmp, int(args[0]), int(args[1]), args[2] if len(args) > 2 else "noop")
        elif cmd == "multi":
            try:
                out = multi(tmp, int(args[0]), int(args[1]), args[2])
            except NodeRefused as e:
                out = {"refused": True, "log": str(e)[-2000:]}
        else:
            raise SystemExit(f"symbi_harness: unknown command {cmd}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
