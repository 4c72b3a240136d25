"""symbi.toml as the CLI reads it (SPEC §11): --config / $SYMBI_CONFIG /
./symbi.toml choose the file, [store] url is honoured, the environment and
flags win, and a bad file stops the command with FILE:LINE: KEY."""


def test_store_url_from_config(symbi, tmp_path):
    db = tmp_path / "from-config.db"
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[store]\nurl = "{db}"\n')
    p = symbi.run("--config", cfg, "cron", "list")
    assert p.returncode == 0, p.stderr
    assert db.exists()
    # $SYMBI_CONFIG names the same file
    db.unlink()
    p = symbi.run("cron", "list", env={"SYMBI_CONFIG": str(cfg)})
    assert p.returncode == 0, p.stderr
    assert db.exists()
    # ./symbi.toml in the working directory
    db.unlink()
    (tmp_path / "symbi.toml").write_text(cfg.read_text())
    p = symbi.run("cron", "list", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert db.exists()


def test_environment_and_flag_beat_the_file(symbi, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[store]\nurl = "{tmp_path / "file.db"}"\n')
    env_db = tmp_path / "env.db"
    p = symbi.run("--config", cfg, "cron", "list", env={"SYMBI_STORE": str(env_db)})
    assert p.returncode == 0, p.stderr
    assert env_db.exists() and not (tmp_path / "file.db").exists()
    flag_db = tmp_path / "flag.db"
    p = symbi.run("--config", cfg, "--store", flag_db, "cron", "list",
                  env={"SYMBI_STORE": str(env_db)})
    assert p.returncode == 0, p.stderr
    assert flag_db.exists() and not (tmp_path / "file.db").exists()


def test_bad_config_stops_with_file_line_key(symbi, tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[scheduler]\nmax_jitter_seconds = 30\n\n[store]\nurll = \"x.db\"\n")
    p = symbi.run("--config", cfg, "cron", "list")
    assert p.returncode == 1
    assert p.stderr == f"symbi: {cfg}:5: store.urll: unknown key; did you mean `url`?\n"
    cfg.write_text("[scheduler]\nmax_concurrent_jobs = \"many\"\n")
    p = symbi.run("--config", cfg, "cron", "list")
    assert p.returncode == 1
    assert p.stderr == (f"symbi: {cfg}:2: scheduler.max_concurrent_jobs: expected an integer, "
                        "found a string\n")
    p = symbi.run("--config", tmp_path / "missing.toml", "cron", "list")
    assert p.returncode == 1
    assert "missing.toml: cannot read: No such file or directory" in p.stderr


def test_bad_environment_value_stops(symbi, tmp_path):
    p = symbi.run("cron", "list", env={"SYMBI_AGENTPIN_REQUIRED": "perhaps"})
    assert p.returncode == 1
    assert "SYMBI_AGENTPIN_REQUIRED: \"perhaps\" is not true or false" in p.stderr


def test_up_expands_store_url_at_use(symbi, daemons, tmp_path):
    from conftest import free_port
    cfg = tmp_path / "up.toml"
    cfg.write_text('[store]\nurl = "${SYMBI_T_DB_DIR}/up.db"\n')
    (tmp_path / "dbdir").mkdir()
    d = symbi.start("--config", cfg, "up", "--listen", f"127.0.0.1:{free_port()}",
                    env={"SYMBI_T_DB_DIR": str(tmp_path / "dbdir")})
    daemons.append(d)
    out = d.wait_for("scheduler started")
    assert f"store={tmp_path / 'dbdir' / 'up.db'}" in out
    assert (tmp_path / "dbdir" / "up.db").exists()
