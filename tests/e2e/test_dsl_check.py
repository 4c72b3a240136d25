"""`symbi dsl check`: the examples and the spec's DSL forms pass, bad files
fail with `file:line:col: error: message` diagnostics, --format json shows the
values as written."""
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples" / "agents").glob("*.symbi"))


def test_every_example_passes(symbi):
    assert EXAMPLES, "no examples found"
    p = symbi.run("dsl", "check", *EXAMPLES)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    for f in EXAMPLES:
        assert re.search(rf"^{re.escape(str(f))}: ok \(\d+ agents?, \d+ schedules?\)$", p.stdout,
                         re.M), p.stdout


def test_spec_forms(symbi, tmp_path):
    f = tmp_path / "spec.symbi"
    f.write_text('''
schedule {                       # the guide's form: name inside
  name: "daily-report"
  agent: "reporter-agent"
  cron: "0 9 * * *"
  ...
}
schedule daily_report {          # the upstream Symbiont form: name after the keyword
  cron: "0 9 * * *", agent: "reporter-agent"
}
agent heartbeat_monitor {
  model: "claude-sonnet-4.5"
  system_prompt: """
  You are a system monitoring agent. ...
  """
}
''')
    p = symbi.run("dsl", "check", f)
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"{f}: ok (1 agent, 2 schedules)\n"
    assert p.stderr == f"{f}:6:3: warning: `...` placeholder ignored\n"


def test_json_keeps_values_as_written(symbi):
    f = ROOT / "examples" / "agents" / "reporting.symbi"
    p = symbi.run("dsl", "check", "--format", "json", f)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["ok"] is True and doc["diagnostics"] == []
    jobs = {j["name"]: j for j in doc["schedules"]}
    daily = jobs["daily-report"]
    assert daily["webhook_headers"]["Authorization"] == "Bearer ${METRICS_API_KEY}"
    assert daily["cron_expr"] == "0 9 * * *"
    assert daily["timezone"] == "America/New_York"
    assert daily["delivery"] == ["stdout", "log_file", "webhook"]
    assert daily["jitter"] == "30s"
    assert daily["source"] == f"dsl:{f}"
    assert jobs["daily_report"]["agent_id"] == "reporter-agent"
    agents = {a["name"]: a for a in doc["agents"]}
    assert agents["reporter"]["runner"] == "command"
    assert agents["reporter-agent"]["exec"][0] == "date"


def test_bad_file_reports_every_error(symbi, tmp_path):
    f = tmp_path / "ops.symbi"
    f.write_text('schedule {\n  name: "x"\n  agent: "a"\n  crn: "0 9 * * *"\n}\n'
                 'schedule y { agent: a cron: "@daily" max_concurrent: 0 }\n')
    good = tmp_path / "good.symbi"
    good.write_text('schedule z { agent: a cron: "@daily" }\n')
    p = symbi.run("dsl", "check", good, f)
    assert p.returncode == 1
    assert p.stdout == f"{good}: ok (0 agents, 1 schedule)\n"
    assert f"{f}:4:3: error: unknown key `crn` in schedule; did you mean `cron`?" in p.stderr
    assert f"{f}:6:54: error: max_concurrent: must be between 1 and 10000 (got 0)" in p.stderr
    assert f"{f}: 2 errors" in p.stderr


def test_json_of_bad_file(symbi, tmp_path):
    f = tmp_path / "bad.symbi"
    f.write_text('schedule s { agent: a cron: "@daily" jitter: "soon" }\n')
    p = symbi.run("dsl", "check", "--format", "json", f)
    assert p.returncode == 1
    doc = json.loads(p.stdout)
    assert doc["ok"] is False and doc["schedules"] == []
    d = doc["diagnostics"][0]
    assert (d["line"], d["col"], d["severity"]) == (1, 46, "error")
    assert d["message"].startswith("jitter: invalid duration")


def test_unreadable_and_too_large(symbi, tmp_path):
    p = symbi.run("dsl", "check", tmp_path / "missing.symbi")
    assert p.returncode == 1
    assert "missing.symbi: error: cannot read: No such file or directory" in p.stderr
    big = tmp_path / "big.symbi"
    big.write_bytes(b"#" * (1024 * 1024 + 1))
    p = symbi.run("dsl", "check", big)
    assert p.returncode == 1
    assert "file too large (1048577 bytes; the limit is 1048576)" in p.stderr


def test_binary_input_is_refused(symbi, tmp_path):
    f = tmp_path / "bin.symbi"
    f.write_bytes(b'schedule s {\n  input: "\xff\xfe"\n}\n')
    p = symbi.run("dsl", "check", f)
    assert p.returncode == 1
    assert f"{f}:2:11: error: invalid UTF-8 byte 0xff" in p.stderr


def test_usage(symbi):
    p = symbi.run("dsl", "check")
    assert p.returncode == 2
    assert "usage: symbi dsl check" in p.stderr
    p = symbi.run("dsl", "check", "--format", "yaml", "x.symbi")
    assert p.returncode == 2
    p = symbi.run("dsl", "--help")
    assert p.returncode == 0 and "usage: symbi dsl check" in p.stdout
    p = symbi.run("dsl", "check", "--help")
    assert p.returncode == 0 and "usage: symbi dsl check" in p.stdout


def test_every_error_of_one_block(symbi, tmp_path):
    # a bad session_mode (found while reading the entries) used to hide the
    # out-of-range cron and the bad max_concurrent (found by the validator)
    f = tmp_path / "multi.symbi"
    f.write_text('schedule s {\n  agent: a\n  cron: "0 9 * * 8"\n  session_mode: "sticky"\n'
                 '  max_concurrent: 0\n}\n')
    p = symbi.run("dsl", "check", f)
    assert p.returncode == 1
    assert f"{f}:4:17: error: " in p.stderr and "session_mode" in p.stderr
    assert f"{f}:3:9: error: cron: day-of-week value 8 out of range 0-7" in p.stderr
    assert f"{f}:5:19: error: max_concurrent: must be between 1 and 10000 (got 0)" in p.stderr
    assert f"{f}: 3 errors" in p.stderr
