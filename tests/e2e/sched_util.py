"""Helpers for the scheduler's end-to-end tests: writing agents files and a
symbi.toml into a test's data directory, starting `symbi up` there, and
reading the store (SQLite, read-only) to check what the daemon recorded."""
import sqlite3
import time
from pathlib import Path


def write_agents(data_dir: Path, text: str, name: str = "jobs.symbi") -> Path:
    d = data_dir / "agents"
    d.mkdir(exist_ok=True)
    (d / name).write_text(text)
    return d


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
    c = sqlite3.connect(f"file:{symbi.data_dir / 'symbi.db'}?mode=ro", uri=True, timeout=10)
    c.row_factory = sqlite3.Row
    return c


def rows(symbi, sql, *args):
    c = db(symbi)
    try:
        return [dict(r) for r in c.execute(sql, args)]
    finally:
        c.close()


def runs(symbi, job=None):
    if job is None:
        return rows(symbi, "SELECT * FROM runs ORDER BY scheduled_at, attempt")
    return rows(symbi, "SELECT * FROM runs WHERE job_name = ? ORDER BY scheduled_at, attempt", job)


def job(symbi, name):
    r = rows(symbi, "SELECT * FROM jobs WHERE name = ?", name)
    return r[0] if r else None


def wait_until(cond, timeout=20.0, every=0.05, what="condition"):
    deadline = time.monotonic() + timeout
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
