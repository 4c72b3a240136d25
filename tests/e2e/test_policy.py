"""End-to-end: the policy gate in the run pipeline (SPEC §8): runs waiting
as pending_approval and answered through the CLI and the API, approvers,
denial and the approval timeout (denied, not failures), AgentPin refusals
(denied + AgentPinVerificationFailed), SYMBI_AGENTPIN_REQUIRED, discovery
over real HTTPS with the cache and pins, and named policies."""
import base64
import hashlib
import hmac
import json
import subprocess
import time

import pytest

from apiclient import Api
from policy_util import DiscoveryServer, issue, keygen, make_ca
from sched_util import audit, job, run_by_id, runs, start, wait_until, write_agents

APPROVAL = """
agent echoer { builtin: "echo" capabilities: ["deployment"] }
schedule {
  name: "gated" agent: "echoer" cron: "0 0 1 1 *" input: "deploy" max_retries: 1
  policy { require_approval: true, approvers: ["alice", "bob"] }
}
"""


def run_of(symbi, rid):
    return run_by_id(symbi, rid)


def wait_status(symbi, rid, status, timeout=20):
    return wait_until(lambda: (r := run_of(symbi, rid)) is not None and r["status"] == status
                      and r, timeout=timeout, what=f"run {rid} {status}")


def events(symbi, type_, run_id=None):
    return [e for e in audit(symbi, type=type_) if run_id is None or e["run_id"] == run_id]


def manual_run(symbi, name):
    p = symbi.run("cron", "run", name)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def api_port(d):
    import re
    m = re.search(r"listening on \S+ port=(\d+)", d.wait_for(" port="))
    return int(m.group(1))


def make_key(symbi, name, scope=None):
    args = ["api-key", "create", "--name", name]
    if scope:
        args += ["--scope", scope]
    return symbi.run(*args, check=True).stdout.strip()


def test_approval_through_cli_and_api(symbi, daemons):
    write_agents(symbi.data_dir, APPROVAL)
    alice, bob, carol = (make_key(symbi, n) for n in ("alice", "bob", "carol"))
    d = start(symbi, daemons)
    api = Api(api_port(d))

    # CLI: an approver not listed is refused; a listed one makes it run
    rid = manual_run(symbi, "gated")
    r = wait_status(symbi, rid, "pending_approval")
    assert r["started_at"] is not None and r["output"] is None
    p = symbi.run("cron", "approve", rid, "--as", "mallory")
    assert p.returncode == 1 and '"mallory" is not among the approvers' in p.stderr
    assert run_of(symbi, rid)["status"] == "pending_approval"
    p = symbi.run("cron", "approve", rid[:8], "--as", "alice")
    assert p.returncode == 0, p.stderr
    r = wait_status(symbi, rid, "succeeded")
    assert r["output"] == "deploy" and r["approver"] == "alice"
    assert events(symbi, "CronRunApproved", rid)[0]["actor"] == "alice"

    # API: the approver is the key's name; the body cannot claim another
    rid = manual_run(symbi, "gated")
    wait_status(symbi, rid, "pending_approval")
    st, body = Api(api.port, key=carol).post(f"/api/v1/runs/{rid}/approve")
    assert st == 403 and "carol" in body["error"]
    st, body = Api(api.port, key=carol).post(f"/api/v1/runs/{rid}/approve", {"approver": "bob"})
    assert st == 403 and body["details"]["authenticated"] == "carol"
    st, body = Api(api.port, key=bob).post(f"/api/v1/runs/{rid}/approve", {"approver": "bob"})
    assert st == 200 and body["status"] == "queued" and body["approver"] == "bob"
    wait_status(symbi, rid, "succeeded")

    # deny (CLI and API): denied, not a failure: no retry, no dead letter
    denied = []
    for how in ("cli", "api"):
        rid = manual_run(symbi, "gated")
        wait_status(symbi, rid, "pending_approval")
        if how == "cli":
            p = symbi.run("cron", "deny", rid, "--as", "bob", "--reason", "change freeze")
            assert p.returncode == 0, p.stderr
        else:
            st, body = Api(api.port, key=alice).post(f"/api/v1/runs/{rid}/deny")
            assert st == 200 and body["status"] == "denied"
        denied.append(wait_status(symbi, rid, "denied"))
    assert denied[0]["error_message"] == "denied by bob: change freeze"
    assert denied[1]["error_message"] == "denied by alice"
    j = job(symbi, "gated")
    assert j["status"] == "active" and j["failure_count"] == 0  # max_retries 1, yet no dead letter
    assert len(events(symbi, "CronRunDenied")) == 2
    assert not events(symbi, "CronJobDeadLettered")
    assert not [r for r in runs(symbi) if r["trigger"] == "retry"]
    # an answered run cannot be answered again
    p = symbi.run("cron", "approve", denied[0]["id"], "--as", "alice")
    assert p.returncode == 1 and "not pending_approval" in p.stderr


def test_approval_timeout_denies(symbi, daemons):
    write_agents(symbi.data_dir, APPROVAL.replace(
        'approvers: ["alice", "bob"]', 'approvers: ["alice"], approval_timeout: "2s"'))
    start(symbi, daemons)
    rid = manual_run(symbi, "gated")
    r = wait_status(symbi, rid, "pending_approval")
    r = wait_status(symbi, rid, "denied", timeout=15)
    assert r["error_message"] == "denied by approval-timeout: no answer within 2s"
    assert r["finished_at"] - r["started_at"] >= 2000
    ev = events(symbi, "CronRunDenied", rid)
    assert ev and ev[0]["actor"] == "approval-timeout"
    assert job(symbi, "gated")["failure_count"] == 0
    p = symbi.run("cron", "approve", rid, "--as", "alice")
    assert p.returncode == 1


# ---- AgentPin through the run pipeline ----

def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def der_to_raw(der: bytes) -> bytes:
    assert der[0] == 0x30
    i = 2
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        v = der[i + 2:i + 2 + n].lstrip(b"\0")
        out += v.rjust(32, b"\0")
        i += 2 + n
    return out


def es256(key, header: dict, payload: dict, der=False) -> str:
    """A token signed by `openssl dgst` (any header: the verifier decides)."""
    si = (b64(json.dumps(header).encode()) + "." + b64(json.dumps(payload).encode())).encode()
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key)], input=si,
                         capture_output=True, check=True).stdout
    return si.decode() + "." + b64(sig if der else der_to_raw(sig))


def attack_tokens(key, other_key, pub_pem: bytes):
    now = int(time.time())
    hdr = {"alg": "ES256", "typ": "agentpin-credential+jwt", "kid": "k1"}
    good = {"iss": "example.com", "sub": "deployer", "iat": now - 5, "exp": now + 3600}
    si = b64(json.dumps({"alg": "HS256", "kid": "k1"}).encode()) + "." + b64(
        json.dumps(good).encode())
    hs = si + "." + b64(hmac.new(pub_pem, si.encode(), hashlib.sha256).digest())
    valid = es256(key, hdr, good)
    head, pay, sig = valid.split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=="))
    raw[10] ^= 0x01
    flipped = f"{head}.{pay}.{b64(bytes(raw))}"
    dup_hdr = b64(b'{"alg":"ES256","alg":"none","kid":"k1"}') + "." + pay + "." + sig
    return {
        "alg_none": (b64(b'{"alg":"none","kid":"k1"}') + "." + pay + ".",
                     'algorithm "none" refused'),
        "hs256_pubkey": (hs, 'algorithm "HS256" refused'),
        "es384": (es256(key, dict(hdr, alg="ES384"), good), 'algorithm "ES384" refused'),
        "flipped_bit": (flipped, "signature does not verify"),
        "other_key": (es256(other_key, hdr, good), "signature does not verify"),
        "unknown_kid": (es256(key, dict(hdr, kid="k9"), good), 'unknown key id "k9"'),
        "wrong_iss": (es256(key, hdr, dict(good, iss="evil.example")), "not the expected domain"),
        "wrong_agent": (es256(key, hdr, dict(good, sub="intruder")), 'names agent "intruder"'),
        "expired": (es256(key, hdr, dict(good, iat=now - 7200, exp=now - 120)), "expired at"),
        "nbf_future": (es256(key, hdr, dict(good, nbf=now + 600)), "not valid before"),
        "iat_future": (es256(key, hdr, dict(good, iat=now + 600)), "issued in the future"),
        "truncated": (valid[:-20], "signature"),
        "too_long": (valid + "A" * (100 * 1024), "longer than 8192 bytes"),
        "not_base64url": (valid[:5] + "+" + valid[6:], "not strict base64url"),
        "header_not_object": (b64(b'["ES256"]') + "." + pay + "." + sig, "not a JSON object"),
        "duplicate_alg": (dup_hdr, "duplicate"),
    }, valid, es256(key, hdr, good, der=True)


def test_agentpin_refusals_deny_runs(symbi, daemons, tmp_path):
    key, _, bundle = keygen(symbi, tmp_path / "k", "k1", "example.com")
    other, _, _ = keygen(symbi, tmp_path / "o", "k1", "example.com")
    attacks, valid, valid_der = attack_tokens(key, other, (tmp_path / "k" / "k1.pub.pem")
                                              .read_bytes())
    (symbi.data_dir / "symbi.toml").write_text(
        f'[agentpin]\ndomain = "example.com"\ntrust_bundle = "{bundle}"\n')
    jobs = dict(attacks)
    jobs["valid_raw"] = (valid, None)
    jobs["valid_der"] = (valid_der, None)
    lines = ['agent deployer { builtin: "echo" }']
    for name, (tok, _) in jobs.items():
        if len(tok) > 9000:
            continue  # a .symbi string this long is fine, but keep it in the store via JSON
        lines.append(f'schedule {{ name: "{name}" agent: "deployer" cron: "0 0 1 1 *" '
                     f'input: "ok" policy: {{ require_agent_pin: true }} '
                     f'agent_pin_jwt: "{tok}" }}')
    write_agents(symbi.data_dir, "\n".join(lines) + "\n")
    start(symbi, daemons)
    # the 100 KiB credential arrives through the API's job fields instead
    big = {"name": "too_long", "agent_id": "deployer", "cron_expr": "0 0 1 1 *",
           "policy": {"require_agent_pin": True}, "agent_pin_jwt": jobs["too_long"][0]}
    p = symbi.run("cron", "add", "--json", json.dumps(big))
    if p.returncode != 0:  # refused at the door is fine too: it never runs
        assert "agent_pin_jwt" in p.stderr
        del jobs["too_long"]
    ids = {name: manual_run(symbi, name) for name in jobs}
    for name, (tok, why) in jobs.items():
        if why is None:
            r = wait_status(symbi, ids[name], "succeeded")
            assert r["output"] == "ok"
            continue
        r = wait_status(symbi, ids[name], "denied")
        assert why in r["error_message"], (name, r["error_message"])
        ev = events(symbi, "AgentPinVerificationFailed", ids[name])
        assert len(ev) == 1, name
        assert why in json.loads(ev[0]["details"])["reason"]
    for name in jobs:
        j = job(symbi, name)
        assert j["failure_count"] == 0 and j["status"] == "active"


def test_agentpin_required_everywhere(symbi, daemons, tmp_path):
    key, _, bundle = keygen(symbi, tmp_path / "k", "k1", "example.com")
    (symbi.data_dir / "symbi.toml").write_text(
        f'[agentpin]\ndomain = "example.com"\ntrust_bundle = "{bundle}"\n')
    tok = issue(symbi, key, "k1", "example.com", "plain")
    write_agents(symbi.data_dir,
                 'agent plain { builtin: "echo" }\n'
                 'schedule { name: "nopin" agent: "plain" cron: "0 0 1 1 *" }\n'
                 f'schedule {{ name: "pinned" agent: "plain" cron: "0 0 1 1 *" '
                 f'agent_pin_jwt: "{tok}" input: "hi" }}\n')
    d = symbi.start("up", "--listen", "127.0.0.1:0", "--agents", symbi.data_dir / "agents",
                    env={"SYMBI_AGENTPIN_REQUIRED": "true"})
    daemons.append(d)
    d.wait_for("scheduler started", timeout=20)
    r = wait_status(symbi, manual_run(symbi, "nopin"), "denied")
    assert "the job has no agent_pin_jwt" in r["error_message"]
    assert events(symbi, "AgentPinVerificationFailed", r["id"])
    r = wait_status(symbi, manual_run(symbi, "pinned"), "succeeded")
    assert r["output"] == "hi"
    # with no scheduler, `cron run --local` and `symbi run` go through the same gate
    d.stop()
    req = {"SYMBI_AGENTPIN_REQUIRED": "true"}
    p = symbi.run("cron", "run", "nopin", "--local", env=req)
    assert p.returncode == 1 and "denied" in p.stderr and "agent_pin_jwt" in p.stderr
    p = symbi.run("cron", "run", "pinned", "--local", env=req)
    assert p.returncode == 0 and p.stdout == "hi\n", p.stderr
    p = symbi.run("run", "plain", "--input", "x", env=req)
    assert p.returncode == 1 and "denied" in p.stderr
    assert symbi.run("run", "plain", "--input", "x").stdout == "x\n"


HOST = "agent.example.com"


@pytest.fixture
def tls(tmp_path):
    d = tmp_path / "tls"
    d.mkdir()
    ca, cert, key = make_ca(d, HOST)
    srv = DiscoveryServer(cert, key)
    yield ca, srv
    srv.close()


def test_discovery_cache_and_pinning_in_the_daemon(symbi, daemons, tmp_path, tls):
    ca, srv = tls
    key, doc, _ = keygen(symbi, tmp_path / "k", "k1", HOST)
    _, doc2, _ = keygen(symbi, tmp_path / "k2", "k1", HOST)
    srv.serve_file(doc)
    (symbi.data_dir / "symbi.toml").write_text(
        f'[agentpin]\ndomain = "{HOST}"\nca_file = "{ca}"\ncache_ttl_seconds = 2\n'
        f'discovery_resolve = "{HOST}:{srv.port}:127.0.0.1"\n')
    tok = issue(symbi, key, "k1", HOST, "deployer")
    write_agents(symbi.data_dir,
                 'agent deployer { builtin: "echo" }\n'
                 f'schedule {{ name: "d" agent: "deployer" cron: "0 0 1 1 *" input: "x" '
                 f'policy {{ require_agent_pin: true }} agent_pin_jwt: "{tok}" }}\n')
    start(symbi, daemons)
    r1 = wait_status(symbi, manual_run(symbi, "d"), "succeeded")
    r2 = wait_status(symbi, manual_run(symbi, "d"), "succeeded")
    assert srv.hits == 1  # the second run used the cached document
    assert r2["started_at"] - r1["started_at"] < 2000
    # the domain now serves another key for the pinned kid: refused
    srv.serve_file(doc2)
    wait_until(lambda: time.time() * 1000 > r1["started_at"] + 2100, what="the cache TTL")
    r3 = wait_status(symbi, manual_run(symbi, "d"), "denied")
    assert "changed since it was pinned" in r3["error_message"]
    assert srv.hits == 2
    assert events(symbi, "AgentPinVerificationFailed", r3["id"])


# ---- named policies ----

UPSTREAM = """
metadata { version = "1.0" }
policy hipaa_guard {
  allow: read(patient_data) if user.role == "doctor"
  deny: export(patient_data)
}
agent reporter { builtin: "echo" }
schedule morning_report {
  cron: "0 9 * * *", agent: "reporter"
  policy: "hipaa_guard"
}
"""

NAMED_POLICY = """
policy prod_gate {
  require_approval: true
  approvers: ["alice"]
  allowed_environments: ["production"]
}
"""

NAMED = """
agent deployer { builtin: "echo" capabilities: ["deployment"] }
schedule { name: "a" agent: "deployer" cron: "0 0 1 1 *" policy: "prod_gate" }
schedule { name: "b" agent: "deployer" cron: "0 0 1 1 *" policy: prod_gate
           policy { require_capabilities: ["deployment"] } }
schedule { name: "c" agent: "deployer" cron: "0 0 1 1 *" input: "free" }
"""


def test_upstream_policy_name_passes_dsl_check(symbi, tmp_path):
    f = tmp_path / "up.symbi"
    f.write_text(UPSTREAM)
    p = symbi.run("dsl", "check", f)
    assert p.returncode == 0, p.stderr
    assert 'warning: policy "hipaa_guard" is not defined' in p.stderr
    assert "has no effect" in p.stderr
    p = symbi.run("dsl", "check", "--format", "json", f, check=True)
    out = json.loads(p.stdout)
    assert out["schedules"][0]["policy"] == {"policy_ids": ["hipaa_guard"]}


def test_named_policy_applies_to_every_schedule(symbi, daemons):
    # the policy lives in another file of the agents directory
    write_agents(symbi.data_dir, NAMED_POLICY, "policies.symbi")
    write_agents(symbi.data_dir, NAMED)
    p = symbi.run("dsl", "check", symbi.data_dir / "agents" / "jobs.symbi",
                  symbi.data_dir / "agents" / "policies.symbi")
    assert p.returncode == 0 and "warning" not in p.stderr, p.stderr
    d = symbi.start("up", "--listen", "127.0.0.1:0", "--agents", symbi.data_dir / "agents",
                    "--environment", "production")
    daemons.append(d)
    d.wait_for("scheduler started", timeout=20)
    for name in ("a", "b"):
        pol = json.loads(job(symbi, name)["policy"])
        assert pol["require_approval"] is True and pol["approvers"] == ["alice"]
        rid = manual_run(symbi, name)
        wait_status(symbi, rid, "pending_approval")
        assert symbi.run("cron", "approve", rid, "--as", "bob").returncode == 1
        assert symbi.run("cron", "approve", rid, "--as", "alice").returncode == 0
        wait_status(symbi, rid, "succeeded")
    wait_status(symbi, manual_run(symbi, "c"), "succeeded")
    d.stop()
    # in another environment the named policy denies both, not c
    d = start(symbi, daemons)
    for name in ("a", "b"):
        r = wait_status(symbi, manual_run(symbi, name), "denied")
        assert 'environment "development" is not in allowed_environments' in r["error_message"]
        assert events(symbi, "PolicyDenied", r["id"])
    wait_status(symbi, manual_run(symbi, "c"), "succeeded")
