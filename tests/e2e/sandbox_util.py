"""Helpers of the sandbox tests (SPEC §6.5): root and bubblewrap checks with
skips that say why, scratch directories outside /tmp (a sandbox's /tmp is
private), and the processes of a group still alive."""
import os
import shutil
import subprocess
import tempfile

import pytest

NOBODY = 65534
# a uid of its own for the fork bombs (no passwd entry needed: its group is
# the same number): RLIMIT_NPROC counts every process of the user on the
# host, and other programs run as nobody
BOMB_UID = 61999
# RLIMIT_NPROC counts every process of a uid: the hostile-agent file's bomb
# has a uid of its own, as the e2e files run in parallel (pytest-xdist)
HOSTILE_BOMB_UID = 61998


def need_root():
    if os.geteuid() != 0:
        pytest.skip("needs root: switching users and RLIMIT_NPROC tests run as root")


def need_bwrap():
    """Skips when bwrap is missing or the kernel refuses its namespaces."""
    need_root()
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        pytest.skip("bwrap is not installed (mk/packages.txt installs bubblewrap)")
    p = subprocess.run([bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc",
                        "--unshare-uts", "--ro-bind", "/", "/", "--proc", "/proc", "--",
                        "/bin/true"], capture_output=True, text=True, timeout=20)
    if p.returncode != 0:
        pytest.skip(f"the kernel refuses bwrap's namespaces: {p.stderr.strip()}")
    return bwrap


@pytest.fixture
def scratch():
    """A directory under /var/tmp (not /tmp, which a sandbox replaces),
    readable and writable by everyone (agents run as nobody)."""
    d = tempfile.mkdtemp(prefix="symbi-sbx-", dir="/var/tmp")
    os.chmod(d, 0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def group_alive(pgid: int):
    """The pids of processes still in process group pgid."""
    alive = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(name))
    return alive


def count_uid(uid: int):
    """Live processes (not threads, not zombies) whose real uid is uid."""
    n = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status") as f:
                status = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if int(status.get("Uid", "-1 ").split()[0]) == uid and \
                not status.get("State", "").strip().startswith("Z"):
            n += 1
    return n


def with_marker(marker: str):
    """The pids whose command line holds marker (the test's own excluded)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{name}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmd and state != "Z":
            found.append(int(name))
    return found
