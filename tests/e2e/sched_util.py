"""Helpers for the scheduler's end-to-end tests: writing agents files and a
symbi.toml into a test's data directory, starting `symbi up` there, and
reading what the daemon recorded through the CLI (`cron list`, `cron history`,
`audit query`, `--format json`), so the tests hold for any store backend.
`rows` (raw SQL on the SQLite file) is kept only for what no CLI or API read
shows; every use of it says why."""
import json
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path

from slowness import SLOW


def write_agents(data_dir: Path, text: str, name: str = "jobs.symbi") -> Path:
    d = data_dir / "agents"
    d.mkdir(exist_ok=True)
    (d / name).write_text(text)
    return d


def write_every_second_jobs(data_dir: Path, catch_up_modes, plain: int, prefix="n") -> Path:
    """A no-op agent, one every-second job per catch_up mode (named after it)
    and `plain` every-second jobs with the default catch_up, named prefix00,
    prefix01, ... ("n" by default)."""
    return write_agents(data_dir, 'agent nop { builtin: "noop" }\n'
                        + "".join(f'schedule {{ name: "{m}" agent: "nop" cron: "* * * * * *" '
                                  f'catch_up: "{m}" }}\n' for m in catch_up_modes)
                        + "".join(f'schedule {{ name: "{prefix}{i:02d}" agent: "nop" '
                                  f'cron: "* * * * * *" }}\n' for i in range(plain)))


def write_config(data_dir: Path, scheduler: dict) -> None:
    lines = ["[scheduler]"] + [f"{k} = {v}" for k, v in scheduler.items()]
    (data_dir / "symbi.toml").write_text("\n".join(lines) + "\n")


def start(symbi, daemons, *extra):
    # port 0: never the default 8080, which parallel test runs would share
    d = symbi.start("up", "--listen", "127.0.0.1:0", "--agents", symbi.data_dir / "agents",
                    *extra)
    daemons.append(d)
    d.wait_for("scheduler started", timeout=20)
    return d


def db(symbi):
    """SQLite-only: a read-only connection on the data directory's file."""
    c = sqlite3.connect(f"file:{symbi.data_dir / 'symbi.db'}?mode=ro", uri=True, timeout=10)
    c.row_factory = sqlite3.Row
    return c


def rows(symbi, sql, *args):
    """SQLite-only: raw SQL on the file, for what no CLI or API read shows
    (schema, SQLite internals); everything else reads through `runs`,
    `job`, `jobs` and `audit` below."""
    c = db(symbi)
    try:
        return [dict(r) for r in c.execute(sql, args)]
    finally:
        c.close()


LIST_MAX = 100000  # the CLI's bound on --limit (cron history, audit query)


def cli_json(symbi, *args):
    """`symbi <args> --format json`, parsed; fails the test on a non-zero exit."""
    p = symbi.run(*args, "--format", "json", check=True)
    return json.loads(p.stdout)


def ms(t):
    """An ISO-8601 UTC instant as the CLI prints it ("...:05Z", "...:05.250Z")
    in epoch milliseconds; None stays None."""
    if t is None:
        return None
    d = datetime.strptime(t.replace("Z", "+0000"),
                          "%Y-%m-%dT%H:%M:%S.%f%z" if "." in t else "%Y-%m-%dT%H:%M:%S%z")
    return int(round(d.astimezone(timezone.utc).timestamp() * 1000))


RUN_TIMES = ("scheduled_at", "due_at", "started_at", "finished_at", "created_at")
JOB_TIMES = ("at", "created_at", "updated_at", "last_run", "next_run")


def run_row(r):
    """A run as `cron history --format json` prints it, in the shape of its
    stored record: times in epoch ms, `stderr_text`, `output_truncated` 0/1,
    and deliveries / tool_calls / iteration_outputs as JSON text."""
    r = dict(r)
    for k in RUN_TIMES:
        r[k] = ms(r.get(k))
    r["stderr_text"] = r.get("stderr")
    r["output_truncated"] = int(bool(r.get("output_truncated")))
    for k in ("deliveries", "tool_calls", "iteration_outputs"):
        if r.get(k) is not None:
            r[k] = json.dumps(r[k])
    return r


def job_row(j):
    """A job as `cron list --format json` prints it, times in epoch ms,
    `agent` beside `agent_id` and `policy` as JSON text."""
    j = dict(j)
    if j.get("policy") is not None and not isinstance(j["policy"], str):
        j["policy"] = json.dumps(j["policy"])
    for k in JOB_TIMES:
        j[k] = ms(j.get(k))
    j["agent"] = j.get("agent_id")
    return j


def jobs(symbi):
    return [job_row(j) for j in cli_json(symbi, "cron", "list")]


def runs(symbi, job=None, status=None):
    """Every run record of the job named `job` (of every job when None:
    `cron history --all`), only those in `status` when given, oldest instant
    first (scheduled_at, attempt)."""
    args = ["cron", "history", job] if job is not None else ["cron", "history", "--all"]
    if status is not None:
        args += ["--status", status]
    p = symbi.run(*args, "--limit", LIST_MAX, "--format", "json")
    if p.returncode != 0:
        if job is not None and "no job" in p.stderr:
            return []
        raise AssertionError(f"symbi {' '.join(args)}: {p.stderr}")
    out = [run_row(r) for r in json.loads(p.stdout)]
    out.sort(key=lambda r: (r["scheduled_at"], r["attempt"], r["created_at"]))
    return out


def run_by_id(symbi, rid):
    """The run with id `rid`, or None."""
    return next((r for r in runs(symbi) if r["id"] == rid), None)


def job(symbi, name):
    return next((j for j in jobs(symbi) if j["name"] == name), None)


def audit(symbi, type=None, job=None):
    """Audit events (`audit query`) in the order they were written (by id),
    in the shape of their stored rows: `at` in epoch ms, `details` as JSON
    text."""
    args = ["audit", "query", "--limit", LIST_MAX]
    if type is not None:
        args += ["--type", type]
    if job is not None:
        args += ["--job", job]
    ev = cli_json(symbi, *args)
    for e in ev:
        e["at"] = ms(e.get("time"))
        if e.get("details") is not None:
            e["details"] = json.dumps(e["details"])
    ev.sort(key=lambda e: e["id"])
    return ev


def store_check(symbi):
    """`symbi store check`: the store is consistent (SQLite: integrity_check
    and foreign_key_check), whatever the backend."""
    p = symbi.run("store", "check")
    assert p.returncode == 0, p.stdout + p.stderr


def wait_until(cond, timeout=20.0, every=0.05, what="condition"):
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def next_second(margin=1.5) -> int:
    """A whole second (epoch ms) at least `margin` seconds ahead."""
    return (int(time.time() + margin) + 1) * 1000


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def overlaps(intervals):
    """The largest number of [start, end) intervals covering one instant."""
    ev = []
    for s, e in intervals:
        ev.append((s, 1))
        ev.append((e, -1))
    ev.sort(key=lambda x: (x[0], x[1]))
    cur = best = 0
    for _, d in ev:
        cur += d
        best = max(best, cur)
    return best


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False
