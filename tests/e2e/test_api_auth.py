"""SPEC §9 authentication end to end: every non-health route of the route
table (read from src/http/routes.c) answers 401 without a key, with a wrong
key and with a revoked key; SYMBI_API_KEY works; without any key the daemon
refuses a non-loopback address; with a key it serves a second network
namespace joined by a veth pair."""
import json
import os
import re
import subprocess
import textwrap
from pathlib import Path

import pytest

from apiclient import Api, assert_error, start_api, wait_until

ROOT = Path(__file__).resolve().parents[2]
ROUTE_RE = re.compile(r'\{"(GET|POST|PUT|DELETE)",\s*"(/[^"]*)",\s*(\w+),\s*(true|false),\s*'
                      r'(true|false),\s*(\w+)\}')


def routes():
    rows = ROUTE_RE.findall((ROOT / "src/http/routes.c").read_text())
    assert len(rows) >= 28, rows
    return [(m, p.replace("{}", "some-id"), pub == "true") for m, p, _, pub, _, _ in rows]


def create_key(symbi, name):
    p = symbi.run("api-key", "create", "--name", name, check=True)
    key = p.stdout.strip()
    assert re.fullmatch(r"symbi_[0-9a-f]{64}", key), p.stdout
    assert key not in p.stderr
    return key


def test_every_route_needs_a_live_key(symbi, daemons):
    key = create_key(symbi, "ci")
    other = create_key(symbi, "other")
    lst = symbi.run("api-key", "list", check=True).stdout
    assert "ci" in lst and "other" in lst and key not in lst and "active" in lst
    _, port = start_api(symbi, daemons)
    anon, bad, good = Api(port), Api(port, key="symbi_" + "0" * 64), Api(port, key=key)
    for method, path, public in routes():
        body = {} if method in ("POST", "PUT") else None
        for client in (anon, bad):
            st, b = client.call(method, path, body)
            if public:
                # a public route with a parameter (a dashboard file) may not have "some-id"
                assert st == 200 or (st == 404 and "some-id" in path), (method, path, st, b)
            else:
                assert_error(st, b, 401)
        st, b = good.call(method, path, body)
        assert st != 401, (method, path, b)
    # malformed Authorization headers
    for h in ("Bearer", "Bearer ", "Basic Zm9vOmJhcg==", key, f"Bearer {key}x", "Bearer " + "a" * 5000):
        st, b = anon.call("GET", "/api/v1/schedule", headers={"Authorization": h})
        assert_error(st, b, 401)
    # revoking one key leaves the other working
    assert symbi.run("api-key", "revoke", "ci").returncode == 0
    wait_until(lambda: good.get("/api/v1/schedule")[0] == 401, timeout=5)
    for method, path, public in routes():
        if not public:
            st, b = good.call(method, path, {} if method in ("POST", "PUT") else None)
            assert_error(st, b, 401)
    assert Api(port, key=other).get("/api/v1/schedule")[0] == 200
    assert "revoked" in symbi.run("api-key", "list").stdout
    assert symbi.run("api-key", "revoke", "no-such-key").returncode != 0


def test_env_key(symbi, daemons):
    key = "env-secret-" + os.urandom(16).hex()
    _, port = start_api(symbi, daemons, env={"SYMBI_API_KEY": key})
    assert_error(*Api(port).get("/api/v1/schedule"), 401)
    assert_error(*Api(port, key=key + "x").get("/api/v1/schedule"), 401)
    assert Api(port, key=key).get("/api/v1/schedule") == (200, [])
    assert Api(port).get("/api/v1/health")[0] == 200


def test_protected_mode_refuses_non_loopback(symbi):
    p = symbi.run("up", "--listen", "0.0.0.0:0", timeout=20)
    assert p.returncode == 1
    assert "no API key" in p.stderr and "0.0.0.0:0" in p.stderr
    p = symbi.run("up", "--listen", "[::]:0", timeout=20)
    assert p.returncode == 1 and "no API key" in p.stderr


def test_protected_mode_serves_loopback_without_key(symbi, daemons):
    _, port = start_api(symbi, daemons)
    assert Api(port).get("/api/v1/schedule") == (200, [])
    # once a key exists, loopback needs it too
    key = create_key(symbi, "late")
    wait_until(lambda: Api(port).get("/api/v1/schedule")[0] == 401, timeout=5)
    assert Api(port, key=key).get("/api/v1/schedule")[0] == 200


CLIENT = textwrap.dedent("""
    import http.client, sys
    c = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]), timeout=5)
    h = {"Authorization": "Bearer " + sys.argv[3]} if len(sys.argv) > 3 else {}
    c.request("GET", "/api/v1/schedule", headers=h)
    print(c.getresponse().status)
""")


@pytest.fixture
def veth():
    """A network namespace joined to this one by a veth pair, in a private
    /30 (10.213.N.0/30) that exists only on this machine; torn down after."""
    tag = f"{os.getpid() % 100000}"
    ns, a, b = f"symbi-t{tag}", f"sya{tag}", f"syb{tag}"
    net = 16 + os.getpid() % 200
    host_ip, ns_ip = f"10.213.{net}.1", f"10.213.{net}.2"

    def ip(*args, check=True):
        return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=10)

    try:
        r = ip("netns", "add", ns, check=False)
    except FileNotFoundError:
        pytest.skip("iproute2's ip is not installed")
    if r.returncode != 0:
        pytest.skip(f"ip netns is not permitted here: {r.stderr.strip()}")
    try:
        ip("link", "add", a, "type", "veth", "peer", "name", b)
        ip("link", "set", b, "netns", ns)
        ip("addr", "add", f"{host_ip}/30", "dev", a)
        ip("link", "set", a, "up")
        ip("netns", "exec", ns, "ip", "addr", "add", f"{ns_ip}/30", "dev", b)
        ip("netns", "exec", ns, "ip", "link", "set", b, "up")
        ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
        yield ns, host_ip
    finally:
        ip("link", "del", a, check=False)
        ip("netns", "del", ns, check=False)


def test_second_namespace_over_veth(symbi, daemons, veth):
    ns, host_ip = veth
    # without a key the daemon refuses the veth address
    p = symbi.run("up", "--listen", f"{host_ip}:0", timeout=20)
    assert p.returncode == 1 and "no API key" in p.stderr
    key = create_key(symbi, "netns")
    _, port = start_api(symbi, daemons, listen=f"{host_ip}:0")

    def from_ns(*extra):
        r = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", CLIENT, host_ip,
                            str(port), *extra], capture_output=True, text=True, timeout=20)
        assert r.returncode == 0, r.stderr
        return int(r.stdout.strip())

    assert from_ns() == 401
    assert from_ns("symbi_" + "1" * 64) == 401
    assert from_ns(key) == 200


def test_api_key_cli_usage(symbi):
    for args in (("api-key", "--help"), ("api-key", "create", "--help")):
        p = symbi.run(*args)
        assert p.returncode == 0 and "usage:" in p.stdout
    p = symbi.run("api-key", "create")
    assert p.returncode == 2 and "--name is required" in p.stderr
    p = symbi.run("api-key", "create", "--name", "bad name!")
    assert p.returncode == 2 and "bad key name" in p.stderr
    p = symbi.run("api-key", "list", "--format", "json", check=True)
    assert p.stdout.strip() == "[]"
    create_key(symbi, "k1")
    keys = json.loads(symbi.run("api-key", "list", "--format", "json", check=True).stdout)
    assert [k["name"] for k in keys] == ["k1"] and keys[0]["status"] == "active"
    assert set(keys[0]) == {"id", "name", "scopes", "created_at", "revoked_at", "status"}
    assert keys[0]["scopes"] == "admin"  # no --scope: every right
    assert symbi.run("api-key", "revoke", keys[0]["id"][:8]).returncode == 0
    keys = json.loads(symbi.run("api-key", "list", "--format", "json", check=True).stdout)
    assert keys[0]["status"] == "revoked" and keys[0]["revoked_at"]
