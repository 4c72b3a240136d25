#!/usr/bin/env python3
"""pg_server.py - a throwaway PostgreSQL server for tests: initdb in a
temporary directory, started on a free loopback port as an unprivileged
user, removed afterwards. Usable from pytest and from the shell:

    from pg_server import PgServer           # pytest / Python
    with PgServer() as pg: pg.url, pg.fresh_url()

    tests/tools/pg_server.py start           # prints the URL, then the directory
    tests/tools/pg_server.py stop DIR
    tests/tools/pg_server.py run -- CMD ...  # CMD with SYMBI_TEST_STORE set
    tests/tools/pg_server.py check           # exit 0 when PostgreSQL is installed
"""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid

USER = "symbi"  # the database superuser the tests connect as (trust, loopback only)


def _bin_dir():
    """The newest installed PostgreSQL's bin directory (Debian keeps them
    in /usr/lib/postgresql/<version>/bin), else initdb's on the PATH."""
    def version(path):
        try:
            return int(path.split("/")[-3])
        except ValueError:
            return 0
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    if initdb:
        return os.path.dirname(os.path.realpath(initdb))
    raise RuntimeError("PostgreSQL is not installed (no initdb; see mk/packages.txt)")


def available():
    try:
        _bin_dir()
        return True
    except RuntimeError:
        return False


def _run_as():
    """postgres refuses to run as root: as root, run it as the `postgres`
    system user (Debian's package creates it), else `nobody`."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and no unprivileged user to run postgres as")


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self, base=None):
        self.base = base
        self.dir = None
        self.port = None
        self.url = None
        self._user = None

    def _cmd(self, args, check=True, timeout=120):
        pw = self._user

        def drop():
            if pw is not None:
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)
        env = dict(os.environ, LC_ALL="C", LANG="C", TZ="UTC")
        return subprocess.run(args, preexec_fn=drop, env=env, check=check, timeout=timeout,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              cwd=self.dir)

    @classmethod
    def attach(cls, directory, url):
        """The server another process started (its directory and URL), to
        stop and start it in place."""
        pg = cls()
        pg.dir = directory
        pg.url = url
        pg.port = int(url.split("@", 1)[-1].split("/", 1)[0].rsplit(":", 1)[1])
        pg._user = _run_as()
        return pg

    def start(self):
        bindir = _bin_dir()
        self._user = _run_as()
        self.dir = tempfile.mkdtemp(prefix="symbi-pg-", dir=self.base)
        os.chmod(self.dir, 0o700)
        if self._user is not None:
            os.chown(self.dir, self._user.pw_uid, self._user.pw_gid)
        data = os.path.join(self.dir, "data")
        r = self._cmd([os.path.join(bindir, "initdb"), "-D", data, "-U", USER, "--auth=trust",
                       "--no-sync", "-E", "UTF8", "--locale=C"], check=False)
        if r.returncode != 0:
            self.stop()
            raise RuntimeError("initdb failed: " + r.stdout[-2000:])
        # for tests: no fsync (the data is thrown away), sockets in the
        # temporary directory, loopback TCP only
        opts = ("-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=300 -c shared_buffers=32MB -c listen_addresses=127.0.0.1 "
                f"-c unix_socket_directories={self.dir}")
        for _ in range(5):
            self.port = _free_port()
            r = self._cmd([os.path.join(bindir, "pg_ctl"), "-D", data, "-l",
                           os.path.join(self.dir, "log"), "-w", "-t", "60", "-o",
                           f"{opts} -p {self.port}", "start"], check=False)
            if r.returncode == 0:
                break
        else:
            log = self.log()
            self.stop()
            raise RuntimeError("postgres did not start: " + r.stdout[-1000:] + log[-2000:])
        self.url = f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"
        return self

    def log(self):
        try:
            with open(os.path.join(self.dir, "log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def psql(self, sql, url=None):
        """Runs sql with psql (as the test user over TCP); its output."""
        return subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                               url or self.url, "-c", sql], check=True, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout

    def fresh_url(self):
        """The URL of a new, empty schema (one per test: quicker than a database)."""
        name = "t_" + uuid.uuid4().hex[:16]
        self.psql(f"CREATE SCHEMA {name}")
        return f"{self.url}?options=-csearch_path%3D{name}"

    def pg_ctl(self, action, extra=()):
        """stop / start / restart the server in place (same data, same port)."""
        data = os.path.join(self.dir, "data")
        args = [os.path.join(_bin_dir(), "pg_ctl"), "-D", data, "-l",
                os.path.join(self.dir, "log"), "-w", "-t", "60", *extra, action]
        if action in ("start", "restart"):
            args[-1:-1] = ["-o", "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                           "-c max_connections=300 -c listen_addresses=127.0.0.1 "
                           f"-c unix_socket_directories={self.dir} -p {self.port}"]
        return self._cmd(args, check=False)

    def stop(self):
        if self.dir is None:
            return
        data = os.path.join(self.dir, "data")
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            self.pg_ctl("stop", ["-m", "immediate"])
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv):
    if argv[:1] == ["check"]:
        return 0 if available() else 1
    if len(argv) >= 1 and argv[0] == "start":
        pg = PgServer().start()
        print(pg.url)
        print(pg.dir)
        return 0
    if len(argv) == 2 and argv[0] == "stop":
        pg = PgServer()
        pg.dir = argv[1]
        pg._user = _run_as()
        pg.stop()
        return 0
    if len(argv) >= 2 and argv[0] == "run":
        cmd = argv[2:] if argv[1] == "--" else argv[1:]
        with PgServer() as pg:
            env = dict(os.environ, SYMBI_TEST_PG=pg.url, SYMBI_TEST_STORE=pg.url,
                       SYMBI_TEST_PG_DIR=pg.dir)
            return subprocess.call(cmd, env=env)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
