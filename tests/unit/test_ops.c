/* test_ops.c - the pure parts of the operator tools: the herd check over
 * jobs with a fixed `now`, and `why` over hand-made store facts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "symbi/core.h"
#include "symbi/cron.h"
#include "symbi/sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t T(const char *s)
{
    int64_t ms;
    if (symbi_time_parse(s, &ms) != 0)
        fail_msg("bad time %s", s);
    return ms;
}

static struct symbi_job *jobs_of(size_t n, const char *expr, int64_t jitter_ms)
{
    struct symbi_job *j = calloc(n, sizeof *j);
    for (size_t i = 0; i < n; i++) {
        symbi_job_init(&j[i]);
        assert_int_equal(symbi_set_str(&j[i].cron_expr, expr), 0);
        assert_int_equal(symbi_set_str(&j[i].name, "j"), 0);
        j[i].jitter_ms = jitter_ms;
    }
    return j;
}

static void free_jobs(struct symbi_job *j, size_t n)
{
    for (size_t i = 0; i < n; i++)
        symbi_job_cleanup(&j[i]);
    free(j);
}

/* 30 jobs at :00 over a threshold of 10: 3 herd seconds in 3 hours, jitter 2 s */
static void test_herd_counts_and_suggests(void **state)
{
    (void)state;
    struct symbi_job *j = jobs_of(30, "0 * * * *", -1);
    struct symbi_herd_report r;
    struct symbi_err err = {0};
    assert_int_equal(symbi_cron_herd(j, 30, 0, T("2026-05-01T00:30:00Z"), 3, 10, &r, &err), 0);
    assert_int_equal(r.seconds, 3);
    assert_int_equal(r.first_at, T("2026-05-01T01:00:00Z"));
    assert_int_equal(r.n_groups, 1);
    assert_int_equal(r.groups[0].jobs, 30);
    assert_int_equal(r.groups[0].suggested_jitter_s, 2);
    assert_true(r.peak > 29.9 && r.peak < 30.1);
    symbi_herd_report_cleanup(&r);
    /* with that jitter: 30 starts over 3 seconds, 10 a second: no herd */
    for (int i = 0; i < 30; i++)
        j[i].jitter_ms = 2000;
    assert_int_equal(symbi_cron_herd(j, 30, 0, T("2026-05-01T00:30:00Z"), 3, 10, &r, &err), 0);
    assert_int_equal(r.seconds, 0);
    assert_int_equal(r.n_groups, 0);
    symbi_herd_report_cleanup(&r);
    /* the global jitter counts for jobs without their own */
    for (int i = 0; i < 30; i++)
        j[i].jitter_ms = -1;
    assert_int_equal(symbi_cron_herd(j, 30, 2000, T("2026-05-01T00:30:00Z"), 3, 10, &r, &err), 0);
    assert_int_equal(r.seconds, 0);
    symbi_herd_report_cleanup(&r);
    /* paused jobs are not counted */
    for (int i = 0; i < 30; i++)
        j[i].status = SYMBI_JOB_PAUSED;
    assert_int_equal(symbi_cron_herd(j, 30, 0, T("2026-05-01T00:30:00Z"), 3, 10, &r, &err), 0);
    assert_int_equal(r.seconds, 0);
    symbi_herd_report_cleanup(&r);
    free_jobs(j, 30);
    assert_int_equal(symbi_cron_herd(NULL, 0, 0, 0, 0, 10, &r, &err), SYMBI_ERANGE);
}

static void facts_init(struct symbi_why_facts *f, const char *expr)
{
    memset(f, 0, sizeof *f);
    symbi_job_init(&f->job);
    symbi_set_str(&f->job.name, "w");
    symbi_set_str(&f->job.agent, "a");
    symbi_set_str(&f->job.cron_expr, expr);
    f->agent_known = true;
    f->scheduler_live = true;
    f->at = f->now = T("2026-05-01T10:00:30Z");
    f->job.next_run = T("2026-05-01T10:01:00Z");
}

static const struct symbi_why_cause *cause(const struct symbi_why *w, const char *code)
{
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->causes[i].code, code) == 0)
            return &w->causes[i];
    return NULL;
}

static void test_why_not_due_and_no_scheduler(void **state)
{
    (void)state;
    struct symbi_why_facts f;
    struct symbi_why w;
    facts_init(&f, "* * * * *");
    symbi_sched_why(&f, &w);
    assert_int_equal(w.n, 1);
    assert_string_equal(w.causes[0].code, "not_due");
    assert_int_equal(w.next_run, T("2026-05-01T10:01:00Z"));
    assert_string_equal(w.description, "Every minute (UTC)");
    f.scheduler_live = false;
    f.agent_known = false;
    symbi_sched_why(&f, &w);
    assert_string_equal(w.causes[0].code, "no_scheduler");
    assert_non_null(cause(&w, "unknown_agent"));
    assert_null(cause(&w, "not_due"));
    symbi_job_cleanup(&f.job);
}

static void test_why_skip_cites_the_busy_run(void **state)
{
    (void)state;
    struct symbi_why_facts f;
    struct symbi_why w;
    facts_init(&f, "* * * * *");
    struct symbi_run runs[2];
    symbi_run_init(&runs[0]);
    symbi_run_init(&runs[1]);
    snprintf(runs[0].id, sizeof runs[0].id, "%s", "skipped0-0000-0000-0000-000000000000");
    runs[0].status = SYMBI_RUN_SKIPPED;
    runs[0].scheduled_at = T("2026-05-01T10:00:00Z");
    snprintf(runs[1].id, sizeof runs[1].id, "%s", "busy0000-0000-0000-0000-000000000000");
    runs[1].status = SYMBI_RUN_SUCCEEDED;
    runs[1].scheduled_at = T("2026-05-01T09:59:00Z");
    runs[1].started_at = T("2026-05-01T09:59:00Z");
    runs[1].finished_at = T("2026-05-01T10:00:10Z");
    f.runs = runs;
    f.n_runs = 2;
    symbi_sched_why(&f, &w);
    const struct symbi_why_cause *c = cause(&w, "concurrency");
    assert_non_null(c);
    assert_string_equal(c->run_id, runs[0].id);
    assert_non_null(strstr(c->message, "busy0000"));
    /* at an earlier T, the run before is the one explained */
    f.at = T("2026-05-01T09:59:30Z");
    symbi_sched_why(&f, &w);
    assert_non_null(cause(&w, "ran"));
    assert_null(cause(&w, "concurrency"));
    symbi_job_cleanup(&f.job);
}

static void test_why_denied_reasons(void **state)
{
    (void)state;
    static const struct {
        const char *reason, *code;
    } cases[] = {
        {"start 12:00 is outside allowed_hours 00:00-04:00", "policy_hours"},
        {"environment \"dev\" is not allowed", "policy_environment"},
        {"AgentPin: expired", "agentpin"},
        {"missing capabilities: deployment", "policy_capabilities"},
        {"denied by bob: no", "approval_denied"},
        {"something else", "policy"},
    };
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(cases); i++) {
        struct symbi_why_facts f;
        struct symbi_why w;
        facts_init(&f, "* * * * *");
        struct symbi_run r;
        symbi_run_init(&r);
        r.status = SYMBI_RUN_DENIED;
        r.scheduled_at = T("2026-05-01T10:00:00Z");
        r.error_message = (char *)cases[i].reason;
        f.runs = &r;
        f.n_runs = 1;
        symbi_sched_why(&f, &w);
        if (cause(&w, cases[i].code) == NULL)
            fail_msg("%s: no cause %s", cases[i].reason, cases[i].code);
        symbi_job_cleanup(&f.job);
    }
}

static void test_why_allowed_hours_ahead(void **state)
{
    (void)state;
    struct symbi_why_facts f;
    struct symbi_why w;
    facts_init(&f, "30 12 * * *");
    f.job.next_run = T("2026-05-01T12:30:00Z");
    symbi_set_str(&f.job.policy, "{\"allowed_hours\":{\"start\":\"22:00\",\"end\":\"04:00\"}}");
    symbi_sched_why(&f, &w);
    assert_non_null(cause(&w, "policy_hours"));
    f.job.next_run = T("2026-05-01T23:30:00Z"); /* inside the wrapped window */
    symbi_sched_why(&f, &w);
    assert_null(cause(&w, "policy_hours"));
    symbi_job_cleanup(&f.job);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_herd_counts_and_suggests),
        cmocka_unit_test(test_why_not_due_and_no_scheduler),
        cmocka_unit_test(test_why_skip_cites_the_busy_run),
        cmocka_unit_test(test_why_denied_reasons),
        cmocka_unit_test(test_why_allowed_hours_ahead),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
