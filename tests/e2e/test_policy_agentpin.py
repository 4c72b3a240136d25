"""End-to-end: `symbi agentpin keygen|issue|verify` and AgentPin discovery
over real HTTPS (SPEC §8.2): a TLS server on 127.0.0.1 with a certificate
from a test CA made by `openssl`, reached through [agentpin] ca_file and a
resolve override; TLS verification cannot be turned off."""
import pytest

from policy_util import DiscoveryServer, issue, keygen, make_ca

HOST = "agent.example.com"


@pytest.fixture
def tls(tmp_path):
    d = tmp_path / "tls"
    d.mkdir()
    ca, cert, key = make_ca(d, HOST)
    srv = DiscoveryServer(cert, key)
    yield ca, srv
    srv.close()


def write_config(symbi, text):
    (symbi.data_dir / "symbi.toml").write_text(text)


def test_keygen_issue_verify_with_trust_bundle(symbi, tmp_path):
    key, doc, bundle = keygen(symbi, tmp_path / "keys", "k1", "example.com")
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    write_config(symbi, f'[agentpin]\ndomain = "example.com"\ntrust_bundle = "{bundle}"\n')
    for der in (False, True):
        tok = issue(symbi, key, "k1", "example.com", "deployer", der=der, caps=["a", "b"])
        p = symbi.run("agentpin", "verify", tok, "--agent", "deployer")
        assert p.returncode == 0, p.stderr
        assert "key=local" in p.stdout
        assert ("signature=der" if der else "signature=raw") in p.stdout
    p = symbi.run("agentpin", "verify", tok, "--agent", "someone-else")
    assert p.returncode == 1
    assert 'names agent "deployer", not "someone-else"' in p.stderr
    # keys_dir: the discovery document alone
    write_config(symbi, f'[agentpin]\ndomain = "example.com"\nkeys_dir = "{doc.parent}"\n')
    assert symbi.run("agentpin", "verify", tok, "--agent", "deployer").returncode == 0


def test_verify_refuses_alg_none(symbi, tmp_path):
    key, _, bundle = keygen(symbi, tmp_path / "keys", "k1", "example.com")
    write_config(symbi, f'[agentpin]\ndomain = "example.com"\ntrust_bundle = "{bundle}"\n')
    none = "eyJhbGciOiJub25lIiwia2lkIjoiazEifQ.eyJpc3MiOiJleGFtcGxlLmNvbSJ9."
    p = symbi.run("agentpin", "verify", none)
    assert p.returncode == 1
    assert 'algorithm "none" refused' in p.stderr


def test_discovery_over_https(symbi, tmp_path, tls):
    ca, srv = tls
    key, doc, _ = keygen(symbi, tmp_path / "keys", "k1", HOST)
    srv.serve_file(doc)
    write_config(symbi, f'[agentpin]\ndomain = "{HOST}"\nca_file = "{ca}"\n'
                        f'discovery_resolve = "{HOST}:{srv.port}:127.0.0.1"\n')
    tok = issue(symbi, key, "k1", HOST, "deployer")
    p = symbi.run("agentpin", "verify", tok, "--agent", "deployer")
    assert p.returncode == 0, p.stderr
    assert "key=discovered" in p.stdout
    assert srv.hits == 1
    # another key under the same kid: the signature no longer verifies
    key2, _, _ = keygen(symbi, tmp_path / "keys2", "k1", HOST)
    p = symbi.run("agentpin", "verify", issue(symbi, key2, "k1", HOST, "deployer"))
    assert p.returncode == 1
    assert "signature does not verify" in p.stderr


def test_discovery_tls_is_always_verified(symbi, tmp_path, tls):
    ca, srv = tls
    key, doc, _ = keygen(symbi, tmp_path / "keys", "k1", HOST)
    srv.serve_file(doc)
    tok = issue(symbi, key, "k1", HOST, "deployer")
    resolve = f"{HOST}:{srv.port}:127.0.0.1"
    # no ca_file: the system CAs do not know the test CA
    write_config(symbi, f'[agentpin]\ndomain = "{HOST}"\ndiscovery_resolve = "{resolve}"\n')
    p = symbi.run("agentpin", "verify", tok)
    assert p.returncode == 1
    assert "discovery of agent.example.com failed" in p.stderr
    # another CA: refused as well
    other = tmp_path / "other"
    other.mkdir()
    other_ca, _, _ = make_ca(other, HOST)
    write_config(symbi, f'[agentpin]\ndomain = "{HOST}"\nca_file = "{other_ca}"\n'
                        f'discovery_resolve = "{resolve}"\n')
    p = symbi.run("agentpin", "verify", tok)
    assert p.returncode == 1 and "discovery" in p.stderr
    # a certificate for another name (resolve the wrong host to the same server)
    write_config(symbi, f'[agentpin]\ndomain = "wrong.example.com"\nca_file = "{ca}"\n'
                        f'discovery_resolve = "wrong.example.com:{srv.port}:127.0.0.1"\n')
    tok2 = issue(symbi, key, "k1", "wrong.example.com", "deployer")
    p = symbi.run("agentpin", "verify", tok2)
    assert p.returncode == 1 and "discovery" in p.stderr
    # no configuration key turns verification off
    write_config(symbi, f'[agentpin]\ndomain = "{HOST}"\ntls_verify = false\n')
    p = symbi.run("agentpin", "verify", tok)
    assert p.returncode == 1 and "tls_verify" in p.stderr
    assert srv.hits == 0
