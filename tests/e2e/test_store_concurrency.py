"""Two processes writing the store at once (SPEC §13): one CLI adding and
pausing jobs one by one, another re-applying a 200-schedule file (one long
transaction each time), in parallel loops. No command may fail with
"database is locked" and no write may be lost."""
import json
import threading
from collections import Counter

from sched_util import audit, jobs, store_check

N_SINGLE = 15  # jobs writer A adds and pauses, one command each
N_FILE = 200   # schedules in writer B's file
ROUNDS = 6     # times writer B re-applies it, with a new minute each time


def file_text(minute):
    return "".join(f'schedule {{ name: "bulk-{i}" agent: "a" cron: "{minute} * * * *" }}\n'
                   for i in range(N_FILE))


def check(p, args, failures):
    if p.returncode != 0 or "locked" in p.stderr or "busy" in p.stderr:
        failures.append((args, p.returncode, p.stderr))


def single_writer(symbi, failures):
    for i in range(N_SINGLE):
        job = {"name": f"single-{i}", "agent_id": "a", "cron_expr": "*/5 * * * *"}
        for args in (("cron", "add", "--json", json.dumps(job)), ("cron", "pause", f"single-{i}")):
            check(symbi.run(*args, timeout=300), args, failures)


def file_writer(symbi, failures):
    for r in range(ROUNDS):
        f = symbi.data_dir / f"bulk-{r}.symbi"
        f.write_text(file_text(r))
        args = ("cron", "add", "--file", f)
        check(symbi.run(*args, timeout=300), args, failures)


def test_two_writers_never_locked_never_lost(symbi):
    symbi.run("cron", "list", check=True)  # create the store first
    failures = []
    threads = [threading.Thread(target=single_writer, args=(symbi, failures)),
               threading.Thread(target=file_writer, args=(symbi, failures))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    got = {j["name"]: f"{j['status']} {j['cron_expr']}" for j in jobs(symbi)}
    assert got == {**{f"single-{i}": "paused */5 * * * *" for i in range(N_SINGLE)},
                   **{f"bulk-{i}": f"active {ROUNDS - 1} * * * *" for i in range(N_FILE)}}
    counts = Counter(e["type"] for e in audit(symbi))
    assert counts == {"CronJobCreated": N_SINGLE + N_FILE, "CronJobPaused": N_SINGLE,
                      "CronJobUpdated": N_FILE * (ROUNDS - 1)}
    store_check(symbi)
