/* test_ui.c - unit tests of what the web dashboard (SPEC §16) stands on:
 * URL masking, the store's activity digest (SQLite and the generic path
 * a backend without it takes), the `ui` actor and the compiled-in files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http/http_internal.h"
#include "store/store_ops.h"
#include "support/store_fixture.h"
#include "symbi/json.h"

#include <stdlib.h>
#include <string.h>

#define T0 1774000000000LL /* 2026-03-20T09:46:40Z */

static void expect_mask(const char *url, const char *want)
{
    char *got = symbi_url_mask(url);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("mask(%s) = %s, want %s", url, got, want);
    free(got);
}

static void test_url_mask(void **state)
{
    (void)state;
    /* nothing secret: unchanged */
    expect_mask("http://127.0.0.1:9/hook", "http://127.0.0.1:9/hook");
    expect_mask("https://hooks.example.com", "https://hooks.example.com");
    expect_mask("${HOOK_URL}", "${HOOK_URL}");
    expect_mask("https://hooks.slack.com/services/${SLACK_TOKEN}",
                "https://hooks.slack.com/services/${SLACK_TOKEN}");
    /* userinfo, query values, fragment */
    expect_mask("https://user:pw@hooks.example.com/a", "https://***@hooks.example.com/a");
    expect_mask("https://h.example/x?token=abc&mode=1", "https://h.example/x?token=***&mode=***");
    expect_mask("https://h.example/x?abc", "https://h.example/x?***");
    expect_mask("https://h.example/x#frag", "https://h.example/x#***");
    expect_mask("https://h.example?k=v#f", "https://h.example?k=***#***");
    /* token-like path segments: Slack, Discord */
    expect_mask("https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX",
                "https://hooks.slack.com/services/T0000/B0000/***");
    expect_mask("https://discord.com/api/webhooks/123/abcDEF123456ghiJKL",
                "https://discord.com/api/webhooks/123/***");
    /* a long plain word is a token too; a short one is not */
    expect_mask("https://h.example/averyveryverylongpathsegment/x", "https://h.example/***/x");
    expect_mask("https://h.example/reports/daily", "https://h.example/reports/daily");
    /* not a URL */
    expect_mask("garbage-secret", "***");
    assert_null(symbi_url_mask(NULL));
}

static void test_job_json_masks_urls(void **state)
{
    (void)state;
    struct symbi_job job;
    symbi_job_init(&job);
    symbi_set_str(&job.name, "j");
    symbi_set_str(&job.webhook_url, "https://u:secretpw@h.example/hook?key=secretq");
    symbi_set_str(&job.slack_webhook_url,
                  "https://hooks.slack.com/services/T1/B1/SECRETSECRETSECRET123456");
    json_t *masked = symbi_job_to_json(&job, true), *plain = symbi_job_to_json(&job, false);
    char *m = json_dumps(masked, 0), *p = json_dumps(plain, 0);
    assert_null(strstr(m, "secretpw"));
    assert_null(strstr(m, "secretq"));
    assert_null(strstr(m, "SECRETSECRET"));
    assert_non_null(strstr(m, "https://***@h.example/hook?key=***"));
    assert_non_null(strstr(p, "secretpw")); /* `dsl check` shows what was written */
    free(m);
    free(p);
    json_decref(masked);
    json_decref(plain);
    symbi_job_cleanup(&job);
}

static void add_run(struct symbi_store *st, const char *job_id, int64_t at,
                    enum symbi_run_status status, int64_t finished)
{
    struct symbi_run run;
    symbi_run_init(&run);
    memcpy(run.job_id, job_id, sizeof run.job_id);
    symbi_set_str(&run.job_name, "x");
    symbi_set_str(&run.agent, "agent-1");
    run.scheduled_at = at;
    run.due_at = at;
    run.created_at = at;
    run.attempt = 1;
    run.status = status;
    run.finished_at = finished;
    struct symbi_err err = {0};
    if (symbi_store_run_insert(st, &run, &err) != 0)
        fail_msg("insert: %s", err.msg);
    symbi_run_cleanup(&run);
}

/* two jobs: a with 5 runs (newest failed), b with 1 queued */
static void seed(struct symbi_store *st, struct symbi_job *a, struct symbi_job *b)
{
    fixture_cron_job(a, "a", "* * * * *");
    fixture_cron_job(b, "b", "* * * * *");
    assert_int_equal(symbi_store_job_create(st, a, T0, "test", NULL), 0);
    assert_int_equal(symbi_store_job_create(st, b, T0, "test", NULL), 0);
    for (int i = 0; i < 4; i++)
        add_run(st, a->id, T0 + i * 60000, SYMBI_RUN_SUCCEEDED, T0 + i * 60000 + 1000);
    add_run(st, a->id, T0 + 4 * 60000, SYMBI_RUN_FAILED, T0 + 4 * 60000 + 2000);
    add_run(st, b->id, T0 + 4 * 60000, SYMBI_RUN_QUEUED, SYMBI_TIME_NONE);
}

static void check_digest(const struct symbi_run_activity *act, const struct symbi_job *a,
                         const struct symbi_job *b, int per_job)
{
    size_t na = 0, nb = 0;
    for (size_t i = 0; i < act->n_runs; i++) {
        const struct symbi_run_brief *r = &act->runs[i];
        if (strcmp(r->job_id, a->id) == 0) {
            /* newest first within the job, and only per_job of them */
            if (na == 0)
                assert_int_equal(r->status, SYMBI_RUN_FAILED);
            else
                assert_int_equal(r->status, SYMBI_RUN_SUCCEEDED);
            assert_int_equal(r->scheduled_at, T0 + (4 - (int64_t)na) * 60000);
            na++;
        } else {
            assert_string_equal(r->job_id, b->id);
            assert_int_equal(r->status, SYMBI_RUN_QUEUED);
            nb++;
        }
    }
    assert_int_equal(na, (size_t)(per_job < 5 ? per_job : 5));
    assert_int_equal(nb, 1);
    /* since T0 + 2 min: minutes 2, 3 (succeeded) and 4 (failed), ascending */
    assert_int_equal(act->n_minutes, 3);
    for (size_t m = 0; m < 3; m++) {
        int64_t want = (T0 + (int64_t)(m + 2) * 60000 + 1000) / 60000 * 60000;
        assert_int_equal(act->minutes[m].minute, want);
        assert_int_equal(act->minutes[m].succeeded, m < 2 ? 1 : 0);
        assert_int_equal(act->minutes[m].failed, m == 2 ? 1 : 0);
        assert_int_equal(act->minutes[m].other, 0);
    }
}

static void test_activity_digest(void **state)
{
    (void)state;
    struct store_fixture *fx = store_fixture_new();
    struct symbi_job a, b;
    seed(fx->st, &a, &b);
    int64_t since = (T0 + 2 * 60000 + 1000) / 60000 * 60000; /* the minute the third run ended */
    struct symbi_run_activity act;
    struct symbi_err err = {0};
    for (int per_job = 3; per_job <= 50; per_job += 47) {
        assert_int_equal(symbi_store_run_activity(fx->st, per_job, since, &act, &err), 0);
        check_digest(&act, &a, &b, per_job);
        symbi_run_activity_cleanup(&act);
        /* the path of a backend without run_activity gives the same digest */
        struct symbi_store_ops ops = *fx->st->ops;
        const struct symbi_store_ops *saved = fx->st->ops;
        ops.run_activity = NULL;
        fx->st->ops = &ops;
        assert_int_equal(symbi_store_run_activity(fx->st, per_job, since, &act, &err), 0);
        fx->st->ops = saved;
        check_digest(&act, &a, &b, per_job);
        symbi_run_activity_cleanup(&act);
    }
    /* per_job is clamped: 0 means 1 */
    assert_int_equal(symbi_store_run_activity(fx->st, 0, since, &act, &err), 0);
    assert_int_equal(act.n_runs, 2);
    symbi_run_activity_cleanup(&act);
    symbi_job_cleanup(&a);
    symbi_job_cleanup(&b);
    store_fixture_free(fx);
}

static void test_ui_actor(void **state)
{
    (void)state;
    char buf[96];
    assert_string_equal(http_ui_actor("ui", "api", buf, sizeof buf), "ui");
    assert_string_equal(http_ui_actor("ui", "api-key:ops", buf, sizeof buf), "ui:api-key:ops");
    assert_string_equal(http_ui_actor(NULL, "api-key:ops", buf, sizeof buf), "api-key:ops");
    assert_string_equal(http_ui_actor("curl", "api", buf, sizeof buf), "api");
    assert_string_equal(http_ui_actor("UI", "api", buf, sizeof buf), "api");
    /* a name too long for the buffer keeps the key's actor, never a cut one */
    char small[8];
    assert_string_equal(http_ui_actor("ui", "api-key:ops", small, sizeof small), "api-key:ops");
}

static void test_ui_files(void **state)
{
    (void)state;
    bool index = false, app = false;
    for (size_t i = 0; i < http_ui_n_files; i++) {
        const struct http_ui_file *f = &http_ui_files[i];
        assert_int_equal(strlen(f->data), f->len); /* no NUL inside */
        if (strcmp(f->name, "index.html") == 0) {
            index = true;
            assert_string_equal(f->ctype, "text/html; charset=utf-8");
            /* the page loads its script and style from files: the CSP forbids inline ones */
            assert_non_null(
                strstr(f->data, "<script type=\"module\" src=\"/ui/app.js\"></script>"));
            assert_null(strstr(f->data, "style=\""));
            assert_null(strstr(f->data, "onclick"));
        }
        if (strcmp(f->name, "app.js") == 0) {
            app = true;
            assert_string_equal(f->ctype, "text/javascript; charset=utf-8");
        }
        assert_null(strstr(f->data, "innerHTML"));
    }
    assert_true(index && app);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_mask),        cmocka_unit_test(test_job_json_masks_urls),
        cmocka_unit_test(test_activity_digest), cmocka_unit_test(test_ui_actor),
        cmocka_unit_test(test_ui_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
