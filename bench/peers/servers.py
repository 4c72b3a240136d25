"""servers.py - the peers' servers for `make bench`: Redis (for BullMQ) and
PostgreSQL (for pg-boss and symbi's PostgreSQL store), each started in a
temporary directory on a free loopback port, as an unprivileged user when run
as root (PostgreSQL refuses root), and stopped (directory removed) on exit.
The repository's own fixture for PostgreSQL (tests/tools/pg_server.*, branch
pg-store) had not landed when this was written; this is a minimal starter."""
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

USER = "nobody"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_user(args):
    """args run as USER when we are root (runuser keeps the environment)."""
    if os.getuid() != 0:
        return args
    return ["runuser", "-u", USER, "--"] + args


def _own(path: Path):
    if os.getuid() == 0:
        pw = pwd.getpwnam(USER)
        os.chown(path, pw.pw_uid, pw.pw_gid)


def _wait_port(port: int, proc, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout} s")


def pg_bindir() -> Path:
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / "initdb").exists():
            return d
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise RuntimeError("PostgreSQL is not installed (initdb not found)")


def pg_version() -> str:
    out = subprocess.run([str(pg_bindir() / "postgres"), "--version"], capture_output=True,
                         text=True).stdout
    return out.split()[2] if len(out.split()) > 2 else "?"


def redis_version() -> str:
    out = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
    for tok in out.split():
        if tok.startswith("v="):
            return tok[2:]
    return "?"


@contextlib.contextmanager
def redis():
    """Yields (port, pid): redis-server with an append-only file fsynced every
    second (BullMQ's recommended durable setup), in a temporary directory."""
    tmp = Path(tempfile.mkdtemp(prefix="symbi-bench-redis-"))
    _own(tmp)
    port = free_port()
    log = open(tmp / "redis.log", "w")
    p = subprocess.Popen(_as_user(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                   "--dir", str(tmp), "--appendonly", "yes",
                                   "--appendfsync", "everysec", "--save", "",
                                   "--maxmemory-policy", "noeviction"]),
                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_port(port, p, "redis-server")
        yield port, p.pid
    finally:
        p.terminate()
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def postgres():
    """Yields (url, pid): a fresh cluster (initdb) in a temporary directory
    with fsync on (defaults), listening on 127.0.0.1 on a free port, database
    `bench`, trust authentication on loopback."""
    bindir = pg_bindir()
    tmp = Path(tempfile.mkdtemp(prefix="symbi-bench-pg-"))
    _own(tmp)
    data = tmp / "data"
    port = free_port()
    subprocess.run(_as_user([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U",
                             "bench", "-E", "UTF8", "--no-instructions"]),
                   check=True, capture_output=True, cwd=tmp)
    with open(data / "postgresql.conf", "a") as f:
        f.write(f"listen_addresses = '127.0.0.1'\nport = {port}\n"
                f"unix_socket_directories = '{tmp}'\nmax_connections = 200\n")
    log = open(tmp / "pg.log", "w")
    p = subprocess.Popen(_as_user([str(bindir / "postgres"), "-D", str(data)]), stdout=log,
                         stderr=subprocess.STDOUT, cwd=tmp, start_new_session=True)
    try:
        _wait_port(port, p, "postgres")
        deadline = time.monotonic() + 60
        while True:
            r = subprocess.run([str(bindir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U",
                                "bench", "-d", "postgres", "-qAtc", "CREATE DATABASE bench"],
                               capture_output=True, text=True)
            if r.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        yield f"postgres://bench@127.0.0.1:{port}/bench", p.pid
    finally:
        p.terminate()
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def pss_mib(pid: int) -> float:
    """Proportional set size of pid and its descendants, MiB (shared pages
    split between the processes that map them: a multi-process server such as
    PostgreSQL is counted once)."""
    total = 0
    for p in [pid] + _descendants(pid):
        try:
            for line in open(f"/proc/{p}/smaps_rollup"):
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def _descendants(pid: int):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            kids = open(f"/proc/{p}/task/{p}/children").read().split()
        except OSError:
            kids = []
        for k in kids:
            out.append(int(k))
            todo.append(int(k))
    return out
