/* test_json.c - unit tests of the JSON shapes (json.h) and the metrics
 * registry (metrics.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "symbi/json.h"
#include "symbi/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    assert_non_null(v);
    return v;
}

static void test_job_roundtrip_and_masking(void **state)
{
    (void)state;
    struct symbi_job job;
    symbi_job_init(&job);
    json_t *in = parse("{\"name\": \"hourly-report\", \"agent_id\": \"reporter\","
                       " \"cron_expr\": \"0 * * * *\", \"session_mode\": \"fully_ephemeral\","
                       " \"delivery\": [\"stdout\", \"webhook\"],"
                       " \"webhook_headers\": {\"Authorization\": \"Bearer ${METRICS_API_KEY}\"},"
                       " \"jitter\": \"30s\", \"max_retries\": 5, \"catch_up\": \"all\","
                       " \"heartbeat\": {\"enabled\": true, \"max_iterations\": 4},"
                       " \"agent_pin_jwt\": \"${AGENT_PIN_JWT}\", \"one_shot\": false}");
    const char *bad = "x";
    struct symbi_err err = {0};
    assert_int_equal(symbi_job_apply_json(&job, in, &bad, &err), 0);
    assert_null(bad);
    assert_string_equal(job.agent, "reporter");
    assert_int_equal(job.session_mode, SYMBI_SESSION_FULLY_EPHEMERAL);
    assert_true(job.jitter_ms == 30000);
    assert_int_equal(job.max_retries, 5);
    assert_true(job.heartbeat.set && job.heartbeat.enabled);
    assert_int_equal(job.heartbeat.max_iterations, 4);
    assert_string_equal(job.webhook_headers, "{\"Authorization\":\"Bearer ${METRICS_API_KEY}\"}");

    json_t *out = symbi_job_to_json(&job, false);
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "webhook_headers"),
                                                          "Authorization")),
                        "Bearer ${METRICS_API_KEY}");
    assert_string_equal(json_string_value(json_object_get(out, "jitter")), "30s");
    assert_string_equal(json_string_value(json_object_get(out, "timezone")), "UTC");
    assert_true(json_is_null(json_object_get(out, "next_run")));
    assert_int_equal(json_array_size(json_object_get(out, "delivery")), 2);
    json_decref(out);

    out = symbi_job_to_json(&job, true);
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "webhook_headers"),
                                                          "Authorization")),
                        "***");
    assert_string_equal(json_string_value(json_object_get(out, "agent_pin_jwt")), "***");
    json_decref(out);
    json_decref(in);
    symbi_job_cleanup(&job);
}

static void test_job_apply_errors(void **state)
{
    (void)state;
    struct {
        const char *json;
        const char *field;
        const char *msg;
    } cases[] = {
        {"{\"crn\": \"* * * * *\"}", "", "unknown field \"crn\""},
        {"{\"max_concurrent\": 0}", "max_concurrent", "between 1 and 10000"},
        {"{\"max_concurrent\": \"2\"}", "max_concurrent", "must be an integer"},
        {"{\"delivery\": \"stdout\"}", "delivery", "array of strings"},
        {"{\"delivery\": [1]}", "delivery", "non-empty strings"},
        {"{\"session_mode\": \"forever\"}", "session_mode", "must be one of"},
        {"{\"jitter\": \"soon\"}", "jitter", "duration"},
        {"{\"at\": \"tomorrow\"}", "at", "RFC 3339"},
        {"{\"agent_id\": \"\"}", "agent_id", "non-empty"},
        {"{\"name\": null}", "name", "must be a string"},
        {"{\"heartbeat\": {\"beat\": 1}}", "heartbeat", "unknown key \"beat\""},
        {"{\"one_shot\": 1}", "one_shot", "true or false"},
    };
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(cases); i++) {
        struct symbi_job job;
        symbi_job_init(&job);
        json_t *in = parse(cases[i].json);
        const char *bad = NULL;
        struct symbi_err err = {0};
        assert_int_equal(symbi_job_apply_json(&job, in, &bad, &err), SYMBI_EINVAL);
        assert_non_null(bad);
        assert_string_equal(bad, cases[i].field);
        if (strstr(err.msg, cases[i].msg) == NULL)
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err.msg, cases[i].msg);
        json_decref(in);
        symbi_job_cleanup(&job);
    }
}

static void test_cron_and_at_exclusive_updates(void **state)
{
    (void)state;
    struct symbi_job job;
    symbi_job_init(&job);
    json_t *a = parse("{\"at\": \"2026-12-01T09:00:00Z\"}");
    symbi_set_str(&job.cron_expr, "0 9 * * *");
    assert_int_equal(symbi_job_apply_json(&job, a, NULL, NULL), 0);
    assert_null(job.cron_expr);
    assert_true(job.at == 1796115600000LL);
    json_t *c = parse("{\"cron\": \"*/5 * * * *\"}");
    assert_int_equal(symbi_job_apply_json(&job, c, NULL, NULL), 0);
    assert_true(job.at == SYMBI_TIME_NONE);
    assert_string_equal(job.cron_expr, "*/5 * * * *");
    json_decref(a);
    json_decref(c);
    symbi_job_cleanup(&job);
}

static void test_run_json_invalid_utf8(void **state)
{
    (void)state;
    struct symbi_run run;
    symbi_run_init(&run);
    strcpy(run.id, "11111111-2222-4333-8444-555555555555");
    run.output = symbi_strdup("ok \xff\xfe bytes \xe2\x82\xac");
    run.scheduled_at = 1774747800000;
    run.execution_time_ms = 12;
    json_t *o = symbi_run_to_json(&run);
    const char *out = json_string_value(json_object_get(o, "output"));
    assert_non_null(out);
    assert_string_equal(out, "ok \xef\xbf\xbd\xef\xbf\xbd bytes \xe2\x82\xac");
    assert_string_equal(json_string_value(json_object_get(o, "scheduled_at")),
                        "2026-03-29T01:30:00Z");
    assert_int_equal(json_integer_value(json_object_get(o, "execution_time_ms")), 12);
    assert_true(json_is_null(json_object_get(o, "exit_code")));
    assert_string_equal(json_string_value(json_object_get(o, "status")), "queued");
    json_decref(o);
    symbi_run_cleanup(&run);
}

static int count_lines(const char *text, const char *prefix)
{
    int n = 0;
    for (const char *p = text; p && *p;) {
        if (strncmp(p, prefix, strlen(prefix)) == 0)
            n++;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return n;
}

static void test_metrics_render(void **state)
{
    (void)state;
    symbi_metrics_reset();
    symbi_metrics_run_finished("daily \"report\"", "succeeded", 0.2);
    symbi_metrics_run_finished("daily \"report\"", "succeeded", 7);
    symbi_metrics_run_finished("other", "failed", 0.001);
    symbi_metrics_dead_lettered("other");
    symbi_metrics_delivery("webhook", false);
    symbi_metrics_schedule_lag(0.003);
    symbi_metrics_set_in_flight(2);
    int64_t counts[5] = {15, 3, 0, 0, 1};
    symbi_metrics_set_jobs(counts);
    symbi_metrics_model_tokens("other", "prompt", 40);
    symbi_metrics_model_tokens("other", "prompt", 2);
    symbi_metrics_model_tokens("other", "completion", 0);
    struct symbi_buf b;
    symbi_buf_init(&b, 0);
    assert_int_equal(symbi_metrics_render(&b), 0);
    const char *t = symbi_buf_str(&b);
    assert_non_null(strstr(
        t, "symbiont_cron_runs_total{job_name=\"daily \\\"report\\\"\",status=\"succeeded\"} 2\n"));
    assert_non_null(
        strstr(t, "symbiont_cron_runs_total{job_name=\"other\",status=\"failed\"} 1\n"));
    assert_non_null(strstr(t, "symbiont_cron_execution_duration_seconds_bucket{job_name=\"daily "
                              "\\\"report\\\"\",le=\"0.25\"} 1\n"));
    assert_non_null(strstr(t, "symbiont_cron_execution_duration_seconds_bucket{job_name=\"daily "
                              "\\\"report\\\"\",le=\"+Inf\"} 2\n"));
    assert_non_null(strstr(t, "symbiont_cron_in_flight_jobs 2\n"));
    assert_non_null(strstr(t, "symbiont_cron_dead_letter_total{job_name=\"other\"} 1\n"));
    assert_non_null(
        strstr(t, "symbiont_cron_deliveries_total{channel=\"webhook\",result=\"failure\"} 1\n"));
    assert_non_null(strstr(t, "symbiont_cron_schedule_lag_seconds_bucket{le=\"0.005\"} 1\n"));
    assert_non_null(strstr(t, "symbiont_cron_schedule_lag_seconds_count 1\n"));
    assert_non_null(strstr(t, "symbiont_cron_jobs{status=\"active\"} 15\n"));
    assert_non_null(strstr(t, "symbiont_cron_jobs{status=\"dead_letter\"} 1\n"));
    assert_non_null(
        strstr(t, "symbiont_cron_model_tokens_total{job_name=\"other\",kind=\"prompt\"} 42\n"));
    assert_null(strstr(t, "kind=\"completion\"")); /* zero adds nothing */
    assert_int_equal(count_lines(t, "# TYPE "), 8);
    symbi_buf_cleanup(&b);

    /* many job names: series stay bounded and rendering still works */
    for (int i = 0; i < 30000; i++) {
        char name[32];
        snprintf(name, sizeof name, "job-%d", i);
        symbi_metrics_dead_lettered(name);
    }
    symbi_buf_init(&b, 0);
    assert_int_equal(symbi_metrics_render(&b), 0);
    assert_true(count_lines(symbi_buf_str(&b), "symbiont_cron_dead_letter_total{") < 20000);
    symbi_buf_cleanup(&b);
    symbi_metrics_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_roundtrip_and_masking),
        cmocka_unit_test(test_job_apply_errors),
        cmocka_unit_test(test_cron_and_at_exclusive_updates),
        cmocka_unit_test(test_run_json_invalid_utf8),
        cmocka_unit_test(test_metrics_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
