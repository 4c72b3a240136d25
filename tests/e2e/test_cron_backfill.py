"""`symbi cron backfill` and POST /api/v1/schedule/{job}/backfill: one queued
run per fire instant of a range, in order, trigger `backfill`; a second
identical call adds none; DST ranges give the zone's instants; the live
scheduler runs them within max_concurrent."""
import json

from apiclient import Api, start_api
from sched_util import audit, overlaps, runs, wait_until, write_agents

AGENTS = """
agent nop { builtin: "noop" }
schedule { name: "hourly" agent: "nop" cron: "0 * * * *" }
schedule { name: "berlin" agent: "nop" cron: "30 2 * * *" timezone: "Europe/Berlin" }
schedule { name: "held" agent: "nop" cron: "0 0 * * *" }
"""


def backfill(symbi, *args):
    p = symbi.run("cron", "backfill", *args, "--format", "json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def iso_hours(day_from, days):
    return [f"2026-01-{day_from + h // 24:02d}T{h % 24:02d}:00:00Z" for h in range(24 * days)]


def test_backfill_three_days_then_again_then_dst(symbi, daemons):
    agents = write_agents(symbi.data_dir, AGENTS)
    symbi.run("cron", "add", "--file", agents / "jobs.symbi", check=True)
    rng = ("--from", "2026-01-01T00:00:00Z", "--to", "2026-01-04T00:00:00Z")
    dry = backfill(symbi, "hourly", *rng, "--dry-run")
    assert dry["dry_run"] is True and len(dry["queued"]) == 72
    assert runs(symbi) == []

    b = backfill(symbi, "hourly", *rng)
    assert b["queued"] == iso_hours(1, 3) and b["skipped"] == []
    recs = sorted(runs(symbi, "hourly"), key=lambda r: r["due_at"])
    assert len(recs) == 72
    assert all(r["trigger"] == "backfill" and r["status"] == "queued" and r["attempt"] == 1
               and r["node"] is None for r in recs)
    assert [r["scheduled_at"] for r in recs] == sorted(r["scheduled_at"] for r in recs)
    ev = audit(symbi, type="CronJobBackfilled")
    assert len(ev) == 1 and json.loads(ev[0]["details"])["queued"] == 72

    again = backfill(symbi, "hourly", *rng)
    assert again["queued"] == [] and again["skipped"] == iso_hours(1, 3)
    assert len(runs(symbi)) == 72
    text = symbi.run("cron", "backfill", "hourly", *rng, check=True).stdout
    assert "exists   2026-01-01T00:00:00Z" in text and "0 runs queued, 72 instants skipped" in text

    # 02:30 Berlin: CET, then the spring gap (shifted to 03:00 CEST), then CEST
    d = backfill(symbi, "berlin", "--from", "2026-03-27T00:00:00Z", "--to", "2026-03-31T00:00:00Z")
    assert d["queued"] == ["2026-03-27T01:30:00Z", "2026-03-28T01:30:00Z",
                           "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"]
    # and the autumn overlap: 02:30 happens twice on 2026-10-25, fired once (the first)
    d = backfill(symbi, "berlin", "--from", "2026-10-24T00:00:00Z", "--to", "2026-10-27T00:00:00Z")
    assert d["queued"] == ["2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z",
                           "2026-10-26T01:30:00Z"]

    # the live scheduler runs them, in order, one at a time (max_concurrent 1)
    dm, port = start_api(symbi, daemons, "--agents", agents)
    done = wait_until(lambda: (lambda r: r if all(x["status"] == "succeeded" for x in r) else None)(
        [r for r in runs(symbi, "hourly") if r["trigger"] == "backfill"]), timeout=60,
        what="the backfilled runs")
    assert len(done) == 72
    starts = [r["started_at"] for r in done]
    assert starts == sorted(starts)
    assert overlaps([(r["started_at"], r["finished_at"]) for r in done]) <= 1

    api = Api(port)
    st, body = api.post("/api/v1/schedule/hourly/backfill",
                        {"from": "2026-01-04T00:00:00Z", "to": "2026-01-04T03:00:00Z"})
    assert st == 202, body
    assert body["queued"] == ["2026-01-04T00:00:00Z", "2026-01-04T01:00:00Z",
                              "2026-01-04T02:00:00Z"]
    st, body = api.post("/api/v1/schedule/hourly/backfill",
                        {"from": "2026-01-03T23:00:00Z", "to": "2026-01-04T01:00:00Z",
                         "dry_run": True})
    assert st == 200 and body["queued"] == [] and len(body["skipped"]) == 2
    st, body = api.post("/api/v1/schedule/hourly/backfill", {"from": "soon", "to": "later"})
    assert st == 400 and body["code"] == "INVALID_FIELD"
    st, body = api.post("/api/v1/schedule/nosuch/backfill",
                        {"from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z"})
    assert st == 404
    st, body = api.post("/api/v1/schedule/hourly/backfill",
                        {"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"})
    assert st == 422 and "more than 10000" in body["error"]


def test_backfill_refusals(symbi):
    agents = write_agents(symbi.data_dir, AGENTS)
    symbi.run("cron", "add", "--file", agents / "jobs.symbi", check=True)
    symbi.run("cron", "pause", "held", check=True)
    p = symbi.run("cron", "backfill", "held", "--from", "2026-01-01", "--to", "2026-01-02")
    assert p.returncode == 1 and "is paused; resume it first" in p.stderr
    p = symbi.run("cron", "backfill", "hourly", "--from", "2026-01-02", "--to", "2026-01-01")
    assert p.returncode == 1 and "--to must be after --from" in p.stderr
    p = symbi.run("cron", "backfill", "hourly", "--from", "2026-01-01")
    assert p.returncode == 2
    assert runs(symbi) == []
