"""The executable's front door: version, help, usage errors, exit codes."""
import re
import signal

import pytest


def test_version(symbi):
    p = symbi.run("version")
    assert p.returncode == 0
    assert re.fullmatch(r"symbi \d+\.\d+\.\d+\n", p.stdout)
    assert symbi.run("--version").stdout == p.stdout


def test_help_lists_commands(symbi):
    p = symbi.run("--help")
    assert p.returncode == 0
    for cmd in ("up", "cron", "version"):
        assert re.search(rf"^\s+{cmd}\s", p.stdout, re.M), cmd
    assert p.stdout.count("usage:") == 1, p.stdout


@pytest.mark.parametrize("cmd", ["up", "version", "cron", "store"])
def test_every_command_has_help(symbi, cmd):
    p = symbi.run(cmd, "--help")
    assert p.returncode == 0
    assert "usage:" in p.stdout


def test_unknown_command_is_a_usage_error(symbi):
    p = symbi.run("frobnicate")
    assert p.returncode == 2
    assert "unknown command 'frobnicate'" in p.stderr


def test_no_command_is_a_usage_error(symbi):
    p = symbi.run()
    assert p.returncode == 2
    assert p.stderr.count("usage:") == 1, p.stderr


def test_unknown_global_option(symbi):
    p = symbi.run("--bogus", "version")
    assert p.returncode == 2
    assert "unknown option '--bogus'" in p.stderr


def test_up_stops_cleanly_on_signals(symbi, daemons, tmp_path):
    for sig in (signal.SIGINT, signal.SIGTERM):
        d = symbi.start("--data-dir", tmp_path / "data", "up", "--listen", "127.0.0.1:0")
        daemons.append(d)
        d.wait_for("symbi up")
        d.signal(sig)
        assert d.wait(timeout=30) == 0
