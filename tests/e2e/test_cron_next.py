"""`symbi cron next`: previews of fire instants in UTC and across DST, the
table and JSON formats, and errors naming the field, position or zone."""
import json


def test_table_across_berlin_spring_forward(symbi):
    p = symbi.run("cron", "next", "30 2 * * *", "--tz", "Europe/Berlin",
                  "--from", "2026-03-27T12:00:00Z", "--count", "3", check=True)
    assert p.stdout.splitlines() == [
        "At 02:30 (Europe/Berlin)",
        "2026-03-28T01:30:00Z  2026-03-28T02:30:00  +01:00",
        "2026-03-29T01:00:00Z  2026-03-29T03:00:00  +02:00",
        "2026-03-30T00:30:00Z  2026-03-30T02:30:00  +02:00",
        "DST: 2026-03-29: clocks in Europe/Berlin go forward from 02:00 to 03:00; "
        "the 02:30 fire runs once at 03:00",
        "DST: 2026-10-25: clocks in Europe/Berlin go back from 03:00 to 02:00, so 02:00-03:00 "
        "happens twice; the 02:30 fire runs once, in the first pass",
    ]


def test_json_across_new_york_fall_back(symbi):
    p = symbi.run("cron", "next", "0 * * * *", "--tz", "America/New_York",
                  "--from", "2026-11-01T04:30:00Z", "--count", "3", "--format", "json",
                  check=True)
    doc = json.loads(p.stdout)
    assert doc == {
        "expr": "0 * * * *",
        "timezone": "America/New_York",
        "next": [
            {"utc": "2026-11-01T05:00:00Z", "local": "2026-11-01T01:00:00-04:00"},
            {"utc": "2026-11-01T06:00:00Z", "local": "2026-11-01T01:00:00-05:00"},
            {"utc": "2026-11-01T07:00:00Z", "local": "2026-11-01T02:00:00-05:00"},
        ],
        "description": "Every hour at minute 0 (America/New_York)",
        "dst_notes": [
            "2026-11-01: clocks in America/New_York go back from 02:00 to 01:00, so 01:00-02:00 "
            "happens twice; the 01:00 fire runs in both passes",
            "2027-03-14: clocks in America/New_York go forward from 02:00 to 03:00; "
            "the 02:00 fire runs once at 03:00",
        ],
    }


def test_defaults_utc_five_instants_from_now(symbi):
    p = symbi.run("cron", "next", "@hourly", check=True)
    lines = p.stdout.splitlines()
    assert lines[0] == "Every hour at minute 0 (UTC)"
    lines = lines[1:]
    assert len(lines) == 5
    for line in lines:
        utc, local, off = line.split()
        assert utc.endswith(":00:00Z") and off == "+00:00"
        assert local == utc[:-1]


def test_first_instant_is_strictly_after_from(symbi):
    p = symbi.run("cron", "next", "0 9 * * *", "--from", "2026-01-01T09:00:00Z",
                  "--count", "1", check=True)
    assert p.stdout.splitlines()[1].startswith("2026-01-02T09:00:00Z")


def test_dst_options(symbi):
    p = symbi.run("cron", "next", "30 1 * * *", "--tz", "America/New_York", "--from",
                  "2026-10-31T12:00:00Z", "--count", "2", "--dst-overlap", "both", check=True)
    assert [l.split()[0] for l in p.stdout.splitlines()[1:3]] == [
        "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"]
    p = symbi.run("cron", "next", "30 2 * * *", "--tz=Europe/Berlin", "--from",
                  "2026-03-28T12:00:00Z", "--count=1", "--dst-gap=skip", check=True)
    assert p.stdout.splitlines()[1].startswith("2026-03-30T00:30:00Z")
    assert "the 02:30 fire does not run (dst_gap: skip)" in p.stdout


def test_bad_expression_names_field_and_position(symbi):
    p = symbi.run("cron", "next", "0 9 * * 8")
    assert p.returncode == 1
    assert ('cron: day-of-week value 8 out of range 0-7 at position 9 in "0 9 * * 8"'
            in p.stderr)
    assert p.stdout == ""


def test_bad_zone(symbi):
    p = symbi.run("cron", "next", "0 9 * * *", "--tz", "Mars/Base")
    assert p.returncode == 1
    assert 'unknown time zone "Mars/Base"' in p.stderr


def test_usage_errors(symbi):
    assert symbi.run("cron", "next").returncode == 2
    assert symbi.run("cron", "next", "@daily", "--count", "0").returncode == 2
    assert symbi.run("cron", "next", "@daily", "--from", "yesterday").returncode == 2
    assert symbi.run("cron", "next", "@daily", "--format", "xml").returncode == 2
    p = symbi.run("cron", "next", "--help")
    assert p.returncode == 0 and "usage: symbi cron next" in p.stdout


def test_no_more_instants(symbi):
    p = symbi.run("cron", "next", "0 0 0 1 1 * 2020", "--format", "json", check=True)
    assert json.loads(p.stdout)["next"] == []
