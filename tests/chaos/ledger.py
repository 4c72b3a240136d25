"""The chaos suite's one checker of the fire ledger (SPEC §4.2, §5.6): it
reads the store through the CLI's JSON output (`symbi cron list` and `cron
history --format json`), so it serves any backend (`--store URL`), and
checks that every scheduled instant of every job between its first and last
fire has exactly one record, that each instant's attempts form one chain
ending in a terminal record, and that nothing is left queued or running.
The SQLite integrity check is separate (`sqlite_integrity`)."""
import json
import re
import sqlite3
from datetime import datetime

TERMINAL = {"succeeded", "failed", "timed_out", "denied", "skipped", "missed", "interrupted"}
RETRIED = {"failed", "timed_out", "interrupted"}  # an attempt after these is a retry
LEFT = {"queued", "running", "pending_approval"}
HISTORY_MAX = 100000  # `cron history --limit` bound


def ms(text):
    """RFC 3339 UTC as the CLI prints it (`...Z`, with or without .mmm) to epoch ms."""
    if text is None:
        return None
    return int(round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000))


def step_ms(cron_expr):
    """The period of the suite's jobs: `* * * * * *` or `*/N * * * * *`.
    Other expressions are not on a fixed grid and are refused."""
    m = re.fullmatch(r"(\*|\*/(\d+)) \* \* \* \* \*", cron_expr or "")
    if not m:
        raise ValueError(f"the ledger checker needs a `*/N * * * * *` job, not {cron_expr!r}")
    return int(m.group(2) or 1) * 1000


def cli_json(symbi, *args, store=()):
    p = symbi.run(*store, *args, "--format", "json", timeout=300)
    if p.returncode != 0:
        raise AssertionError(f"symbi {' '.join(map(str, args))}: exit {p.returncode}: {p.stderr}")
    return json.loads(p.stdout)


def dump(symbi, store=()):
    """Every job and every run of each, as the CLI prints them (the API's
    objects): {job name: (job, [runs])}."""
    out = {}
    for job in cli_json(symbi, "cron", "list", store=store):
        runs = cli_json(symbi, "cron", "history", job["id"], "--limit", str(HISTORY_MAX),
                        store=store)
        assert len(runs) < HISTORY_MAX, f"{job['name']}: more runs than one history call reads"
        out[job["name"]] = (job, runs)
    return out


class Report:
    def __init__(self):
        self.jobs = self.records = self.instants = 0
        self.duplicates = []  # (job, instant, attempt) recorded more than once
        self.missing = []  # (job, instant) with no record
        self.left = []  # runs still queued/running
        self.bad_chains = []  # (job, instant, statuses by attempt)
        self.executed_twice = []  # run ids an agent saw start more than once
        self.capped = 0  # instants of a capped window left without a record

    @property
    def ok(self):
        return not (self.duplicates or self.missing or self.left or self.bad_chains
                    or self.executed_twice)

    def figures(self):
        return {"jobs": self.jobs, "records": self.records, "instants": self.instants,
                "duplicates": len(self.duplicates), "missing": len(self.missing),
                "left_running_or_queued": len(self.left), "bad_chains": len(self.bad_chains),
                "executed_twice": len(self.executed_twice), "capped": self.capped}

    def explain(self):
        return (f"{self.figures()}\n duplicates {self.duplicates[:5]}\n missing "
                f"{self.missing[:5]}\n left {self.left[:5]}\n chains {self.bad_chains[:5]}\n"
                f" executed twice {self.executed_twice[:5]}")


def check(data, executions=None, jobs=None, capped=()):
    """Checks a dump() (jobs: only these names). executions: run ids in the
    order agents started them (an agent's own log); a run id started twice
    is a run handed back as queued after it started (SPEC §5.6). capped:
    (from, to) ms windows of downtime longer than the missed-fire cap (SPEC
    §5.4: at most ~100 records per job per recovery): their instants may
    have no record (counted in `capped`), never two."""
    rep = Report()
    for name, (job, runs) in sorted(data.items()):
        if jobs is not None and name not in jobs:
            continue
        rep.jobs += 1
        rep.records += len(runs)
        rep.left += [(name, r["id"], r["status"]) for r in runs if r["status"] in LEFT]
        fired = [r for r in runs if r["trigger"] in ("schedule", "catch_up", "retry")]
        chains = {}
        for r in fired:
            chains.setdefault(ms(r["scheduled_at"]), []).append(r)
        if not chains:
            continue
        step = step_ms(job["cron_expr"])
        first, last = min(chains), max(chains)
        for t in range(first, last + step, step):
            rep.instants += 1
            chain = chains.get(t)
            if not chain and any(lo <= t <= hi for lo, hi in capped):
                rep.capped += 1
                continue
            if not chain:
                rep.missing.append((name, t))
                continue
            attempts = sorted(r["attempt"] for r in chain)
            for a in set(attempts):
                if attempts.count(a) > 1:
                    rep.duplicates.append((name, t, a))
            by = {r["attempt"]: r for r in chain}
            order = [by[a]["status"] for a in sorted(by)]
            if (sorted(by) != list(range(1, len(by) + 1))
                    or any(s not in RETRIED for s in order[:-1])
                    or by[1]["trigger"] not in ("schedule", "catch_up")
                    or any(by[a]["trigger"] != "retry" for a in sorted(by)[1:])):
                rep.bad_chains.append((name, t, order))
        off = [t for t in chains if (t - first) % step]
        rep.bad_chains += [(name, t, "off the job's grid") for t in off]
    if executions is not None:
        seen = set()
        for rid in executions:
            if rid in seen:
                rep.executed_twice.append(rid)
            seen.add(rid)
    return rep


def store_unchanged(before, after):
    """The jobs and runs of two dump()s, ignoring what time alone moves."""
    def norm(d):
        return {n: (j, sorted(r["id"] for r in runs)) for n, (j, runs) in d.items()}
    return norm(before) == norm(after)


def sqlite_integrity(db_path):
    """PRAGMA integrity_check and foreign_key_check of a SQLite store file."""
    c = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return (c.execute("PRAGMA integrity_check").fetchone()[0],
                c.execute("PRAGMA foreign_key_check").fetchall())
    finally:
        c.close()
