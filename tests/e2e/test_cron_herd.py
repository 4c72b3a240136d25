"""`symbi cron herd`: 200 jobs on `0 * * * *` and 20 on `*/15 * * * *` with
max_concurrent_jobs = 20 are a herd at :00; with the suggested jitter set on
each job the same check finds none."""
import json

from sched_util import write_config


def jobs_file(path, jitter=None):
    extra = f' jitter: "{jitter}"' if jitter else ""
    blocks = [f'schedule h{i} {{ agent: a cron: "0 * * * *"{extra} }}' for i in range(200)]
    blocks += [f'schedule q{i} {{ agent: a cron: "*/15 * * * *"{extra} }}' for i in range(20)]
    path.write_text("\n".join(blocks) + "\n")
    return path


def herd(symbi, *args):
    p = symbi.run("cron", "herd", "--format", "json", *args, check=True)
    return json.loads(p.stdout)


def test_herd_found_then_spread_by_the_suggested_jitter(symbi, tmp_path):
    write_config(symbi.data_dir, {"max_concurrent_jobs": 20})
    symbi.run("cron", "add", "--file", jobs_file(tmp_path / "j.symbi"), check=True)
    r = herd(symbi)
    assert r["threshold"] == 20
    assert r["seconds"] == 24  # one second an hour, for 24 hours
    assert r["peak"] == 220
    assert r["first_at"].endswith(":00:00Z")
    groups = {g["expr"]: g for g in r["groups"]}
    assert set(groups) == {"0 * * * *", "*/15 * * * *"}
    assert groups["0 * * * *"]["jobs"] == 200 and groups["*/15 * * * *"]["jobs"] == 20
    jit = groups["0 * * * *"]["suggested_jitter_seconds"]
    assert jit == 10  # 220 starts over 11 seconds = 20 a second
    assert groups["*/15 * * * *"]["suggested_jitter_seconds"] == jit
    text = symbi.run("cron", "herd", check=True).stdout
    assert "0 * * * *" in text and "10s" in text and "max_concurrent_jobs" in text

    # a threshold of their own: the :15/:30/:45 seconds (20 starts) are herds over 19
    r19 = herd(symbi, "--threshold", "19", "--hours", "2")
    assert r19["seconds"] == 8 and r19["threshold"] == 19

    symbi.run("cron", "add", "--file", jobs_file(tmp_path / "j.symbi", f"{jit}s"), check=True)
    r = herd(symbi)
    assert r["seconds"] == 0 and r["groups"] == [], r
    assert "No herd" in symbi.run("cron", "herd", check=True).stdout


def test_herd_usage(symbi):
    p = symbi.run("cron", "herd", "--hours", "0")
    assert p.returncode == 2 and "--hours must be 1-744" in p.stderr
