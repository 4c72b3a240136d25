"""The Python SDK (sdk/python, SPEC §14) against a real `symbi up`: every
method of client.schedule, client.runs and client.audit, every error class
(404, 401, 400 with details.field, 403, 409, no server), every keyword
argument reaching the API under its snake_case name, result objects, and
`pip install ./sdk/python` into a fresh venv."""
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from sdk_util import KEY, SDK_PY, insert_pending_run, start_sdk_daemon, wait_run_final
from apiclient import wait_until
from conftest import free_port

import symbiont
from symbiont import (AuthenticationError, ConflictError, NotFoundError, PermissionDeniedError,
                      SymbiontClient, SymbiontError, ValidationError)

# every keyword of schedule.create but `at` (exclusive with cron_expr), with
# the value the server gives back for it
ALL_OPTIONS = {
    "name": ("py-all", "py-all"),
    "agent_id": ("echoer", "echoer"),
    "cron_expr": ("*/5 * * * *", "*/5 * * * *"),
    "timezone": ("Europe/Berlin", "Europe/Berlin"),
    "session_mode": ("shared_persistent", "shared_persistent"),
    "delivery": (["stdout", "log_file", "webhook"], ["stdout", "log_file", "webhook"]),
    "webhook_url": ("http://127.0.0.1:9/hook", "http://127.0.0.1:9/hook"),
    "webhook_headers": ({"X-Token": "secret"}, {"X-Token": "***"}),
    "slack_channel": ("#ops", "#ops"),
    "slack_webhook_url": ("http://127.0.0.1:9/slack", "http://127.0.0.1:9/slack"),
    "email_recipients": (["ops@example.com"], ["ops@example.com"]),
    "log_file": ("py-all.log", "py-all.log"),
    "policy": ({"approvers": ["alice"]}, {"approvers": ["alice"]}),
    "heartbeat": ({"enabled": False, "context_mode": "ephemeral_with_summary",
                   "max_iterations": 3},
                  {"enabled": False, "context_mode": "ephemeral_with_summary",
                   "max_iterations": 3}),
    "max_concurrent": (2, 2),
    "max_retries": (4, 4),
    "jitter": ("5s", "5s"),
    "catch_up": ("skip", "skip"),
    "starting_deadline": (120, "2m"),
    "dst_gap": ("skip", "skip"),
    "dst_overlap": ("first", "first"),
    "input": ("hello", "hello"),
    "agent_pin_jwt": ("eyJhbGciOiJFUzI1NiJ9.e30.sig", "***"),
    "one_shot": (False, False),
}


@pytest.fixture
def env(symbi, daemons, tmp_path):
    d, url = start_sdk_daemon(symbi, daemons, tmp_path)
    return SymbiontClient(base_url=url, api_key=KEY), url, symbi.data_dir


def test_every_create_option_reaches_the_api(env):
    client, _, _ = env
    import inspect
    params = set(inspect.signature(client.schedule.create).parameters) - {"fields"}
    # the table covers every keyword the method has (and `at`, below)
    assert params == set(ALL_OPTIONS) | {"at"}
    assert params == set(inspect.signature(client.schedule.update).parameters) - {"job", "fields"}
    job = client.schedule.create(**{k: v for k, (v, _) in ALL_OPTIONS.items()})
    stored = client.schedule.get(job.id).to_dict()
    for k, (_, want) in ALL_OPTIONS.items():
        assert stored[k] == want, k
    at = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=3)
    one = client.schedule.create(name="py-at", agent_id="echoer", at=at)
    assert one.at == at.strftime("%Y-%m-%dT%H:%M:%SZ") and one.cron_expr is None
    # update maps the same names: change each one that can change
    changed = client.schedule.update(
        job.id, name="py-all-2", agent_id="failer", cron_expr="0 6 * * *", timezone="UTC",
        session_mode="fully_ephemeral", delivery=["stdout"], webhook_url="http://127.0.0.1:9/b",
        webhook_headers={"A": "b", "C": "d"}, slack_channel="#x",
        slack_webhook_url="http://127.0.0.1:9/s2", email_recipients=["a@example.com"],
        log_file="other.log", policy={"approvers": ["bob"]},
        heartbeat={"enabled": False, "context_mode": "shared_persistent", "max_iterations": 5},
        max_concurrent=3, max_retries=0, jitter=10, catch_up="all", starting_deadline="1h",
        dst_gap="shift", dst_overlap="last", input="bye", agent_pin_jwt="a.b.c", one_shot=True)
    assert changed.to_dict() == client.schedule.get(job.id).to_dict()
    assert (changed.name, changed.agent_id, changed.cron_expr, changed.timezone) == \
        ("py-all-2", "failer", "0 6 * * *", "UTC")
    assert changed.session_mode == "fully_ephemeral" and changed.delivery == ["stdout"]
    assert changed.webhook_url == "http://127.0.0.1:9/b"
    assert changed.webhook_headers.to_dict() == {"A": "***", "C": "***"}
    assert changed.slack_channel == "#x" and changed.slack_webhook_url.endswith("/s2")
    assert changed.email_recipients == ["a@example.com"] and changed.log_file == "other.log"
    assert changed.policy.approvers == ["bob"]
    assert changed.heartbeat.context_mode == "shared_persistent"
    assert changed.heartbeat.max_iterations == 5
    assert (changed.max_concurrent, changed.max_retries) == (3, 0)
    assert (changed.jitter, changed.catch_up, changed.starting_deadline) == ("10s", "all", "1h")
    assert (changed.dst_gap, changed.dst_overlap, changed.input) == ("shift", "last", "bye")
    assert changed.agent_pin_jwt == "***" and changed.one_shot is True
    assert changed.next_run.endswith("T06:00:00Z")
    # fields= sends raw values, None as JSON null (clears)
    cleared = client.schedule.update(job.id, fields={"webhook_url": None, "max_retries": None})
    assert cleared.webhook_url is None and cleared.max_retries is None


def test_schedule_methods(env):
    client, _, _ = env
    job = client.schedule.create(name="py-echo", agent_id="echoer", cron_expr="0 3 * * *",
                                 delivery=["stdout"])
    assert isinstance(job, symbiont.Job) and job.status == "active" and job.run_count == 0
    other = client.schedule.create(name="py-other", agent_id="failer", cron_expr="0 4 * * *",
                                   max_retries=1)
    # list and its filters
    names = [j.name for j in client.schedule.list()]
    assert names == ["py-echo", "py-other"]
    assert [j.id for j in client.schedule.list(agent_id="failer")] == [other.id]
    assert [j.name for j in client.schedule.list(limit=1, offset=1)] == ["py-other"]
    # get: by id, id prefix, name
    for ref in (job.id, job.id[:8], "py-echo"):
        assert client.schedule.get(ref).id == job.id
    # pause / resume / reset, each answering the job as it is now
    assert client.schedule.pause(job.id).status == "paused"
    assert [j.id for j in client.schedule.list(status="paused")] == [job.id]
    assert client.schedule.resume(job.id).status == "active"
    # reset: a job that failed into the dead letter goes back to active
    failed = wait_run_final(client, client.schedule.run_now(other.id).id)
    assert failed.status == "failed" and failed.error_message
    assert client.schedule.get_history(other.id, status="failed")[0].id == failed.id
    dead = wait_until(lambda: (lambda j: j if j.status == "dead_letter" else None)(
        client.schedule.get(other.id)))
    assert dead.failure_count == 1
    reset = client.schedule.reset(other.id)
    assert reset.status == "active" and reset.failure_count == 0
    # next fire instants
    nxt = client.schedule.get_next_run(job.id, count=3)
    assert nxt.id == job.id and len(nxt.next_runs) == 3
    assert nxt.next_run == nxt.next_runs[0] and nxt.next_run.endswith("T03:00:00Z")
    assert len(client.schedule.get_next_run(job.id).next_runs) == 1
    # a manual run with input, its history
    run = client.schedule.run_now(job.id, input="from the sdk")
    assert isinstance(run, symbiont.Run)
    assert (run.status, run.trigger, run.input, run.job_id) == ("queued", "manual",
                                                               "from the sdk", job.id)
    done = wait_run_final(client, run.id)
    assert done.status == "succeeded" and done.output.strip() == "echoed py-echo"
    assert done.execution_time_ms >= 0 and done.error_message is None
    assert wait_run_final(client, client.schedule.run_now("py-echo").id).input is None
    hist = client.schedule.get_history(job.id)
    assert len(hist) == 2 and hist[1].id == run.id  # newest first
    assert [r.id for r in client.schedule.get_history(job.id, limit=1, offset=1)] == [run.id]
    assert client.schedule.get_history(job.id, status="failed") == []
    assert len(client.schedule.get_history(job.id, status="succeeded")) == 2
    assert client.schedule.get(job.id).run_count == 2
    # health
    h = client.schedule.health()
    assert isinstance(h, symbiont.SchedulerHealth)
    assert h.status == "healthy" and h.active_jobs == 2 and h.paused_jobs == 0
    assert h.in_flight_jobs == 0 and h.metrics.runs_succeeded == 2
    assert h.metrics.runs_failed == 1
    # delete
    gone = client.schedule.delete("py-other")
    assert gone.id == other.id and gone.deleted is True
    with pytest.raises(NotFoundError):
        client.schedule.get(other.id)


def test_get_context(env):
    client, _, _ = env
    job = client.schedule.create(name="py-ctx", agent_id="echoer", cron_expr="0 3 * * *",
                                 session_mode="shared_persistent")
    with pytest.raises(NotFoundError):
        client.schedule.get_context("no-such-job")
    try:
        ctx = client.schedule.get_context(job.id)
    except NotFoundError as e:
        if "no route" in e.message:
            pytest.skip("GET /api/v1/schedule/{job}/context is not served by this build yet")
        raise
    assert isinstance(ctx, symbiont.Record)


def test_runs_and_audit(env, symbi):
    client, url, data_dir = env
    # the approver is the caller: a key named alice decides as alice
    alice = SymbiontClient(base_url=url, api_key=symbi.run(
        "api-key", "create", "--name", "alice", "--scope", "read,approve", check=True).stdout.strip())
    wait_until(lambda: _key_live(alice), timeout=5)
    job = client.schedule.create(name="py-gated", agent_id="echoer", cron_expr="0 3 * * *",
                                 policy={"require_approval": True, "approvers": ["alice"]})
    pending = insert_pending_run(data_dir, job.id, job.name)
    assert client.runs.get(pending).status == "pending_approval"
    assert client.runs.get(pending[:8]).id == pending
    with pytest.raises(PermissionDeniedError) as e:
        client.runs.approve(pending, approver="mallory")
    assert e.value.status == 403 and e.value.code == "FORBIDDEN"
    with pytest.raises(PermissionDeniedError):  # the env key is not alice, whatever it claims
        client.runs.approve(pending, approver="alice")
    approved = alice.runs.approve(pending, approver="alice")
    assert approved.approver == "alice" and approved.status in ("queued", "running", "succeeded")
    with pytest.raises(ConflictError) as e:
        alice.runs.approve(pending)
    assert e.value.code == "INVALID_STATE" and e.value.details["status"] != "pending_approval"
    second = insert_pending_run(data_dir, job.id, job.name)
    denied = alice.runs.deny(second)
    assert denied.status == "denied" and denied.error_message == "denied by alice"
    with pytest.raises(NotFoundError) as e:
        client.runs.get("nonexistent")
    assert e.value.details == {"run": "nonexistent"}
    # audit, with each filter
    since = datetime.now(timezone.utc) - timedelta(minutes=5)
    events = client.audit.query(job=job.id, since=since, limit=50)
    types = [ev.type for ev in events]
    assert {"CronJobCreated", "CronRunApproved", "CronRunDenied"} <= set(types)
    assert all(ev.job_id == job.id for ev in events)
    denials = client.audit.query(type="CronRunDenied")
    assert len(denials) == 1 and denials[0].run_id == second
    assert denials[0].details.approver == "alice" and denials[0].actor == "alice"
    assert len(client.audit.query(limit=1)) == 1
    assert client.audit.query(until=since) == []


def _key_live(c):
    try:
        c.runs.get("no-such-run")
    except NotFoundError:
        return True
    except SymbiontError:
        return False
    return True


def test_error_classes(env):
    client, url, _ = env
    with pytest.raises(NotFoundError) as e:
        client.schedule.get("no-such-job")
    err = e.value
    assert isinstance(err, SymbiontError)
    assert (err.status, err.code, err.details) == (404, "NOT_FOUND", {"job": "no-such-job"})
    assert "404 NOT_FOUND" in str(err) and "no-such-job" in err.message
    for bad in (SymbiontClient(base_url=url, api_key="symbi_" + "0" * 64),
                SymbiontClient(base_url=url)):
        with pytest.raises(AuthenticationError) as e:
            bad.schedule.list()
        assert e.value.status == 401 and e.value.code == "UNAUTHORIZED"
    with pytest.raises(ValidationError) as e:
        client.schedule.create(name="bad", agent_id="echoer", cron_expr="61 * * * *")
    assert (e.value.status, e.value.code, e.value.field) == (400, "INVALID_CRON", "cron_expr")
    with pytest.raises(ValidationError) as e:
        client.schedule.create(name="bad", agent_id="echoer", cron_expr="0 * * * *",
                               timezone="Mars/Olympus")
    assert (e.value.code, e.value.field) == ("INVALID_TIMEZONE", "timezone")
    with pytest.raises(ValidationError) as e:
        client.schedule.create(name="bad", agent_id="echoer", cron_expr="0 * * * *",
                               fields={"colour": "red"})
    assert e.value.field == "colour" and e.value.details == {"field": "colour"}
    with pytest.raises(ValidationError) as e:
        client.schedule.list(status="sleeping")
    assert (e.value.code, e.value.field) == ("INVALID_QUERY", "status")
    assert client.schedule.list() == []  # nothing was written by the refused calls
    client.schedule.create(name="taken", agent_id="echoer", cron_expr="0 * * * *")
    with pytest.raises(ConflictError) as e:
        client.schedule.create(name="taken", agent_id="echoer", cron_expr="0 * * * *")
    assert (e.value.status, e.value.code) == (409, "NAME_TAKEN")
    with pytest.raises(symbiont.ConnectionError) as e:
        SymbiontClient(base_url=f"http://127.0.0.1:{free_port()}", timeout=5).schedule.list()
    assert e.value.status is None and e.value.code == "CONNECTION_ERROR"
    with pytest.raises(ValueError):
        SymbiontClient(base_url="localhost:8080")


def test_result_objects(env):
    client, _, _ = env
    job = client.schedule.create(name="py-rec", agent_id="echoer", cron_expr="0 3 * * *",
                                 policy={"approvers": ["alice"]})
    assert job["name"] == job.name == "py-rec" and "next_run" in job
    assert job.policy.approvers == ["alice"] and isinstance(job.policy, symbiont.Record)
    assert job.to_dict()["policy"] == {"approvers": ["alice"]}
    assert "cron_expr" in dir(job) and job.get("missing", 1) == 1
    with pytest.raises(AttributeError):
        job.no_such_field
    with pytest.raises(AttributeError):
        job.name = "x"
    assert repr(job).startswith("Job({") and job == client.schedule.get(job.id)


def test_pip_install_into_a_fresh_venv(env, tmp_path):
    """`pip install ./sdk/python` in a new venv (no index needed: the package
    builds with its own standard-library backend), then the installed copy,
    with its py.typed marker, talks to the daemon from outside the tree."""
    client, url, _ = env
    client.schedule.create(name="from-venv", agent_id="echoer", cron_expr="0 * * * *")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    env_vars = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_"))}
    env_vars["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    p = subprocess.run([str(py), "-m", "pip", "install", "--no-cache-dir", str(SDK_PY)],
                       capture_output=True, text=True, timeout=300, env=env_vars, cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Successfully installed symbiont-0.1.0" in p.stdout
    code = ("import symbiont, os, sys; from symbiont import SymbiontClient\n"
            "c = SymbiontClient(base_url=sys.argv[1], api_key=sys.argv[2])\n"
            "print(symbiont.__file__)\n"
            "print(os.path.exists(os.path.join(os.path.dirname(symbiont.__file__), 'py.typed')))\n"
            "print([j.name for j in c.schedule.list()])\n")
    p = subprocess.run([str(py), "-c", code, url, KEY], capture_output=True, text=True,
                       timeout=60, env=env_vars, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    where, typed, names = p.stdout.splitlines()
    assert where.startswith(str(venv)) and typed == "True" and names == "['from-venv']"
    # nothing but the standard library is imported
    p = subprocess.run([str(py), "-m", "pip", "list", "--format=freeze"], capture_output=True,
                       text=True, timeout=60, env=env_vars)
    installed = {line.split("==")[0].lower() for line in p.stdout.split()}
    assert "symbiont" in installed and installed <= {"symbiont", "pip", "setuptools"}
