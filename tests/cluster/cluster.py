"""cluster.py - several `symbi up` nodes on one PostgreSQL store, for the
cluster tests (issue 16) and bench/bench_nodes.py: a throwaway server
(tests/tools/pg_server.py), nodes each with their own data directory and API
port, jobs created through the API, the fire ledger read back through the
API, and the checker of what the nodes recorded.

State is read through the HTTP API (never SQL); the one file read besides is
the agents' own execution log (each executed run appends its run id), which
shows what really ran, beside what was recorded."""
import calendar
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "tools"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

import importlib.util  # noqa: E402

from apiclient import Api  # noqa: E402
import pg_server  # noqa: E402

# the e2e fixtures' Symbi (their conftest, loaded under its own name)
_spec = importlib.util.spec_from_file_location("e2e_conftest", ROOT / "tests" / "e2e" /
                                               "conftest.py")
_e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_e2e)
Symbi = _e2e.Symbi

BIN = os.environ.get("SYMBI_BIN", str(ROOT / "build" / "symbi"))
TERMINAL = {"succeeded", "failed", "timed_out", "denied", "skipped", "missed", "interrupted"}


def asan():
    return os.environ.get("SYMBI_BUILD", "").rstrip("/").endswith("asan")


def parse_time(s):
    """RFC 3339 UTC (as the API writes it) to epoch ms."""
    if s is None:
        return None
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z$", s)
    assert m, s
    y, mo, d, h, mi, se = (int(x) for x in m.groups()[:6])
    frac = (m.group(7) or "0")[:3].ljust(3, "0")
    return calendar.timegm((y, mo, d, h, mi, se)) * 1000 + int(frac)


def postgres_support():
    """None when this binary can use a PostgreSQL store, else why not."""
    if not pg_server.available():
        return "PostgreSQL is not installed"
    p = subprocess.run([BIN, "--store", "postgres://127.0.0.1:1/none", "cron", "list"],
                       capture_output=True, text=True, timeout=30)
    if "not built" in p.stderr or "unsupported" in p.stderr.lower() or \
            "not supported" in p.stderr.lower():
        return "this symbi has no PostgreSQL backend: " + p.stderr.strip()[:200]
    return None


class Node:
    """One `symbi up` with its own data directory and port."""

    def __init__(self, cluster, index):
        self.cluster = cluster
        self.index = index
        self.dir = cluster.base / f"node{index}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.symbi = Symbi(self.dir)
        self.daemon = None
        self.port = None
        self.name = None
        self.api = None
        self.starts = 0

    def write_files(self):
        agents = self.dir / "agents"
        agents.mkdir(exist_ok=True)
        (agents / "agents.symbi").write_text(self.cluster.agents_text)
        lines = ["[scheduler]"] + [f"{k} = {v}" for k, v in self.cluster.config.items()]
        (self.dir / "symbi.toml").write_text("\n".join(lines) + "\n")

    def start(self, timeout=30):
        self.write_files()
        self.daemon = self.symbi.start("--store", self.cluster.url, "up", "--listen",
                                       "127.0.0.1:0", "--agents", self.dir / "agents")
        self.starts += 1
        out = self.daemon.wait_for("scheduler started", timeout=timeout)
        m = re.findall(r"scheduler started node=(\S+)", out)
        self.name = m[-1]
        out = self.daemon.wait_for(" port=", timeout=timeout)
        self.port = int(re.findall(r"listening on \S+ port=(\d+)", out)[-1])
        self.api = Api(self.port, timeout=30)
        return self

    def alive(self):
        return self.daemon is not None and self.daemon.proc.poll() is None

    def kill9(self):
        os.killpg(self.daemon.proc.pid, signal.SIGKILL)
        self.daemon.proc.wait()
        self.daemon.logf.close()

    def stop(self, timeout=60):
        """SIGTERM and wait; the exit code."""
        if not self.alive():
            return self.daemon.proc.returncode if self.daemon else 0
        self.daemon.signal(signal.SIGTERM)
        try:
            rc = self.daemon.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.daemon.proc.pid, signal.SIGKILL)
            self.daemon.proc.wait()
            raise
        self.daemon.logf.close()
        return rc

    def log(self):
        return self.daemon.output() if self.daemon else ""


class Cluster:
    """n nodes on one store URL (a fresh schema of a PgServer)."""

    def __init__(self, base, url, n, config=None, agent_cmd=None, agents_text=None):
        self.base = Path(base)
        self.url = url
        self.exec_log = self.base / "executed.log"
        # the agent: %s is the execution log every run appends its id to
        cmd = (agent_cmd or 'echo "$SYMBI_RUN_ID $SYMBI_SCHEDULED_AT $SYMBI_ATTEMPT" >> %s') % \
            self.exec_log
        self.agents_text = 'agent w { command: "%s" }\n' % cmd.replace("\\", "\\\\").replace(
            '"', '\\"')
        if agents_text is not None:
            self.agents_text = agents_text
        self.config = {"max_concurrent_jobs": 64, "lease_seconds": 15}
        self.config.update(config or {})
        self.nodes = [Node(self, i) for i in range(n)]

    def start(self):
        for n in self.nodes:
            n.start()
        return self

    def live(self):
        return [n for n in self.nodes if n.alive()]

    def api(self):
        return self.live()[0].api

    def add_jobs(self, n, expr="* * * * * *", prefix="j", extra=None):
        api = self.api()
        for i in range(n):
            body = {"name": f"{prefix}{i:04d}", "agent_id": "w", "cron_expr": expr}
            body.update(extra or {})
            st, b = api.post("/api/v1/schedule", body)
            assert st == 201, (st, b)

    def jobs(self):
        st, b = self.api().get("/api/v1/schedule?limit=10000")
        assert st == 200, b
        return b if isinstance(b, list) else b.get("jobs", b.get("items", []))

    def runs(self):
        """Every run of every job, through the API."""
        out = []
        api = self.api()
        for j in self.jobs():
            st, b = api.get(f"/api/v1/schedule/{j['id']}/history?limit=10000")
            assert st == 200, b
            for r in b if isinstance(b, list) else b.get("runs", []):
                r["job_name"] = r.get("job_name") or j["name"]
                out.append(r)
        return out

    def cli(self, *args, timeout=60):
        """`symbi --store URL ARGS` (no daemon needed); its stdout."""
        c = Symbi(self.base)
        p = c.run("--store", self.url, *args, timeout=timeout)
        assert p.returncode == 0, (args, p.stdout, p.stderr)
        return p.stdout

    def runs_cli(self):
        """Every run of every job, through the CLI (after a stop); each run
        carries its job's next_run (`job_next_run`)."""
        import json
        out = []
        for j in json.loads(self.cli("cron", "list", "--format", "json")):
            nxt = parse_time(j.get("next_run")) if j.get("next_run") else None
            for r in json.loads(self.cli("cron", "history", j["id"], "--limit", "10000",
                                         "--format", "json")):
                r["job_name"] = r.get("job_name") or j["name"]
                r["job_next_run"] = nxt
                out.append(r)
        return out

    def stop_all(self, timeout=60):
        """A clean stop of every live node at once; their exit codes."""
        live = self.live()
        for n in live:
            n.daemon.signal(signal.SIGTERM)
        rcs = []
        for n in live:
            try:
                rcs.append(n.daemon.wait(timeout=timeout))
            except subprocess.TimeoutExpired:
                os.killpg(n.daemon.proc.pid, signal.SIGKILL)
                n.daemon.proc.wait()
                rcs.append("timeout")
            n.daemon.logf.close()
        return rcs

    def kill_all(self):
        for n in self.nodes:
            if n.alive():
                n.kill9()

    def executed(self):
        """run id -> how many times an agent executed it."""
        counts = {}
        try:
            with open(self.exec_log) as f:
                for line in f:
                    parts = line.split()
                    if parts:
                        counts[parts[0]] = counts.get(parts[0], 0) + 1
        except FileNotFoundError:
            pass
        return counts


def wait_quiet(cluster, timeout=60):
    """Waits (bounded, best effort under load: the jobs go on firing) until
    no retry or manual run waits; the clean stop then gives back the fires
    claimed ahead and waits for the running ones."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = cluster.runs()
        owed = [r for r in runs if r["status"] == "queued" and r["trigger"] in ("retry", "manual")]
        if not owed:
            return runs
        time.sleep(0.5)
    return runs


def check_ledger(runs, executed=None, step_ms=1000, max_retries=3, window=None,
                 strict_exec=True):
    """The fire ledger's rules; returns a report dict, raises on a breach.

    Per job: every instant (a multiple of step_ms) between its first and
    last fire has records for attempts 1..k, exactly one each, all
    terminal, each with one node when it executed; an interrupted attempt
    is followed by a retry (unless the retries ran out); a succeeded run
    executed (the agents' log), and with strict_exec (the default) at most
    once: on PostgreSQL a run's `running` mark is committed before its agent
    starts, so a node killed or cut off after that leaves a run recovery
    interrupts and retries under a new id, never one that runs again under
    its own (docs/cluster.md "The start before the agent"). Without
    strict_exec a run executed twice is only counted (`executed_twice`)."""
    by_job = {}
    for r in runs:
        by_job.setdefault(r["job_name"], []).append(r)
    problems = []
    report = {"records": len(runs), "instants": 0, "interrupted": 0, "retried": 0,
              "missed": 0, "catch_up": 0, "skipped": 0, "per_node": {}, "lags": {}}
    for name, rs in sorted(by_job.items()):
        inst = {}
        for r in rs:
            t = parse_time(r["scheduled_at"])
            inst.setdefault(t, []).append(r)
        times = sorted(t for t, v in inst.items()
                       if any(x["trigger"] in ("schedule", "catch_up") for x in v))
        if not times:
            continue
        lo, hi = times[0], times[-1]
        if window is not None:
            lo, hi = max(lo, window[0]), min(hi, window[1])
        # a clean stop gives a held fire back to its job (record removed,
        # next_run moved back to it, SPEC §5.6): from next_run on, the
        # instants are owed to the next start, even when another node had
        # already run a later one
        owed_from = rs[0].get("job_next_run")
        for t in range(lo, hi + 1, step_ms):
            v = inst.get(t)
            if not v:
                if owed_from is not None and t >= owed_from:
                    report["given_back"] = report.get("given_back", 0) + 1
                    continue
                problems.append(f"{name}: instant {t} has no record")
                continue
            report["instants"] += 1
            attempts = sorted(x["attempt"] for x in v)
            if attempts != list(range(1, len(attempts) + 1)):
                problems.append(f"{name}: instant {t} attempts {attempts}")
            for x in v:
                # a clean stop releases retries and manual runs unowned,
                # still queued: their record is the work owed (SPEC §5.6)
                owed = x["status"] == "queued" and x["trigger"] in ("retry", "manual") and \
                    not x.get("node")
                if x["status"] not in TERMINAL and not owed:
                    problems.append(f"{name}: run {x['id']} left {x['status']}")
                if x["status"] == "missed":
                    report["missed"] += 1
                if x["status"] == "skipped":
                    report["skipped"] += 1
                if x["trigger"] == "catch_up":
                    report["catch_up"] += 1
                ran = x["status"] in ("succeeded", "failed", "timed_out", "interrupted")
                if ran and not x.get("node"):
                    problems.append(f"{name}: run {x['id']} {x['status']} without a node")
                if ran and x["status"] != "interrupted":
                    node = x.get("node")
                    report["per_node"][node] = report["per_node"].get(node, 0) + 1
                    if x["trigger"] == "schedule" and x.get("started_at"):
                        lag = parse_time(x["started_at"]) - t
                        report["lags"].setdefault(node, []).append(lag)
            last = max(v, key=lambda x: x["attempt"])
            report["owed"] = report.get("owed", 0) + (last["status"] == "queued")
            if last["status"] == "interrupted" and last["attempt"] <= max_retries:
                problems.append(f"{name}: instant {t} interrupted (attempt {last['attempt']}) "
                                "and never retried")
            n_int = sum(1 for x in v if x["status"] == "interrupted")
            report["interrupted"] += n_int
            report["retried"] += sum(1 for x in v if x["trigger"] == "retry")
        for t in inst:
            if t % step_ms and any(x["trigger"] == "schedule" for x in inst[t]):
                problems.append(f"{name}: a scheduled record off the schedule at {t}")
    report["executed_twice"] = 0
    if executed is not None:
        for r in runs:
            c = executed.get(r["id"], 0)
            if c > 1:
                report["executed_twice"] += 1
                if strict_exec:
                    problems.append(f"run {r['id']} executed {c} times")
            if r["status"] == "succeeded" and c == 0:
                problems.append(f"run {r['id']} succeeded but never executed")
    report["problems"] = problems
    return report


def percentile(v, q):
    if not v:
        return None
    v = sorted(v)
    return v[min(len(v) - 1, int(round(q / 100.0 * (len(v) - 1))))]


def shares(report):
    total = sum(report["per_node"].values()) or 1
    return {n: f"{c} ({100.0 * c / total:.1f} %)" for n, c in sorted(report["per_node"].items())}
