/* test_store_common.c - the backend-neutral steps both store backends share
 * (src/store/common.c) without a backend: references, audit SQL, give-back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "store/common.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define T0 1774000000000LL /* 2026-03-20T09:46:40Z */

static void test_id_like_and_prefix_range(void **state)
{
    (void)state;
    char low[SYMBI_UUID_LEN + 1];
    assert_true(symbi_common_id_like("ABCDEF01-", 9, low));
    assert_string_equal(low, "abcdef01-");
    assert_false(symbi_common_id_like("nightly", 7, low));
    char longer[SYMBI_UUID_LEN + 2];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_false(symbi_common_id_like(longer, strlen(longer), low));
    char hi[SYMBI_UUID_LEN + 2];
    symbi_common_prefix_hi("abcdef01", 8, hi);
    assert_string_equal(hi, "abcdef01~");
}

static void test_resolve_end_answers(void **state)
{
    (void)state;
    char id[SYMBI_UUID_LEN + 1] = "";
    struct symbi_err err = {0};
    const char *a = "abcdef01-0000-0000-0000-000000000001";
    const char *b = "abcdef01-0000-0000-0000-000000000002";
    assert_int_equal(symbi_common_resolve_end("job", "abcdef01", true, 8, 1, a, "", id, &err), 0);
    assert_string_equal(id, a);
    assert_int_equal(symbi_common_resolve_end("job", "abcdef01", true, 8, 2, a, b, id, &err),
                     SYMBI_EAMBIGUOUS);
    assert_non_null(strstr(err.msg, "matches"));
    assert_non_null(strstr(err.msg, b));
    assert_int_equal(symbi_common_resolve_end("run", "abc", true, 3, 0, "", "", id, &err),
                     SYMBI_ENOTFOUND);
    assert_non_null(strstr(err.msg, "at least 8 characters"));
    assert_int_equal(symbi_common_resolve_end("job", "nightly", false, 7, 0, "", "", id, &err),
                     SYMBI_ENOTFOUND);
    assert_string_equal(err.msg, "no job \"nightly\"");
}

static void test_audit_sql_both_marks(void **state)
{
    (void)state;
    struct symbi_audit_filter f = {"job.created", "nightly", T0, SYMBI_TIME_NONE, 0};
    char sql[256];
    size_t len = (size_t)snprintf(sql, sizeof sql, "SELECT id FROM audit_events");
    symbi_common_audit_sql(&f, '?', false, sql, len, sizeof sql);
    assert_string_equal(sql, "SELECT id FROM audit_events WHERE type = ?1 AND (job_id = ?2 OR "
                             "job_name = ?2) AND at >= ?3 ORDER BY at DESC, id DESC LIMIT ?5");
    len = (size_t)snprintf(sql, sizeof sql, "SELECT id FROM audit_events WHERE TRUE");
    symbi_common_audit_sql(symbi_common_audit_filter(NULL), '$', true, sql, len, sizeof sql);
    assert_string_equal(
        sql, "SELECT id FROM audit_events WHERE TRUE ORDER BY at DESC, id DESC LIMIT $5");
    assert_int_equal(symbi_common_audit_limit(symbi_common_audit_filter(NULL)), 100);
    f.limit = 7;
    assert_int_equal(symbi_common_audit_limit(&f), 7);
    /* a buffer too small is cut, never overrun */
    char small[32];
    len = (size_t)snprintf(small, sizeof small, "SELECT id FROM audit_events");
    symbi_common_audit_sql(&f, '?', false, small, len, sizeof small);
    assert_int_equal(strlen(small), sizeof small - 1);
}

struct fake {
    int gives, releases, fail_at, calls;
};

static int fake_give(void *s, const struct symbi_run *r, const char *node, bool *done,
                     struct symbi_err *err)
{
    struct fake *f = s;
    (void)r;
    (void)node;
    if (f->calls++ == f->fail_at)
        return symbi_err_set(err, SYMBI_EIO, "give failed");
    f->gives++;
    *done = true;
    return 0;
}

static int fake_release(void *s, const struct symbi_run *r, const char *node, struct symbi_err *err)
{
    struct fake *f = s;
    (void)r;
    (void)node;
    if (f->calls++ == f->fail_at)
        return symbi_err_set(err, SYMBI_EIO, "release failed");
    f->releases++;
    return 0;
}

static void test_give_back_each_counts_and_stops(void **state)
{
    (void)state;
    struct symbi_run runs[4];
    const enum symbi_trigger tr[] = {SYMBI_TRIGGER_SCHEDULE, SYMBI_TRIGGER_MANUAL,
                                     SYMBI_TRIGGER_CATCH_UP, SYMBI_TRIGGER_RETRY};
    for (size_t i = 0; i < 4; i++) {
        symbi_run_init(&runs[i]);
        runs[i].trigger = tr[i];
    }
    static const struct symbi_common_give_back_ops ops = {fake_give, fake_release};
    struct symbi_err err = {0};
    struct fake f = {0, 0, -1, 0};
    size_t g = 9, rel = 9;
    assert_int_equal(symbi_common_give_back_each(&f, &ops, runs, 4, "n1", &g, &rel, &err), 0);
    assert_int_equal(g, 2);
    assert_int_equal(rel, 2);
    struct fake f2 = {0, 0, 2, 0};
    assert_int_equal(symbi_common_give_back_each(&f2, &ops, runs, 4, "n1", &g, &rel, &err),
                     SYMBI_EIO);
    assert_int_equal(f2.calls, 3); /* stopped at the failure */
    assert_int_equal(g, 1);
    assert_int_equal(rel, 1);
}

static void test_plan_run_fill_keeps_what_the_planner_set(void **state)
{
    (void)state;
    struct symbi_job job;
    symbi_job_init(&job);
    memcpy(job.id, "abcdef01-0000-0000-0000-000000000001", SYMBI_UUID_LEN + 1);
    assert_int_equal(symbi_set_str(&job.name, "nightly"), 0);
    assert_int_equal(symbi_set_str(&job.agent, "writer"), 0);
    assert_int_equal(symbi_set_str(&job.input, "job input"), 0);
    struct symbi_run r;
    symbi_run_init(&r);
    memcpy(r.id, "stale", 6);
    assert_int_equal(symbi_set_str(&r.input, "planner input"), 0);
    assert_int_equal(symbi_common_plan_run_fill(&r, &job, "n1", T0, 4), 0);
    assert_string_equal(r.id, "");
    assert_string_equal(r.job_id, job.id);
    assert_string_equal(r.job_name, "nightly");
    assert_string_equal(r.agent, "writer");
    assert_string_equal(r.node, "n1");
    assert_string_equal(r.input, "planner input");
    assert_int_equal(r.created_at, T0);
    assert_int_equal(r.epoch, 4);
    symbi_run_cleanup(&r);
    symbi_job_cleanup(&job);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_like_and_prefix_range),
        cmocka_unit_test(test_resolve_end_answers),
        cmocka_unit_test(test_audit_sql_both_marks),
        cmocka_unit_test(test_give_back_each_counts_and_stops),
        cmocka_unit_test(test_plan_run_fill_keeps_what_the_planner_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
