"""`make install` (binary, systemd unit, man page, completions) into a
DESTDIR; the unit passes `systemd-analyze verify` where systemd is
installed; `man -l` renders symbi(1); the bash completion completes."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

BUILD = os.environ.get("SYMBI_BUILD", str(ROOT / "build"))


@pytest.fixture(scope="module")
def dest(tmp_path_factory):
    d = tmp_path_factory.mktemp("dest")
    p = subprocess.run(["make", "-s", "install", f"BUILD={BUILD}", f"DESTDIR={d}", "PREFIX=/usr"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return d


def test_install_layout(dest):
    for f in ("usr/bin/symbi", "usr/lib/systemd/system/symbi.service",
              "usr/share/man/man1/symbi.1", "usr/share/bash-completion/completions/symbi",
              "usr/share/zsh/site-functions/_symbi"):
        assert (dest / f).is_file(), f
    assert os.access(dest / "usr/bin/symbi", os.X_OK)
    unit = (dest / "usr/lib/systemd/system/symbi.service").read_text()
    assert "ExecStart=/usr/bin/symbi " in unit and "Type=notify" in unit
    for key in ("DynamicUser=yes", "StateDirectory=symbi", "ProtectSystem=strict",
                "NoNewPrivileges=yes", "WatchdogSec="):
        assert key in unit, key


def test_man_page_renders(dest):
    p = subprocess.run(["man", "-l", dest / "usr/share/man/man1/symbi.1"], capture_output=True,
                       text=True, env={**os.environ, "MANWIDTH": "80", "MANPAGER": "cat"})
    assert p.returncode == 0, p.stderr
    for text in ("SYMBI(1)", "cron why", "cron backfill", "store prune", "NOTIFY_SOCKET"):
        assert text in p.stdout, text


def test_systemd_analyze_verify(dest, tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (no systemd here): unit not verified")
    unit = (dest / "usr/lib/systemd/system/symbi.service").read_text()
    # verify checks that ExecStart exists and Documentation= (man:symbi(1)) resolves
    unit = unit.replace("/usr/bin/symbi", str(dest / "usr/bin/symbi"))
    (tmp_path / "symbi.service").write_text(unit)
    p = subprocess.run(["systemd-analyze", "verify", tmp_path / "symbi.service"],
                       capture_output=True, text=True,
                       env={**os.environ, "MANPATH": str(dest / "usr/share/man")})
    assert p.returncode == 0, p.stdout + p.stderr
    assert "symbi.service" not in p.stderr, p.stderr


def complete(dest, *words):
    script = (f"source {dest}/usr/share/bash-completion/completions/symbi\n"
              f"COMP_WORDS=({' '.join(words)} ''); COMP_CWORD={len(words)}; _symbi\n"
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    p = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout.split()


def test_bash_completion(dest):
    assert {"up", "cron", "store", "version"} <= set(complete(dest, "symbi"))
    assert {"why", "describe", "backfill", "herd"} <= set(complete(dest, "symbi", "cron"))
    assert complete(dest, "symbi", "store") == ["check", "prune", "--dry-run"]


def help_commands(*words):
    """The command names a `symbi ... --help` lists (its table is the truth)."""
    p = subprocess.run([f"{BUILD}/symbi", *words, "--help"], capture_output=True, text=True)
    names = re.findall(r"^  ([a-z][a-z-]*) ", p.stdout + p.stderr, re.M)
    assert names, p.stdout + p.stderr
    return [n for n in names if n != "help"]


def test_completions_and_man_page_know_every_command(dest):
    """A command added to the CLI's tables and forgotten in the completions or
    the manual fails here."""
    top, cron = help_commands(), help_commands("cron")
    assert set(top) <= set(complete(dest, "symbi")), set(top) - set(complete(dest, "symbi"))
    got = set(complete(dest, "symbi", "cron"))
    assert set(cron) <= got, set(cron) - got
    zsh = (dest / "usr/share/zsh/site-functions/_symbi").read_text()
    for name in top + cron:
        assert f"'{name}:" in zsh, name
    page = subprocess.run(["man", "-l", dest / "usr/share/man/man1/symbi.1"], capture_output=True,
                          text=True, env={**os.environ, "MANWIDTH": "200", "MANPAGER": "cat"})
    text = re.sub(r".\x08", "", page.stdout)
    for name in top:
        assert re.search(rf"^\s+{re.escape(name)}\b", text, re.M), f"man page: {name}"
    for name in cron:
        assert re.search(rf"\b{re.escape(name)}\b", text), f"man page: cron {name}"


def test_zsh_completion_parses(dest):
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed: the zsh completion is not parsed")
    p = subprocess.run(["zsh", "-n", dest / "usr/share/zsh/site-functions/_symbi"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
