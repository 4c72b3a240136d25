"""Disk full during writes (issue 20 #2), beyond test_sched_disk_full.py
(which fills the disk under the recorder and checks the ledger, health and
back-off): here every kind of write meets the full disk - the API's create,
update, pause and manual run, the CLI's `cron add`, a SIGHUP reload - while
jobs fire. Each is refused with a clear error naming the failure (no 2xx
for a write that was not made), the daemon keeps running, says in its log
what failed, no record committed before the disk filled is lost or
changed, and once space returns the same writes succeed. Needs root for the
tmpfs (skips otherwise, saying why)."""
import json
import os
import signal
import subprocess
import time

import ledger
from apiclient import Api
from conftest import Symbi
from report import figures
from sched_util import wait_until, write_every_second_jobs
from test_sched_disk_full import Up, mount_tmpfs, own_dir  # noqa: F401 (fixture)

WRITES = [("POST", "/api/v1/schedule", {"name": "new", "agent_id": "nop", "cron_expr": "@daily"}),
          ("PUT", "/api/v1/schedule/w00", {"cron_expr": "*/2 * * * * *"}),
          ("POST", "/api/v1/schedule/w01/pause", None),
          ("POST", "/api/v1/schedule/w02/run", {"input": "x"}),
          ("POST", "/api/v1/schedules", {"name": "up", "cron_expression": "@daily",
                                         "agent_name": "nop"})]


def api_writes(port):
    out = []
    for method, path, body in WRITES:
        st, b = Api(port, timeout=60).call(method, path, body)
        out.append((method, path, st, b))
    return out


def test_writes_on_a_full_disk(own_dir):  # noqa: F811
    data = own_dir / "tmpfs"
    mount_tmpfs(data)
    ups = []
    try:
        sym = Symbi(data)
        write_every_second_jobs(data, (), 5, prefix="w")
        up = Up(sym, own_dir / "daemon.log")
        ups.append(up)
        up.wait_for("scheduler started")
        port = up.port()
        time.sleep(3)
        committed = ledger.dump(sym)
        subprocess.run(["dd", "if=/dev/zero", f"of={data / 'FILLER'}", "bs=64k"],
                       capture_output=True, timeout=60)
        mark = len(up.text())
        time.sleep(1.5)
        full = api_writes(port)
        cli = sym.run("cron", "add", "--json", json.dumps({"name": "cli", "agent_id": "nop",
                                                           "cron_expr": "@daily"}), timeout=120)
        up.p.send_signal(signal.SIGHUP)
        time.sleep(2)
        alive = up.p.poll() is None
        log_full = up.text()[mark:]
        os.unlink(data / "FILLER")
        wait_until(lambda: Api(port).get("/api/v1/health/scheduler")[0] == 200, timeout=30,
                   what="health to recover")
        after = api_writes(port)
        time.sleep(1)
        assert up.stop() == 0
        ups.pop()
        final = ledger.dump(sym)
    finally:
        for u in ups:
            try:
                os.killpg(u.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            u.p.wait()
    integrity, fk = ledger.sqlite_integrity(data / "symbi.db")
    subprocess.run(["umount", "-l", str(data)], capture_output=True)

    lost = []
    for name, (_, runs) in committed.items():
        now = {r["id"]: r for r in final[name][1]}
        for r in runs:
            if r["status"] not in ("queued", "running") and now.get(r["id"]) != r:
                lost.append((name, r["id"], r["status"], now.get(r["id"], {}).get("status")))
    rep = ledger.check({k: v for k, v in final.items() if k.startswith("w") and k != "w00"})
    figures("disk_full_writes", api_while_full=[(m, p, s) for m, p, s, _ in full],
            api_after=[(m, p, s) for m, p, s, _ in after], cli_exit=cli.returncode,
            committed_records=sum(len(r) for _, r in committed.values()), lost=len(lost),
            daemon_alive=alive, integrity=integrity, **rep.figures())
    assert alive
    for m, p, st, body in full:
        assert st >= 500 and isinstance(body, dict) and body.get("error"), (m, p, st, body)
        assert "full" in body["error"] or "disk" in body["error"], body
    assert cli.returncode != 0 and ("full" in cli.stderr or "disk" in cli.stderr), cli.stderr
    assert "database or disk is full" in log_full, log_full[-2000:]
    assert [s for _, _, s, _ in after] == [201, 200, 200, 202, 201], after
    names = set(final)
    assert {"new", "up"} <= names and "cli" not in names
    assert not lost, lost[:10]
    assert rep.ok, rep.explain()
    assert integrity == "ok" and fk == []
