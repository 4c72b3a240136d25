"""[api] settings of symbi.toml reach the server: protect_health puts health
and /metrics behind the key, max_body_bytes bounds request bodies."""
import json

from apiclient import Api, assert_error, start_api


def test_protect_health_and_body_limit(symbi, daemons, tmp_path):
    cfg = tmp_path / "symbi.toml"
    cfg.write_text("[api]\nprotect_health = true\nmax_body_bytes = 2000\n")
    key = symbi.run("api-key", "create", "--name", "cfg", check=True).stdout.strip()
    _, port = start_api(symbi, daemons, env={"SYMBI_CONFIG": str(cfg)})
    anon, auth = Api(port), Api(port, key=key)
    for path in ("/api/v1/health", "/api/v1/health/scheduler", "/metrics"):
        assert_error(*anon.get(path), 401)
        assert auth.get(path)[0] in (200, 503)
    job = {"name": "b", "agent_id": "a", "cron_expr": "@daily", "input": "x" * 1500}
    assert auth.post("/api/v1/schedule", job)[0] == 201
    job = {"name": "c", "agent_id": "a", "cron_expr": "@daily", "input": "x" * 2100}
    st, b = auth.post("/api/v1/schedule", job)
    assert_error(st, b, 413)
    assert b["details"]["max_body_bytes"] == 2000
