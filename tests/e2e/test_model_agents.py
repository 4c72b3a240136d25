"""Model agents end to end (issue 12, SPEC §6.2): the real daemon and `symbi run`
against a scripted OpenAI-compatible / Anthropic-compatible server on
127.0.0.1 (llm_server.py) that records every request: exact request bodies,
declared tools, retries, timeouts, bounded answers, and the API key kept out
of the store, the logs and the API."""
import json
import re
import signal
from pathlib import Path

import jsonschema
import pytest
import yaml

from apiclient import Api, start_api, wait_until
from llm_server import (LlmServer, anthropic_text, anthropic_tool_use, openai_text,
                        openai_tool_call, reply)
from sched_util import audit as audit_events, runs

KEY = "sk-test-SECRET-9f8e7d6c5b4a"
FINAL = ("running", "queued", "pending_approval")


@pytest.fixture
def llm():
    with LlmServer() as s:
        yield s


def agent_block(name, llm, api="openai", extra=""):
    path = "/v1" if api == "openai" else ""
    return (f'agent {name} {{\n  model: "test-model"\n  api: "{api}"\n'
            f'  endpoint: "{llm.url(path)}"\n  system_prompt: "You are terse."\n{extra}}}\n')


def daemon(symbi, daemons, tmp_path, text, env=None):
    agents = tmp_path / "agents"
    agents.mkdir(exist_ok=True)
    (agents / "m.symbi").write_text(text)
    e = {"SYMBI_LLM_API_KEY": KEY}
    e.update(env or {})
    d, port = start_api(symbi, daemons, "--agents", agents, env=e)
    return d, Api(port)


def add_job(api, name, agent, **kw):
    body = {"name": name, "agent_id": agent, "cron_expr": "0 0 1 1 *"}
    body.update(kw)
    st, b = api.post("/api/v1/schedule", body)
    assert st == 201, b


def run_job(api, job, input=None, timeout=30):
    st, run = api.post(f"/api/v1/schedule/{job}/run", {"input": input} if input else {})
    assert st == 202, run
    return wait_until(lambda: (lambda r: r if r["status"] not in FINAL else None)(
        api.get(f"/api/v1/runs/{run['id']}")[1]), timeout=timeout)


def check_run_schema(run):
    """The run answer matches docs/openapi.yaml's Run (tool_calls included)."""
    doc = yaml.safe_load((Path(__file__).resolve().parents[2] / "docs/openapi.yaml").read_text())
    schema = {"$ref": "#/components/schemas/Run"}
    resolver = jsonschema.RefResolver.from_schema(doc)
    jsonschema.Draft202012Validator(schema, resolver=resolver).validate(run)


def user_turn(text):
    return {"role": "user", "content": text}


# ---- 1. request bodies ----

def test_symbi_run_openai_body_and_headers(symbi, llm, tmp_path):
    llm.script = [reply(openai_text("hello from the model"))]
    f = tmp_path / "m.symbi"
    f.write_text(agent_block("m1", llm, extra="  temperature: 0.2\n  max_tokens: 300\n"))
    p = symbi.run("run", "m1", "--file", f, "--input", "test", env={"SYMBI_LLM_API_KEY": KEY})
    assert p.returncode == 0, p.stderr
    assert p.stdout == "hello from the model\n"
    assert "tokens prompt=11 completion=7" in p.stderr
    (r,) = llm.requests
    assert r.path == "/v1/chat/completions"
    assert r.headers["authorization"] == f"Bearer {KEY}"
    assert r.headers["content-type"] == "application/json"
    assert r.json == {"model": "test-model", "temperature": 0.2, "max_tokens": 300,
                      "messages": [{"role": "system", "content": "You are terse."},
                                   user_turn("test")]}


def test_symbi_run_anthropic_body_and_headers(symbi, llm, tmp_path):
    llm.script = [reply(anthropic_text("bonjour"))]
    f = tmp_path / "m.symbi"
    f.write_text(agent_block("m2", llm, api="anthropic", extra='  api_key_env: "MY_KEY"\n'))
    p = symbi.run("run", "m2", "--file", f, "--input", "test", env={"MY_KEY": KEY})
    assert p.returncode == 0, p.stderr
    assert p.stdout == "bonjour\n"
    (r,) = llm.requests
    assert r.path == "/v1/messages"
    assert r.headers["x-api-key"] == KEY and "authorization" not in r.headers
    assert r.headers["anthropic-version"] == "2023-06-01"
    assert r.json == {"model": "test-model", "max_tokens": 4096, "system": "You are terse.",
                      "messages": [user_turn("test")]}


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_three_runs_fully_ephemeral_exact_bodies(symbi, daemons, llm, tmp_path, api):
    text = openai_text if api == "openai" else anthropic_text
    llm.script = [reply(text(f"answer {i}", 100 + i, 10 + i)) for i in range(3)]
    _, a = daemon(symbi, daemons, tmp_path, agent_block("m", llm, api=api))
    add_job(a, "j", "m", session_mode="fully_ephemeral")
    done = [run_job(a, "j") for _ in range(3)]
    assert [d["status"] for d in done] == ["succeeded"] * 3, done
    assert [d["output"] for d in done] == ["answer 0", "answer 1", "answer 2"]
    assert [(d["prompt_tokens"], d["completion_tokens"]) for d in done] == [
        (100, 10), (101, 11), (102, 12)]
    for d, r in zip(done, llm.requests):
        sched = d["scheduled_at"]
        turns = [user_turn(f"Scheduled run of j at {sched}")]
        if api == "openai":
            want = {"model": "test-model",
                    "messages": [{"role": "system", "content": "You are terse."}] + turns}
        else:
            want = {"model": "test-model", "max_tokens": 4096, "system": "You are terse.",
                    "messages": turns}
        assert r.json == want
    st, metrics = a.get("/metrics")
    assert f'symbiont_cron_model_tokens_total{{job_name="j",kind="prompt"}} 303' in metrics
    assert f'symbiont_cron_model_tokens_total{{job_name="j",kind="completion"}} 33' in metrics


# ---- 2. tools ----

TOOLS = """  tools: {{
    restart_service: {{
      description: "Restart one systemd service"
      command: "cat > {stdin}; echo nginx restarted"
      parameters: {{ type: "object", properties: {{ name: {{ type: "string" }} }}, required: ["name"] }}
    }}
  }}
  max_tool_calls: 3
"""


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_tool_round_trip(symbi, daemons, llm, tmp_path, api):
    stdin = tmp_path / "stdin.json"
    if api == "openai":
        llm.script = [reply(openai_tool_call("restart_service", {"name": "nginx"})),
                      reply(openai_text("nginx is back"))]
    else:
        llm.script = [reply(anthropic_tool_use("restart_service", {"name": "nginx"})),
                      reply(anthropic_text("nginx is back"))]
    _, a = daemon(symbi, daemons, tmp_path,
                  agent_block("ops", llm, api=api, extra=TOOLS.format(stdin=stdin)))
    add_job(a, "fix", "ops")
    done = run_job(a, "fix", input="nginx is down")
    assert done["status"] == "succeeded", done
    assert done["output"] == "nginx is back"
    # the declared command got exactly the call's arguments on stdin
    assert stdin.read_text() == '{"name":"nginx"}'
    first, second = llm.requests
    tool_def = first.json["tools"][0]
    if api == "openai":
        assert tool_def == {"type": "function", "function": {
            "name": "restart_service", "description": "Restart one systemd service",
            "parameters": {"type": "object", "properties": {"name": {"type": "string"}},
                           "required": ["name"]}}}
        assert second.json["messages"][-2]["tool_calls"][0]["function"] == {
            "name": "restart_service", "arguments": '{"name":"nginx"}'}
        assert second.json["messages"][-1] == {"role": "tool", "tool_call_id": "call_1",
                                               "content": "nginx restarted\n"}
    else:
        assert tool_def["name"] == "restart_service" and "input_schema" in tool_def
        assert second.json["messages"][-2]["role"] == "assistant"
        assert second.json["messages"][-1] == {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "nginx restarted\n"}]}
    check_run_schema(done)
    (call,) = done["tool_calls"]
    assert call["name"] == "restart_service" and call["arguments"] == {"name": "nginx"}
    assert call["exit_code"] == 0 and call["status"] == "succeeded"
    assert call["output"] == "nginx restarted\n"
    ev = audit_events(symbi, type="AgentToolCalled")
    assert len(ev) == 1 and ev[0]["run_id"] == done["id"] and ev[0]["job_name"] == "fix"
    assert json.loads(ev[0]["details"])["arguments"] == {"name": "nginx"}
    st, audit = a.get("/api/v1/audit?type=AgentToolCalled")
    assert st == 200 and len(audit) == 1


def test_undeclared_tool_runs_nothing(symbi, daemons, llm, tmp_path):
    stdin = tmp_path / "stdin.json"
    llm.script = [reply(openai_tool_call("drop_database", {"name": "prod"})),
                  reply(openai_text("I could not do that"))]
    _, a = daemon(symbi, daemons, tmp_path,
                  agent_block("ops", llm, extra=TOOLS.format(stdin=stdin)))
    add_job(a, "fix", "ops")
    done = run_job(a, "fix", input="go")
    assert done["status"] == "succeeded" and done["output"] == "I could not do that"
    assert not stdin.exists()
    answer = llm.requests[1].json["messages"][-1]
    assert answer["role"] == "tool" and "unknown tool \"drop_database\"" in answer["content"]
    check_run_schema(done)
    (call,) = done["tool_calls"]
    assert call["status"] == "not_run" and call["exit_code"] is None


def test_tool_call_limit(symbi, daemons, llm, tmp_path):
    stdin = tmp_path / "stdin.json"
    llm.default = reply(openai_tool_call("restart_service", {"name": "nginx"}))
    _, a = daemon(symbi, daemons, tmp_path,
                  agent_block("ops", llm, extra=TOOLS.format(stdin=stdin)))
    add_job(a, "fix", "ops")
    done = run_job(a, "fix", input="go")
    assert done["status"] == "failed"
    assert "max_tool_calls (3)" in done["error_message"]
    assert [c["status"] for c in done["tool_calls"]] == ["succeeded"] * 3
    # 3 rounds ran a tool, the 4th was told the limit is reached, the 5th failed
    assert len(llm.requests) == 5
    assert "limit of 3 tool calls" in llm.requests[4].json["messages"][-1]["content"]


# ---- 4. failures ----

def test_http_500_fails_with_status(symbi, daemons, llm, tmp_path):
    llm.default = reply(status=500, body='{"error":"model exploded"}')
    _, a = daemon(symbi, daemons, tmp_path, agent_block("m", llm))
    add_job(a, "j", "m", max_retries=10)
    done = run_job(a, "j", input="x")
    assert done["status"] == "failed"
    assert "HTTP 500" in done["error_message"] and "model exploded" in done["error_message"]
    assert len(llm.requests) == 4  # one try and three retries, then the failure


def test_http_400_is_not_retried(symbi, daemons, llm, tmp_path):
    llm.default = reply(status=400, body="x" * 5000)
    _, a = daemon(symbi, daemons, tmp_path, agent_block("m", llm))
    add_job(a, "j", "m", max_retries=10)
    done = run_job(a, "j", input="x")
    assert done["status"] == "failed" and "HTTP 400" in done["error_message"]
    assert len(llm.requests) == 1
    assert len(done["error_message"]) < 1000  # a bounded excerpt


def test_429_retry_after_then_success(symbi, daemons, llm, tmp_path):
    llm.script = [reply(status=429, body="slow down", headers={"Retry-After": "1"}),
                  reply(openai_text("finally"))]
    _, a = daemon(symbi, daemons, tmp_path, agent_block("m", llm))
    add_job(a, "j", "m")
    done = run_job(a, "j", input="x")
    assert done["status"] == "succeeded" and done["output"] == "finally"
    first, second = llm.requests
    assert first.body == second.body
    assert 0.95 <= second.at - first.at < 3.0


def test_never_answers_times_out_at_max_runtime(symbi, daemons, llm, tmp_path):
    llm.default = reply(hang=True)
    _, a = daemon(symbi, daemons, tmp_path, agent_block("m", llm, extra='  timeout: "2s"\n'))
    add_job(a, "j", "m")
    done = run_job(a, "j", input="x")
    assert done["status"] == "timed_out", done
    # the executor hands the invocation what is left of the 2 s
    assert re.search(r"timed out after (2s|1\d\d\dms) \(max_runtime\)", done["error_message"])
    assert 1900 <= done["execution_time_ms"] < 4000


def test_10mib_answer_is_a_bounded_failure(symbi, daemons, llm, tmp_path):
    llm.default = reply(size=10 * 1024 * 1024)
    _, a = daemon(symbi, daemons, tmp_path, agent_block("m", llm))
    add_job(a, "j", "m")
    done = run_job(a, "j", input="x")
    assert done["status"] == "failed"
    assert "larger than 4 MiB" in done["error_message"]
    assert len(done["output"]) == 0


def test_connection_refused_is_a_clear_failure(symbi, daemons, llm, tmp_path):
    port = llm.port
    llm.stop()
    text = (f'agent m {{ model: "x" endpoint: "http://127.0.0.1:{port}/v1" }}\n')
    _, a = daemon(symbi, daemons, tmp_path, text)
    add_job(a, "j", "m")
    done = run_job(a, "j", input="x")
    assert done["status"] == "failed" and "cannot reach" in done["error_message"]


def test_api_key_never_stored_logged_or_returned(symbi, daemons, llm, tmp_path):
    # the server echoes the headers it got in an error body: still redacted
    llm.script = [lambda req: reply(status=503, body=json.dumps(req.headers)),
                  lambda req: reply(status=401, body=json.dumps(req.headers))]
    d, a = daemon(symbi, daemons, tmp_path,
                  agent_block("m", llm) + agent_block("n", llm, api="anthropic"))
    add_job(a, "j", "m")
    done = run_job(a, "j", input="x")
    assert done["status"] == "failed" and "HTTP 401" in done["error_message"]
    assert "[redacted]" in done["error_message"] and KEY not in done["error_message"]
    llm.script = [reply(anthropic_text("fine"))]
    add_job(a, "k", "n")
    assert run_job(a, "k", input="y")["status"] == "succeeded"
    assert llm.requests[-1].headers["x-api-key"] == KEY  # it was sent
    answers = [a.raw("GET", p)[2] for p in (
        f"/api/v1/runs/{done['id']}", "/api/v1/schedule/j/history", "/api/v1/audit",
        "/api/v1/schedule", "/metrics", "/api/v1/health/scheduler")]
    p = symbi.run("cron", "history", "j", "--format", "json", check=True)
    d.stop()
    secret = KEY.encode()
    for f in symbi.data_dir.rglob("*"):
        if f.is_file():
            assert secret not in f.read_bytes(), f
    for body in answers + [p.stdout.encode(), p.stderr.encode()]:
        assert secret not in body


# ---- 5. the guide's agent ----

GUIDE = '''agent heartbeat_monitor {
  model: "claude-sonnet-4.5"
  system_prompt: """
  You are a system monitoring agent. ...
  """
}
'''

SPEC_TOOLS = '''agent heartbeat_monitor {
  model: "claude-sonnet-4.5"
  api: "anthropic"
  system_prompt: """ ... """
  tools: {
    restart_service: {
      description: "Restart one systemd service"
      exec: ["/usr/local/bin/safe-restart"]
      parameters: { type: "object", properties: { name: { type: "string" } }, required: ["name"] }
    }
  }
  max_tool_calls: 8
}
'''


def test_guide_heartbeat_monitor_runs_against_the_endpoint(symbi, llm, tmp_path):
    f = tmp_path / "guide.symbi"
    f.write_text(GUIDE)
    assert symbi.run("dsl", "check", f).returncode == 0
    llm.script = [reply(openai_text("All systems nominal.\nsleep"))]
    p = symbi.run("run", "heartbeat_monitor", "--file", f,
                  env={"SYMBI_LLM_ENDPOINT": llm.url("/v1"), "SYMBI_LLM_API_KEY": KEY})
    assert p.returncode == 0, p.stderr
    assert p.stdout == "All systems nominal.\nsleep\n"
    (r,) = llm.requests
    assert r.path == "/v1/chat/completions"
    msgs = r.json["messages"]
    assert r.json["model"] == "claude-sonnet-4.5"
    assert msgs[0] == {"role": "system", "content": "You are a system monitoring agent. ..."}
    assert re.fullmatch(r"Scheduled run of heartbeat_monitor at \d{4}-\d\d-\d\dT[\d:.]+Z",
                        msgs[1]["content"]), msgs


def test_spec_tools_block_loads_and_runs_anthropic(symbi, llm, tmp_path):
    f = tmp_path / "spec.symbi"
    f.write_text(SPEC_TOOLS)
    p = symbi.run("dsl", "check", "--format", "json", f)
    assert p.returncode == 0, p.stderr
    llm.script = [reply(anthropic_text("ok"))]
    p = symbi.run("run", "heartbeat_monitor", "--file", f, "--input", "check",
                  env={"SYMBI_LLM_ENDPOINT": llm.url(""), "SYMBI_LLM_API_KEY": KEY})
    assert p.returncode == 0, p.stderr
    (r,) = llm.requests
    assert r.path == "/v1/messages" and r.json["system"] == "... "  # as the DSL reads it
    assert r.json["tools"] == [{"name": "restart_service",
                                "description": "Restart one systemd service",
                                "input_schema": {"type": "object",
                                                 "properties": {"name": {"type": "string"}},
                                                 "required": ["name"]}}]


def test_no_endpoint_is_a_clear_failure(symbi, tmp_path):
    f = tmp_path / "m.symbi"
    f.write_text('agent m { model: "x" }\n')
    p = symbi.run("run", "m", "--file", f)
    assert p.returncode == 1 and "no endpoint" in p.stderr


@pytest.mark.parametrize("body, message", [
    ('api: "gemini"', "unknown api"),
    ('max_tool_calls: 0', "max_tool_calls: must be between 1 and 64"),
    ('tools: { t: { command: "x", exec: ["y"] } }', "exactly one of `command` or `exec`"),
    ('tools: { t: { comand: "x" } }', "unknown key `comand`"),
    ('tools: { "bad name": { command: "x" } }', "is not a tool name"),
    ('tools: { t: { command: "x", parameters: "string" } }', "parameters must be a map"),
])
def test_bad_model_keys_are_clear_errors(symbi, tmp_path, body, message):
    f = tmp_path / "m.symbi"
    f.write_text(f'agent m {{\n  model: "x"\n  {body}\n}}\n')
    p = symbi.run("dsl", "check", f)
    assert p.returncode == 1 and message in p.stderr, p.stderr
    assert re.search(r"m\.symbi:3:\d+: error", p.stderr), p.stderr


def test_tools_only_on_model_agents(symbi, tmp_path):
    f = tmp_path / "m.symbi"
    f.write_text('agent m {\n  command: "true"\n  tools: { t: { command: "x" } }\n}\n')
    p = symbi.run("dsl", "check", f)
    assert p.returncode == 1 and "only a model agent has tools" in p.stderr


def test_endpoint_variable_expanded_at_use(symbi, llm, tmp_path):
    f = tmp_path / "m.symbi"
    f.write_text('agent m {\n  model: "x"\n  endpoint: "${LLM_URL}/v1/"\n}\n')
    llm.script = [reply(openai_text("via variable"))]
    p = symbi.run("run", "m", "--file", f, "--input", "x", env={"LLM_URL": llm.url()})
    assert p.returncode == 0, p.stderr
    assert p.stdout == "via variable\n" and llm.requests[0].path == "/v1/chat/completions"
    assert "authorization" not in llm.requests[0].headers  # no key set: no auth header
    p = symbi.run("run", "m", "--file", f, "--input", "x")
    assert p.returncode == 1
    assert '"${LLM_URL}/v1/" is not an http(s) URL once expanded' in p.stderr


def test_daemon_default_endpoint_from_config(symbi, daemons, llm, tmp_path):
    (symbi.data_dir / "symbi.toml").write_text(
        f'[agents]\nllm_endpoint = "{llm.url("/v1")}"\n')
    llm.script = [reply(openai_text("from the configured endpoint"))]
    _, a = daemon(symbi, daemons, tmp_path, 'agent m { model: "local-model" }\n')
    add_job(a, "j", "m")
    done = run_job(a, "j", input="x")
    assert done["status"] == "succeeded", done
    assert done["output"] == "from the configured endpoint"
    assert llm.requests[0].path == "/v1/chat/completions"
    assert llm.requests[0].json["model"] == "local-model"


def test_cron_run_local_records_tool_calls_and_usage(symbi, llm, tmp_path):
    stdin = tmp_path / "stdin.json"
    llm.script = [reply(anthropic_tool_use("restart_service", {"name": "nginx"})),
                  reply(anthropic_text("restarted it"))]
    f = tmp_path / "m.symbi"
    f.write_text(agent_block("ops", llm, api="anthropic", extra=TOOLS.format(stdin=stdin)) +
                 'schedule { name: "fix" agent: "ops" cron: "0 0 1 1 *" }\n')
    symbi.run("cron", "add", "--file", f, check=True)
    p = symbi.run("cron", "run", "fix", "--local", "--input", "nginx is down",
                  env={"SYMBI_LLM_API_KEY": KEY})
    assert p.returncode == 0, p.stderr
    assert p.stdout == "restarted it\n"
    assert stdin.read_text() == '{"name":"nginx"}'
    (run,) = runs(symbi, "fix")
    assert run["status"] == "succeeded"
    assert (run["prompt_tokens"], run["completion_tokens"]) == (30 + 13, 6 + 9)
    assert json.loads(run["tool_calls"])[0]["arguments"] == {"name": "nginx"}
    ev = audit_events(symbi, type="AgentToolCalled")
    assert len(ev) == 1 and ev[0]["run_id"] == run["id"]
    p = symbi.run("audit", "query", "--type", "AgentToolCalled", "--format", "json", check=True)
    assert json.loads(p.stdout)[0]["details"]["name"] == "restart_service"


# ---- 1. session modes: the context as messages over 3 consecutive runs ----

def expected_bodies(api, mode, inputs, outputs):
    """What SPEC §6.3 says each of three runs sends."""
    bodies = []
    for i, text in enumerate(inputs):
        note, turns = None, []
        if mode == "ephemeral_with_summary" and i > 0:
            note = f"Summary of the previous run: {outputs[i - 1]}"
        if mode == "shared_persistent":
            for j in range(i):
                turns += [user_turn(inputs[j]), {"role": "assistant", "content": outputs[j]}]
        turns.append(user_turn(text))
        if api == "openai":
            sys = [{"role": "system", "content": "You are terse."}]
            if note:
                sys.append({"role": "system", "content": note})
            bodies.append({"model": "test-model", "messages": sys + turns})
        else:
            system = "You are terse." + (f"\n\n{note}" if note else "")
            bodies.append({"model": "test-model", "max_tokens": 4096, "system": system,
                           "messages": turns})
    return bodies


@pytest.mark.parametrize("api", ["openai", "anthropic"])
@pytest.mark.parametrize("mode", ["fully_ephemeral", "ephemeral_with_summary",
                                  "shared_persistent"])
def test_session_mode_bodies_over_three_runs(symbi, daemons, llm, tmp_path, api, mode):
    text = openai_text if api == "openai" else anthropic_text
    outputs = ["disk at 71%", "disk at 75%", "disk at 80%"]
    inputs = ["check one", "check two", "check three"]
    llm.script = [reply(text(o)) for o in outputs]
    _, a = daemon(symbi, daemons, tmp_path, agent_block("m", llm, api=api))
    add_job(a, "j", "m", session_mode=mode)
    done = [run_job(a, "j", input=i) for i in inputs]
    assert [d["output"] for d in done] == outputs, done
    assert [r.json for r in llm.requests] == expected_bodies(api, mode, inputs, outputs)


# ---- 3. a heartbeat beat with a model agent ----

def test_heartbeat_model_agent_sleeps_on_second_iteration(symbi, daemons, llm, tmp_path):
    llm.script = [reply(openai_text("disk at 91%, cleaning up")),
                  reply(openai_text("disk at 60% now\nsleep"))]
    _, a = daemon(symbi, daemons, tmp_path, agent_block("m", llm))
    add_job(a, "beat", "m", heartbeat={"enabled": True, "context_mode": "shared_persistent",
                                       "max_iterations": 5})
    done = run_job(a, "beat", input="assess")
    assert done["status"] == "succeeded", done
    assert done["iterations"] == 2
    assert len(llm.requests) == 2
    second = llm.requests[1].json["messages"]
    assert second[1:] == [user_turn("assess"),
                          {"role": "assistant", "content": "disk at 91%, cleaning up"},
                          user_turn("assess")]
    assert (done["prompt_tokens"], done["completion_tokens"]) == (22, 14)  # both iterations
    assert [o["output"] for o in done["iteration_outputs"]] == [
        "disk at 91%, cleaning up", "disk at 60% now\nsleep"]
    assert done["output"] == "disk at 60% now\nsleep"


def test_heartbeat_assess_act_sleep_with_tools(symbi, daemons, llm, tmp_path):
    # the guide's cycle: each iteration assesses, acts through a declared tool, and the
    # second one ends the beat with `sleep`
    stdin = tmp_path / "stdin.json"
    llm.script = [reply(openai_tool_call("restart_service", {"name": "nginx"}, "c1")),
                  reply(openai_text("restarted nginx")),
                  reply(openai_tool_call("restart_service", {"name": "php-fpm"}, "c2")),
                  reply(openai_text("all healthy\nsleep"))]
    _, a = daemon(symbi, daemons, tmp_path,
                  agent_block("ops", llm, extra=TOOLS.format(stdin=stdin)))
    add_job(a, "beat", "ops", heartbeat={"enabled": True, "max_iterations": 4})
    done = run_job(a, "beat", input="assess")
    assert done["status"] == "succeeded" and done["iterations"] == 2, done
    assert [c["arguments"] for c in done["tool_calls"]] == [{"name": "nginx"},
                                                             {"name": "php-fpm"}]
    assert stdin.read_text() == '{"name":"php-fpm"}'
    ev = audit_events(symbi, type="AgentToolCalled")
    assert [json.loads(e["details"])["arguments"]["name"] for e in ev] == ["nginx", "php-fpm"]
    check_run_schema(done)


def test_tools_do_not_see_the_key(symbi, llm, tmp_path):
    f = tmp_path / "m.symbi"
    f.write_text(agent_block("m", llm, extra='''  api_key_env: "MY_KEY"
  env: { SHOWN: "yes" }
  tools: { peek: { command: "echo key=[$MY_KEY] shown=$SHOWN" } }
'''))
    llm.script = [reply(openai_tool_call("peek", {})), reply(openai_text("done"))]
    p = symbi.run("run", "m", "--file", f, "--input", "x", env={"MY_KEY": KEY})
    assert p.returncode == 0, p.stderr
    assert llm.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert llm.requests[1].json["messages"][-1]["content"] == "key=[] shown=yes\n"


def test_default_endpoint_survives_a_reload(symbi, daemons, llm, tmp_path):
    # SIGHUP replaces the configuration: the executor must not keep pointers into the old one
    (symbi.data_dir / "symbi.toml").write_text(
        f'[agents]\nllm_endpoint = "{llm.url("/v1")}"\n')
    llm.default = reply(openai_text("still here"))
    d, a = daemon(symbi, daemons, tmp_path, 'agent m { model: "local-model" }\n')
    add_job(a, "j", "m")
    assert run_job(a, "j", input="x")["status"] == "succeeded"
    for _ in range(2):
        n = d.output().count("reloaded")
        d.signal(signal.SIGHUP)
        wait_until(lambda: d.output().count("reloaded") > n, timeout=10)
    done = run_job(a, "j", input="y")
    assert done["status"] == "succeeded" and done["output"] == "still here", done
    assert [r.json["messages"][-1]["content"] for r in llm.requests] == ["x", "y"]
