/* test_store.c - the store conformance suite, part 1 (run against the
 * backend SYMBI_TEST_STORE names, SQLite by default: support/store_fixture.h):
 * opening, jobs (create, lookup by id/prefix/name, update, upsert, delete,
 * status changes, listing), runs, the audit trail, agents, contexts, keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "support/store_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1774000000000LL /* 2026-03-20T09:46:40Z */

#define setup    store_fixture_setup
#define teardown store_fixture_teardown
#define st_of    store_fixture_st

static size_t audit_count(struct symbi_store *st, const char *type, const char *job)
{
    struct symbi_audit_filter f = {type, job, SYMBI_TIME_NONE, SYMBI_TIME_NONE, 100000};
    struct symbi_audit_event *ev = NULL;
    size_t n = 0;
    assert_int_equal(symbi_store_audit_query(st, &f, &ev, &n, NULL), 0);
    symbi_audit_list_free(ev, n);
    return n;
}

static void create_at(struct symbi_store *st, struct symbi_job *job, const char *name, int64_t at)
{
    struct symbi_err err = {0};
    fixture_at_job(job, name, at);
    if (symbi_store_job_create(st, job, T0, "test", &err) != 0)
        fail_msg("create %s: %s", name, err.msg);
}

static void test_open_migrates_once(void **state)
{
    struct store_fixture *fx = *state;
    struct symbi_err err = {0};
    assert_int_equal(symbi_store_check(fx->st, &err), 0);
    /* a second handle on the same store sees the same schema, no re-run */
    struct symbi_store *b = NULL;
    assert_int_equal(symbi_store_open(fx->url, &b, &err), 0);
    assert_string_equal(symbi_store_backend(b), symbi_store_backend(fx->st));
    struct symbi_job j;
    create_at(fx->st, &j, "one", T0 + 1000);
    struct symbi_job got;
    assert_int_equal(symbi_store_job_get(b, "one", &got, &err), 0);
    assert_string_equal(got.id, j.id);
    symbi_job_cleanup(&got);
    symbi_job_cleanup(&j);
    assert_int_equal(symbi_store_check(b, &err), 0);
    symbi_store_close(b);
}

static void test_job_create_and_lookup(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job j;
    create_at(st, &j, "nightly-report", T0 + 3600000);
    assert_int_equal(strlen(j.id), SYMBI_UUID_LEN);
    assert_int_equal(j.created_at, T0);
    assert_int_equal(j.updated_at, T0);
    assert_int_equal(j.next_run, T0 + 3600000); /* an `at` job fires at its instant */

    struct symbi_job got;
    assert_int_equal(symbi_store_job_get(st, j.id, &got, &err), 0);
    assert_string_equal(got.name, "nightly-report");
    assert_string_equal(got.agent, "agent-1");
    assert_null(got.cron_expr);
    assert_int_equal(got.at, T0 + 3600000);
    assert_int_equal(got.status, SYMBI_JOB_ACTIVE);
    assert_int_equal(got.max_concurrent, 1);
    assert_int_equal(got.max_retries, -1);
    assert_int_equal(got.jitter_ms, -1);
    assert_int_equal(got.last_run, SYMBI_TIME_NONE);
    symbi_job_cleanup(&got);

    /* by name, by 8-character prefix; a 7-character prefix is not enough */
    assert_int_equal(symbi_store_job_get(st, "nightly-report", &got, &err), 0);
    assert_string_equal(got.id, j.id);
    symbi_job_cleanup(&got);
    char prefix[9];
    memcpy(prefix, j.id, 8);
    prefix[8] = '\0';
    assert_int_equal(symbi_store_job_get(st, prefix, &got, &err), 0);
    assert_string_equal(got.id, j.id);
    symbi_job_cleanup(&got);
    prefix[7] = '\0';
    assert_int_equal(symbi_store_job_get(st, prefix, &got, &err), SYMBI_ENOTFOUND);
    assert_non_null(strstr(err.msg, "at least 8 characters"));
    /* ids match in any case */
    char upper[SYMBI_UUID_LEN + 1];
    for (size_t i = 0; i <= SYMBI_UUID_LEN; i++)
        upper[i] = (char)(j.id[i] >= 'a' && j.id[i] <= 'f' ? j.id[i] - 'a' + 'A' : j.id[i]);
    assert_int_equal(symbi_store_job_get(st, upper, &got, &err), 0);
    assert_string_equal(got.id, j.id);
    symbi_job_cleanup(&got);
    upper[10] = '\0';
    assert_int_equal(symbi_store_job_get(st, upper, &got, &err), 0);
    symbi_job_cleanup(&got);
    assert_int_equal(symbi_store_job_get(st, "no-such-job", &got, &err), SYMBI_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no-such-job"));

    /* a name already taken is refused and nothing is written */
    struct symbi_job dup;
    fixture_at_job(&dup, "nightly-report", T0 + 1);
    assert_int_equal(symbi_store_job_create(st, &dup, T0, "test", &err), SYMBI_EEXIST);
    assert_non_null(strstr(err.msg, "nightly-report"));
    assert_string_equal(dup.id, "");
    symbi_job_cleanup(&dup);
    int64_t counts[5];
    assert_int_equal(symbi_store_job_counts(st, counts, &err), 0);
    assert_int_equal(counts[SYMBI_JOB_ACTIVE], 1);
    assert_int_equal(audit_count(st, "CronJobCreated", NULL), 1);

    /* a job with neither or both of cron_expr and at is refused */
    struct symbi_job bad;
    fixture_at_job(&bad, "neither", SYMBI_TIME_NONE);
    assert_int_equal(symbi_store_job_create(st, &bad, T0, "test", &err), SYMBI_EINVAL);
    symbi_job_cleanup(&bad);
    symbi_job_cleanup(&j);
}

static void test_ambiguous_prefix(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job a, b;
    fixture_at_job(&a, "a", T0 + 1000);
    fixture_at_job(&b, "b", T0 + 1000);
    strcpy(a.id, "abcdef01-0000-4000-8000-000000000001");
    strcpy(b.id, "abcdef01-0000-4000-8000-000000000002");
    assert_int_equal(symbi_store_job_create(st, &a, T0, "test", &err), 0);
    assert_int_equal(symbi_store_job_create(st, &b, T0, "test", &err), 0);
    struct symbi_job got;
    assert_int_equal(symbi_store_job_get(st, "abcdef01", &got, &err), SYMBI_EAMBIGUOUS);
    assert_non_null(strstr(err.msg, "ambiguous"));
    assert_int_equal(symbi_store_job_get(st, "abcdef01-0000-4000-8000-00000000000", &got, &err),
                     SYMBI_EAMBIGUOUS);
    assert_int_equal(symbi_store_job_get(st, "abcdef01-0000-4000-8000-000000000002", &got, &err),
                     0);
    assert_string_equal(got.name, "b");
    symbi_job_cleanup(&got);
    /* a name wins over a prefix */
    struct symbi_job c;
    fixture_at_job(&c, "abcdef01", T0 + 1000);
    assert_int_equal(symbi_store_job_create(st, &c, T0, "test", &err), 0);
    assert_int_equal(symbi_store_job_get(st, "abcdef01", &got, &err), 0);
    assert_string_equal(got.id, c.id);
    symbi_job_cleanup(&got);
    symbi_job_cleanup(&a);
    symbi_job_cleanup(&b);
    symbi_job_cleanup(&c);
}

static void test_job_update_keeps_state(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job j, other;
    create_at(st, &j, "upd", T0 + 60000);
    create_at(st, &other, "taken", T0 + 60000);
    assert_int_equal(symbi_store_job_set_status(st, j.id, SYMBI_JOB_PAUSED, T0, "test", &err), 0);

    /* a definition change: status stays paused, next_run recomputed */
    struct symbi_job edit;
    assert_int_equal(symbi_store_job_get(st, "upd", &edit, &err), 0);
    edit.at = T0 + 120000;
    edit.max_concurrent = 4;
    edit.status = SYMBI_JOB_ACTIVE; /* ignored: status is changed by pause/resume */
    edit.run_count = 99;            /* ignored: counters are the store's */
    assert_int_equal(symbi_set_str(&edit.input, "hello"), 0);
    assert_int_equal(symbi_store_job_update(st, &edit, T0 + 5, "api", &err), 0);
    assert_int_equal(edit.status, SYMBI_JOB_PAUSED);
    assert_int_equal(edit.run_count, 0);
    assert_int_equal(edit.updated_at, T0 + 5);
    struct symbi_job got;
    assert_int_equal(symbi_store_job_get(st, j.id, &got, &err), 0);
    assert_int_equal(got.at, T0 + 120000);
    assert_int_equal(got.next_run, T0 + 120000);
    assert_int_equal(got.max_concurrent, 4);
    assert_string_equal(got.input, "hello");
    assert_int_equal(got.status, SYMBI_JOB_PAUSED);
    assert_int_equal(got.created_at, T0);
    symbi_job_cleanup(&got);
    assert_int_equal(audit_count(st, "CronJobUpdated", "upd"), 1);

    /* an update that changes nothing writes nothing */
    assert_int_equal(symbi_store_job_update(st, &edit, T0 + 9, "api", &err), 0);
    assert_int_equal(edit.updated_at, T0 + 5);
    assert_int_equal(audit_count(st, "CronJobUpdated", "upd"), 1);

    /* renaming onto a taken name is refused and changes nothing */
    assert_int_equal(symbi_set_str(&edit.name, "taken"), 0);
    assert_int_equal(symbi_store_job_update(st, &edit, T0 + 10, "api", &err), SYMBI_EEXIST);
    assert_int_equal(symbi_store_job_get(st, j.id, &got, &err), 0);
    assert_string_equal(got.name, "upd");
    symbi_job_cleanup(&got);
    /* updating a job that is gone */
    strcpy(edit.id, "00000000-0000-4000-8000-000000000000");
    assert_int_equal(symbi_set_str(&edit.name, "ghost"), 0);
    assert_int_equal(symbi_store_job_update(st, &edit, T0, "api", &err), SYMBI_ENOTFOUND);
    symbi_job_cleanup(&edit);
    symbi_job_cleanup(&j);
    symbi_job_cleanup(&other);
}

static void test_job_upsert(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job j;
    bool created = false;
    fixture_at_job(&j, "declared", T0 + 60000);
    assert_int_equal(symbi_set_str(&j.source, "dsl:agents/a.symbi"), 0);
    assert_int_equal(symbi_store_job_upsert(st, &j, T0, "cli", &created, &err), 0);
    assert_true(created);
    char id[SYMBI_UUID_LEN + 1];
    strcpy(id, j.id);
    symbi_job_cleanup(&j);

    /* the same definition again: same job, nothing written */
    fixture_at_job(&j, "declared", T0 + 60000);
    assert_int_equal(symbi_set_str(&j.source, "dsl:agents/a.symbi"), 0);
    assert_int_equal(symbi_store_job_upsert(st, &j, T0 + 1, "cli", &created, &err), 0);
    assert_false(created);
    assert_string_equal(j.id, id);
    assert_int_equal(audit_count(st, "CronJobUpdated", NULL), 0);
    symbi_job_cleanup(&j);

    /* paused, then redefined: stays paused, keeps its id */
    assert_int_equal(symbi_store_job_set_status(st, id, SYMBI_JOB_PAUSED, T0, "cli", &err), 0);
    fixture_at_job(&j, "declared", T0 + 90000);
    assert_int_equal(symbi_store_job_upsert(st, &j, T0 + 2, "cli", &created, &err), 0);
    assert_false(created);
    assert_string_equal(j.id, id);
    assert_int_equal(j.status, SYMBI_JOB_PAUSED);
    assert_int_equal(j.next_run, T0 + 90000);
    assert_int_equal(audit_count(st, "CronJobUpdated", "declared"), 1);
    symbi_job_cleanup(&j);
}

static void test_status_transitions(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job j;
    create_at(st, &j, "flip", T0 + 60000);
    assert_int_equal(symbi_store_job_set_status(st, "flip", SYMBI_JOB_PAUSED, T0, "cli", &err), 0);
    /* pausing again is a no-op, not an error, and writes no event */
    assert_int_equal(symbi_store_job_set_status(st, "flip", SYMBI_JOB_PAUSED, T0, "cli", &err), 0);
    assert_int_equal(audit_count(st, "CronJobPaused", "flip"), 1);
    /* reset of a paused job is refused */
    assert_int_equal(symbi_store_job_reset(st, "flip", T0, "cli", &err), SYMBI_ESTATE);
    assert_int_equal(symbi_store_job_set_status(st, "flip", SYMBI_JOB_ACTIVE, T0, "cli", &err), 0);
    assert_int_equal(audit_count(st, "CronJobResumed", "flip"), 1);
    /* reset of an active job is refused and writes no event (issue 10 #9) */
    assert_int_equal(symbi_store_job_reset(st, "flip", T0, "cli", &err), SYMBI_ESTATE);
    assert_non_null(strstr(err.msg, "active"));
    assert_int_equal(audit_count(st, "CronJobReset", "flip"), 0);
    /* dead letter: resume is refused, reset reactivates with 0 failures */
    assert_int_equal(
        symbi_store_job_set_status(st, "flip", SYMBI_JOB_DEAD_LETTER, T0, "scheduler", &err), 0);
    assert_int_equal(symbi_store_job_set_status(st, "flip", SYMBI_JOB_ACTIVE, T0, "cli", &err),
                     SYMBI_ESTATE);
    assert_non_null(strstr(err.msg, "reset"));
    assert_int_equal(symbi_store_job_reset(st, "flip", T0 + 7, "cli", &err), 0);
    struct symbi_job got;
    assert_int_equal(symbi_store_job_get(st, "flip", &got, &err), 0);
    assert_int_equal(got.status, SYMBI_JOB_ACTIVE);
    assert_int_equal(got.failure_count, 0);
    assert_int_equal(got.next_run, T0 + 60000);
    symbi_job_cleanup(&got);
    assert_int_equal(audit_count(st, "CronJobReset", "flip"), 1);
    assert_int_equal(audit_count(st, NULL, "flip"), 5);
    /* completed jobs do not resume */
    assert_int_equal(
        symbi_store_job_set_status(st, "flip", SYMBI_JOB_COMPLETED, T0, "scheduler", &err), 0);
    assert_int_equal(symbi_store_job_set_status(st, "flip", SYMBI_JOB_ACTIVE, T0, "cli", &err),
                     SYMBI_ESTATE);
    assert_int_equal(symbi_store_job_set_status(st, "nope", SYMBI_JOB_PAUSED, T0, "cli", &err),
                     SYMBI_ENOTFOUND);
    symbi_job_cleanup(&j);
}

static void test_delete_cascades_but_audit_stays(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job j;
    create_at(st, &j, "doomed", T0 + 60000);
    struct symbi_run r;
    symbi_run_init(&r);
    strcpy(r.job_id, j.id);
    r.scheduled_at = T0;
    assert_int_equal(symbi_store_run_insert(st, &r, &err), 0);
    assert_int_equal(symbi_store_context_put(st, j.id, "{\"k\":1}", T0, &err), 0);
    assert_int_equal(symbi_store_job_delete(st, "doomed", "cli", &err), 0);
    struct symbi_job got;
    assert_int_equal(symbi_store_job_get(st, j.id, &got, &err), SYMBI_ENOTFOUND);
    struct symbi_run rg;
    assert_int_equal(symbi_store_run_get(st, r.id, &rg, &err), SYMBI_ENOTFOUND);
    char *ctx = NULL;
    assert_int_equal(symbi_store_context_get(st, j.id, &ctx, &err), 0);
    assert_null(ctx);
    assert_int_equal(audit_count(st, "CronJobDeleted", "doomed"), 1);
    assert_int_equal(audit_count(st, NULL, j.id), 2);
    assert_int_equal(symbi_store_job_delete(st, "doomed", "cli", &err), SYMBI_ENOTFOUND);
    assert_int_equal(symbi_store_check(st, &err), 0);
    symbi_run_cleanup(&r);
    symbi_job_cleanup(&j);
}

static void test_list_counts_next_due(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    const char *names[] = {"delta", "alpha", "charlie", "bravo"};
    for (int i = 0; i < 4; i++) {
        struct symbi_job j;
        fixture_at_job(&j, names[i], T0 + 1000 * (i + 1));
        if (i == 3)
            assert_int_equal(symbi_set_str(&j.agent, "other"), 0);
        assert_int_equal(symbi_store_job_create(st, &j, T0, "test", &err), 0);
        symbi_job_cleanup(&j);
    }
    assert_int_equal(symbi_store_job_set_status(st, "delta", SYMBI_JOB_PAUSED, T0, "t", &err), 0);
    struct symbi_job *jobs = NULL;
    size_t n = 0;
    assert_int_equal(symbi_store_job_list(st, NULL, &jobs, &n, &err), 0);
    assert_int_equal(n, 4);
    assert_string_equal(jobs[0].name, "alpha");
    assert_string_equal(jobs[3].name, "delta");
    symbi_job_list_free(jobs, n);
    struct symbi_job_filter f = {.has_status = true, .status = SYMBI_JOB_ACTIVE};
    assert_int_equal(symbi_store_job_list(st, &f, &jobs, &n, &err), 0);
    assert_int_equal(n, 3);
    symbi_job_list_free(jobs, n);
    f.agent = "other";
    assert_int_equal(symbi_store_job_list(st, &f, &jobs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(jobs[0].name, "bravo");
    symbi_job_list_free(jobs, n);
    struct symbi_job_filter page = {.limit = 2, .offset = 1};
    assert_int_equal(symbi_store_job_list(st, &page, &jobs, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(jobs[0].name, "bravo");
    symbi_job_list_free(jobs, n);

    int64_t counts[5];
    assert_int_equal(symbi_store_job_counts(st, counts, &err), 0);
    assert_int_equal(counts[SYMBI_JOB_ACTIVE], 3);
    assert_int_equal(counts[SYMBI_JOB_PAUSED], 1);
    assert_int_equal(counts[SYMBI_JOB_DEAD_LETTER], 0);
    int64_t next = 0;
    assert_int_equal(symbi_store_next_due(st, &next, &err), 0);
    assert_int_equal(next, T0 + 2000); /* alpha; delta (T0+1000) is paused */
}

static void test_runs(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job j;
    create_at(st, &j, "runner", T0 + 60000);
    struct symbi_run r;
    symbi_run_init(&r);
    strcpy(r.job_id, j.id);
    r.scheduled_at = T0;
    r.trigger = SYMBI_TRIGGER_SCHEDULE;
    assert_int_equal(symbi_store_run_insert(st, &r, &err), 0);
    assert_string_equal(r.job_name, "runner");
    assert_string_equal(r.agent, "agent-1");
    assert_int_equal(r.due_at, T0);
    /* the fire ledger: the same (job, instant, attempt) twice is refused */
    struct symbi_run dup;
    symbi_run_init(&dup);
    strcpy(dup.job_id, j.id);
    dup.scheduled_at = T0;
    assert_int_equal(symbi_store_run_insert(st, &dup, &err), SYMBI_EEXIST);
    dup.attempt = 2;
    dup.id[0] = '\0';
    assert_int_equal(symbi_store_run_insert(st, &dup, &err), 0);
    /* manual runs in the same millisecond both get recorded */
    struct symbi_run m1, m2;
    symbi_run_init(&m1);
    symbi_run_init(&m2);
    strcpy(m1.job_id, j.id);
    strcpy(m2.job_id, j.id);
    m1.trigger = m2.trigger = SYMBI_TRIGGER_MANUAL;
    m1.scheduled_at = m2.scheduled_at = T0 + 500;
    assert_int_equal(symbi_store_run_insert(st, &m1, &err), 0);
    assert_int_equal(symbi_store_run_insert(st, &m2, &err), 0);
    assert_int_equal(m2.scheduled_at, T0 + 501);
    /* a run of a job that does not exist */
    struct symbi_run orphan;
    symbi_run_init(&orphan);
    strcpy(orphan.job_id, "00000000-0000-4000-8000-000000000000");
    assert_int_equal(symbi_store_run_insert(st, &orphan, &err), SYMBI_ENOTFOUND);

    /* compare-and-set transitions */
    assert_int_equal(
        symbi_store_run_transition(st, r.id, SYMBI_RUN_QUEUED, SYMBI_RUN_RUNNING, T0 + 10, &err),
        0);
    assert_int_equal(
        symbi_store_run_transition(st, r.id, SYMBI_RUN_QUEUED, SYMBI_RUN_RUNNING, T0 + 11, &err),
        SYMBI_ESTATE);
    struct symbi_run got;
    assert_int_equal(symbi_store_run_get(st, r.id, &got, &err), 0);
    assert_int_equal(got.status, SYMBI_RUN_RUNNING);
    assert_int_equal(got.started_at, T0 + 10);
    symbi_run_cleanup(&got);

    /* update writes every mutable field */
    r.status = SYMBI_RUN_SUCCEEDED;
    r.started_at = T0 + 10;
    r.finished_at = T0 + 30;
    r.execution_time_ms = 20;
    r.has_exit_code = true;
    r.exit_code = 0;
    r.output_truncated = true;
    assert_int_equal(symbi_set_str(&r.output, "out"), 0);
    assert_int_equal(symbi_set_str(&r.deliveries, "[{\"channel\":\"stdout\",\"ok\":true}]"), 0);
    assert_int_equal(symbi_store_run_update(st, &r, &err), 0);
    char prefix[9];
    memcpy(prefix, r.id, 8);
    prefix[8] = '\0';
    assert_int_equal(symbi_store_run_get(st, prefix, &got, &err), 0);
    assert_int_equal(got.status, SYMBI_RUN_SUCCEEDED);
    assert_string_equal(got.output, "out");
    assert_true(got.output_truncated);
    assert_true(got.has_exit_code);
    assert_int_equal(got.execution_time_ms, 20);
    assert_string_equal(got.deliveries, "[{\"channel\":\"stdout\",\"ok\":true}]");
    symbi_run_cleanup(&got);

    /* history: newest first, filters, counts */
    struct symbi_run_filter f = {.job_id = j.id, .due_before = SYMBI_TIME_NONE};
    struct symbi_run *runs = NULL;
    size_t n = 0;
    assert_int_equal(symbi_store_run_list(st, &f, &runs, &n, &err), 0);
    assert_int_equal(n, 4);
    assert_int_equal(runs[0].scheduled_at, T0 + 501);
    assert_int_equal(runs[3].scheduled_at, T0);
    assert_int_equal(runs[3].attempt, 1);
    symbi_run_list_free(runs, n);
    f.has_status = true;
    f.status = SYMBI_RUN_SUCCEEDED;
    int64_t cnt = 0;
    assert_int_equal(symbi_store_run_count(st, &f, &cnt, &err), 0);
    assert_int_equal(cnt, 1);
    f.has_status = false;
    f.limit = 2;
    f.oldest_first = true;
    assert_int_equal(symbi_store_run_list(st, &f, &runs, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(runs[0].scheduled_at, T0);
    assert_int_equal(runs[1].attempt, 2);
    symbi_run_list_free(runs, n);
    symbi_run_cleanup(&r);
    symbi_run_cleanup(&dup);
    symbi_run_cleanup(&m1);
    symbi_run_cleanup(&m2);
    symbi_run_cleanup(&orphan);
    symbi_job_cleanup(&j);
}

static void test_run_decide(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job j;
    create_at(st, &j, "gated", T0 + 60000);
    struct symbi_run a, d;
    symbi_run_init(&a);
    symbi_run_init(&d);
    strcpy(a.job_id, j.id);
    strcpy(d.job_id, j.id);
    a.scheduled_at = T0;
    d.scheduled_at = T0 + 1;
    a.status = d.status = SYMBI_RUN_PENDING_APPROVAL;
    assert_int_equal(symbi_set_str(&a.node, "n1"), 0);
    assert_int_equal(symbi_store_run_insert(st, &a, &err), 0);
    assert_int_equal(symbi_store_run_insert(st, &d, &err), 0);
    struct symbi_run out;
    assert_int_equal(symbi_store_run_decide(st, a.id, true, "alice", NULL, T0 + 5, &out, &err), 0);
    assert_int_equal(out.status, SYMBI_RUN_QUEUED);
    assert_null(out.node);
    assert_string_equal(out.approver, "alice");
    symbi_run_cleanup(&out);
    assert_int_equal(symbi_store_run_decide(st, a.id, true, "alice", NULL, T0 + 5, NULL, &err),
                     SYMBI_ESTATE);
    assert_int_equal(
        symbi_store_run_decide(st, d.id, false, "bob", "not today", T0 + 6, &out, &err), 0);
    assert_int_equal(out.status, SYMBI_RUN_DENIED);
    assert_string_equal(out.error_message, "denied by bob: not today");
    assert_int_equal(out.finished_at, T0 + 6);
    symbi_run_cleanup(&out);
    assert_int_equal(audit_count(st, "CronRunApproved", "gated"), 1);
    assert_int_equal(audit_count(st, "CronRunDenied", "gated"), 1);
    /* the approved run is now claimable by any node */
    struct symbi_run *runs = NULL;
    size_t n = 0;
    assert_int_equal(symbi_store_claim_queued(st, T0 + 10, 10, "n2", &runs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(runs[0].id, a.id);
    assert_string_equal(runs[0].node, "n2");
    symbi_run_list_free(runs, n);
    symbi_run_cleanup(&a);
    symbi_run_cleanup(&d);
    symbi_job_cleanup(&j);
}

static void test_audit_query(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    for (int i = 0; i < 5; i++) {
        struct symbi_audit_event e;
        symbi_audit_event_init(&e);
        e.at = T0 + i * 1000;
        e.type = (char *)(i % 2 ? "PolicyDenied" : "CronJobExecuted");
        e.job_name = (char *)"j";
        e.actor = (char *)"scheduler";
        e.details = (char *)"{\"i\":1}";
        assert_int_equal(symbi_store_audit_append(st, &e, &err), 0);
    }
    struct symbi_audit_filter f = {"PolicyDenied", NULL, SYMBI_TIME_NONE, SYMBI_TIME_NONE, 0};
    struct symbi_audit_event *ev = NULL;
    size_t n = 0;
    assert_int_equal(symbi_store_audit_query(st, &f, &ev, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ev[0].at, T0 + 3000); /* newest first */
    assert_string_equal(ev[0].actor, "scheduler");
    assert_string_equal(ev[0].details, "{\"i\":1}");
    assert_string_equal(ev[0].job_id, "");
    symbi_audit_list_free(ev, n);
    struct symbi_audit_filter g = {NULL, "j", T0 + 1000, T0 + 4000, 2};
    assert_int_equal(symbi_store_audit_query(st, &g, &ev, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ev[0].at, T0 + 3000);
    assert_int_equal(ev[1].at, T0 + 2000);
    symbi_audit_list_free(ev, n);
    struct symbi_audit_event bad;
    symbi_audit_event_init(&bad);
    assert_int_equal(symbi_store_audit_append(st, &bad, &err), SYMBI_EINVAL);
}

static void test_agents_contexts_keys(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_agent_def a;
    symbi_agent_def_init(&a);
    a.name = symbi_strdup("echoer");
    a.runner = SYMBI_RUNNER_BUILTIN;
    a.builtin = symbi_strdup("echo");
    a.capabilities = symbi_strdup("[\"x\"]");
    a.timeout_ms = 5000;
    assert_int_equal(symbi_store_agent_upsert(st, &a, T0, &err), 0);
    free(a.builtin);
    a.builtin = symbi_strdup("noop");
    assert_int_equal(symbi_store_agent_upsert(st, &a, T0 + 1, &err), 0);
    struct symbi_agent_def got;
    assert_int_equal(symbi_store_agent_get(st, "echoer", &got, &err), 0);
    assert_string_equal(got.builtin, "noop");
    assert_int_equal(got.runner, SYMBI_RUNNER_BUILTIN);
    assert_int_equal(got.timeout_ms, 5000);
    assert_true(got.temperature < 0);
    assert_int_equal(got.created_at, T0);
    assert_int_equal(got.updated_at, T0 + 1);
    symbi_agent_def_cleanup(&got);
    assert_int_equal(symbi_store_agent_get(st, "nobody", &got, &err), SYMBI_ENOTFOUND);
    struct symbi_agent_def *list = NULL;
    size_t n = 0;
    assert_int_equal(symbi_store_agent_list(st, &list, &n, &err), 0);
    assert_int_equal(n, 1);
    symbi_agent_list_free(list, n);
    symbi_agent_def_cleanup(&a);

    struct symbi_job j;
    create_at(st, &j, "ctx", T0 + 1000);
    char *json = NULL;
    assert_int_equal(symbi_store_context_put(st, j.id, "{\"a\":1}", T0, &err), 0);
    assert_int_equal(symbi_store_context_put(st, j.id, "{\"a\":2}", T0, &err), 0);
    assert_int_equal(symbi_store_context_get(st, j.id, &json, &err), 0);
    assert_string_equal(json, "{\"a\":2}");
    free(json);
    assert_int_equal(symbi_store_context_clear(st, j.id, T0, &err), 0);
    assert_int_equal(symbi_store_context_get(st, j.id, &json, &err), 0);
    assert_null(json);
    assert_int_equal(
        symbi_store_context_put(st, "00000000-0000-4000-8000-000000000000", "{}", T0, &err),
        SYMBI_ENOTFOUND);
    symbi_job_cleanup(&j);

    struct symbi_api_key k = {0};
    k.name = symbi_strdup("ci");
    k.salt = symbi_strdup("00ff");
    k.hash = symbi_strdup("abcd");
    assert_int_equal(symbi_store_api_key_insert(st, &k, &err), 0);
    struct symbi_api_key k2 = {0};
    k2.name = symbi_strdup("ci");
    k2.salt = symbi_strdup("11");
    k2.hash = symbi_strdup("22");
    assert_int_equal(symbi_store_api_key_insert(st, &k2, &err), SYMBI_EEXIST);
    assert_int_equal(symbi_store_api_key_revoke(st, "ci", T0, &err), 0);
    assert_int_equal(symbi_store_api_key_revoke(st, "ci", T0, &err), SYMBI_ENOTFOUND);
    /* the name is free again once revoked */
    k2.id[0] = '\0';
    assert_int_equal(symbi_store_api_key_insert(st, &k2, &err), 0);
    struct symbi_api_key *keys = NULL;
    assert_int_equal(symbi_store_api_key_list(st, &keys, &n, &err), 0);
    assert_int_equal(n, 2);
    int live = 0;
    for (size_t i = 0; i < n; i++)
        live += keys[i].revoked_at == SYMBI_TIME_NONE;
    assert_int_equal(live, 1);
    symbi_api_key_list_free(keys, n);
    symbi_api_key_cleanup(&k);
    symbi_api_key_cleanup(&k2);
}

static void test_change_mark(void **state)
{
    struct store_fixture *fx = *state;
    struct symbi_err err = {0};
    struct symbi_store *other = NULL;
    assert_int_equal(symbi_store_open(fx->url, &other, &err), 0);
    int64_t m0, m1, m2;
    assert_int_equal(symbi_store_change_mark(fx->st, &m0), 0);
    struct symbi_job j;
    create_at(other, &j, "from-elsewhere", T0 + 1000);
    assert_int_equal(symbi_store_change_mark(fx->st, &m1), 0);
    assert_true(m1 != m0);
    assert_int_equal(symbi_store_change_mark(fx->st, &m2), 0);
    assert_true(m2 == m1);
    assert_int_equal(symbi_store_job_set_status(fx->st, j.id, SYMBI_JOB_PAUSED, T0, "t", &err), 0);
    assert_int_equal(symbi_store_change_mark(fx->st, &m2), 0);
    assert_true(m2 != m1);
    symbi_job_cleanup(&j);
    symbi_store_close(other);
}

static void test_create_many_all_or_none(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job jobs[3];
    fixture_at_job(&jobs[0], "m1", T0 + 1);
    fixture_at_job(&jobs[1], "m2", T0 + 2);
    fixture_at_job(&jobs[2], "m1", T0 + 3); /* duplicate inside the batch */
    assert_int_equal(symbi_store_job_create_many(st, jobs, 3, T0, "t", &err), SYMBI_EEXIST);
    assert_non_null(strstr(err.msg, "m1"));
    int64_t counts[5];
    assert_int_equal(symbi_store_job_counts(st, counts, &err), 0);
    assert_int_equal(counts[SYMBI_JOB_ACTIVE], 0);
    assert_int_equal(audit_count(st, NULL, NULL), 0);
    assert_int_equal(symbi_set_str(&jobs[2].name, "m3"), 0);
    assert_int_equal(symbi_store_job_create_many(st, jobs, 3, T0, "t", &err), 0);
    assert_int_equal(symbi_store_job_counts(st, counts, &err), 0);
    assert_int_equal(counts[SYMBI_JOB_ACTIVE], 3);
    assert_int_equal(audit_count(st, "CronJobCreated", NULL), 3);
    for (int i = 0; i < 3; i++)
        symbi_job_cleanup(&jobs[i]);
}

static void test_grouped_transaction(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job a, b, dup;
    /* a failed operation inside the group undoes itself only */
    assert_int_equal(symbi_store_begin(st, &err), 0);
    create_at(st, &a, "g1", T0 + 1000);
    fixture_at_job(&dup, "g1", T0 + 1000);
    assert_int_equal(symbi_store_job_create(st, &dup, T0, "t", &err), SYMBI_EEXIST);
    create_at(st, &b, "g2", T0 + 1000);
    assert_int_equal(symbi_store_commit(st, &err), 0);
    int64_t counts[5];
    assert_int_equal(symbi_store_job_counts(st, counts, &err), 0);
    assert_int_equal(counts[SYMBI_JOB_ACTIVE], 2);
    symbi_job_cleanup(&a);
    symbi_job_cleanup(&b);
    symbi_job_cleanup(&dup);
    /* a rolled-back group leaves nothing, audit events included */
    assert_int_equal(symbi_store_begin(st, &err), 0);
    create_at(st, &a, "g3", T0 + 1000);
    assert_int_equal(symbi_store_job_delete(st, "g1", "t", &err), 0);
    symbi_store_rollback(st);
    assert_int_equal(symbi_store_job_counts(st, counts, &err), 0);
    assert_int_equal(counts[SYMBI_JOB_ACTIVE], 2);
    assert_int_equal(audit_count(st, NULL, NULL), 2);
    symbi_store_rollback(st); /* outside a transaction: nothing */
    assert_int_equal(symbi_store_commit(st, &err), SYMBI_ESTORE);
    symbi_job_cleanup(&a);
}

/* begin_atomic: operations join without savepoints, so one failing
 * spoils the group: its commit is refused and nothing of it stays. */
static void test_atomic_transaction(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job a, b, dup;
    int64_t counts[5];
    assert_int_equal(symbi_store_begin_atomic(st, &err), 0);
    create_at(st, &a, "a1", T0 + 1000);
    create_at(st, &b, "a2", T0 + 1000);
    assert_int_equal(symbi_store_commit(st, &err), 0);
    assert_int_equal(symbi_store_job_counts(st, counts, &err), 0);
    assert_int_equal(counts[SYMBI_JOB_ACTIVE], 2);
    assert_int_equal(audit_count(st, NULL, NULL), 2);
    symbi_job_cleanup(&a);
    symbi_job_cleanup(&b);
    assert_int_equal(symbi_store_begin_atomic(st, &err), 0);
    create_at(st, &a, "a3", T0 + 1000);
    fixture_at_job(&dup, "a1", T0 + 1000);
    assert_int_equal(symbi_store_job_create(st, &dup, T0, "t", &err), SYMBI_EEXIST);
    assert_int_equal(symbi_store_commit(st, &err), SYMBI_ESTORE);
    assert_int_equal(symbi_store_job_counts(st, counts, &err), 0);
    assert_int_equal(counts[SYMBI_JOB_ACTIVE], 2);
    assert_int_equal(audit_count(st, NULL, NULL), 2);
    symbi_job_cleanup(&a);
    symbi_job_cleanup(&dup);
    /* the next ordinary group has its savepoints again */
    assert_int_equal(symbi_store_begin(st, &err), 0);
    create_at(st, &a, "a4", T0 + 1000);
    fixture_at_job(&dup, "a1", T0 + 1000);
    assert_int_equal(symbi_store_job_create(st, &dup, T0, "t", &err), SYMBI_EEXIST);
    assert_int_equal(symbi_store_commit(st, &err), 0);
    assert_int_equal(symbi_store_job_counts(st, counts, &err), 0);
    assert_int_equal(counts[SYMBI_JOB_ACTIVE], 3);
    symbi_job_cleanup(&a);
    symbi_job_cleanup(&dup);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_migrates_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_create_and_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ambiguous_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_update_keeps_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_upsert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_transitions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_cascades_but_audit_stays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_counts_next_due, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_decide, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_agents_contexts_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_mark, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_many_all_or_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grouped_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic_transaction, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
