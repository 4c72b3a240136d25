/* test_dsl.c - unit tests of the DSL module's API: file limits, reading
 * files, diagnostics formatting, "did you mean", and symbi_job_validate as
 * the CLI and the HTTP API call it. (Syntax cases: test_dsl_cases.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "symbi/dsl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char good[] = "agent a { command: \"date\" }\n"
                           "schedule s { agent: \"a\" cron: \"*/5 * * * *\" }\n";

static void test_parse_buffer_ok(void **state)
{
    (void)state;
    struct symbi_dsl_file f;
    assert_int_equal(symbi_dsl_parse_buffer("mem.symbi", good, strlen(good), &f), 0);
    assert_int_equal(f.n_jobs, 1);
    assert_int_equal(f.n_agents, 1);
    assert_int_equal(f.n_diags, 0);
    assert_string_equal(f.jobs[0].source, "dsl:mem.symbi");
    assert_string_equal(f.agents[0].source, "dsl:mem.symbi");
    assert_int_equal(f.jobs[0].status, SYMBI_JOB_ACTIVE);
    assert_non_null(symbi_dsl_find_job(&f, "s"));
    assert_null(symbi_dsl_find_job(&f, "t"));
    struct symbi_err err;
    assert_int_equal(symbi_dsl_file_error(&f, &err), 0);
    symbi_dsl_file_cleanup(&f);
    symbi_dsl_file_cleanup(&f); /* cleanup leaves an empty, reusable struct */
}

static void test_not_nul_terminated(void **state)
{
    (void)state;
    /* the buffer is read by length: the bytes after it do not matter */
    char buf[128];
    size_t n = strlen(good);
    memcpy(buf, good, n);
    memset(buf + n, '{', sizeof buf - n);
    struct symbi_dsl_file f;
    assert_int_equal(symbi_dsl_parse_buffer("x", buf, n, &f), 0);
    assert_int_equal(f.n_jobs, 1);
    symbi_dsl_file_cleanup(&f);
}

static void test_too_large(void **state)
{
    (void)state;
    size_t n = SYMBI_DSL_MAX_FILE + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, '#', n);
    struct symbi_dsl_file f;
    assert_int_equal(symbi_dsl_parse_buffer("big.symbi", big, n, &f), SYMBI_EPARSE);
    assert_int_equal(f.n_diags, 1);
    char line[256];
    assert_string_equal(symbi_dsl_diag_fmt(&f.diags[0], line, sizeof line),
                        "big.symbi: error: file too large (1048577 bytes; the limit is 1048576)");
    symbi_dsl_file_cleanup(&f);
    /* exactly the limit is fine */
    big[0] = '\n';
    assert_int_equal(symbi_dsl_parse_buffer("big.symbi", big, n - 1, &f), 0);
    symbi_dsl_file_cleanup(&f);

    /* the same through a file */
    char path[] = "/tmp/symbi-dsl-big-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, big, n), (ssize_t)n);
    close(fd);
    assert_int_equal(symbi_dsl_parse_file(path, &f), SYMBI_EPARSE);
    assert_int_equal(f.n_diags, 1);
    assert_non_null(strstr(f.diags[0].message, "file too large"));
    symbi_dsl_file_cleanup(&f);
    unlink(path);
    free(big);
}

static void test_parse_file(void **state)
{
    (void)state;
    char path[] = "/tmp/symbi-dsl-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, good, strlen(good)), (ssize_t)strlen(good));
    close(fd);
    struct symbi_dsl_file f;
    assert_int_equal(symbi_dsl_parse_file(path, &f), 0);
    assert_int_equal(f.n_jobs, 1);
    char src[64];
    snprintf(src, sizeof src, "dsl:%s", path);
    assert_string_equal(f.jobs[0].source, src);
    symbi_dsl_file_cleanup(&f);
    unlink(path);

    assert_int_equal(symbi_dsl_parse_file("/nonexistent/x.symbi", &f), SYMBI_EPARSE);
    assert_int_equal(f.n_diags, 1);
    char line[256];
    assert_string_equal(symbi_dsl_diag_fmt(&f.diags[0], line, sizeof line),
                        "/nonexistent/x.symbi: error: cannot read: No such file or directory");
    struct symbi_err err;
    assert_int_equal(symbi_dsl_file_error(&f, &err), SYMBI_EPARSE);
    assert_int_equal(err.code, SYMBI_EPARSE);
    assert_string_equal(err.msg, line);
    symbi_dsl_file_cleanup(&f);

    assert_int_equal(symbi_dsl_parse_file("/tmp", &f), SYMBI_EPARSE);
    assert_non_null(strstr(f.diags[0].message, "is a directory"));
    symbi_dsl_file_cleanup(&f);
}

static void test_file_error_counts(void **state)
{
    (void)state;
    const char *text = "schedule a { agent: x crn: \"@daily\" }\n"
                       "schedule b { agent: x cron: \"@daily\" max_concurrent: 0 }\n";
    struct symbi_dsl_file f;
    assert_int_equal(symbi_dsl_parse_buffer("two.symbi", text, strlen(text), &f), SYMBI_EPARSE);
    assert_int_equal(f.n_errors, 2);
    assert_int_equal(f.n_jobs, 0);
    struct symbi_err err;
    symbi_dsl_file_error(&f, &err);
    assert_string_equal(err.msg, "two.symbi:1:23: error: unknown key `crn` in schedule; did you "
                                 "mean `cron`? (and 1 more errors)");
    symbi_dsl_file_cleanup(&f);
}

static void test_valid_blocks_kept(void **state)
{
    (void)state;
    /* a bad block does not take the good ones with it */
    const char *text = "schedule good1 { agent: x cron: \"@daily\" }\n"
                       "schedule bad { agent: x cron: \"@daily\" jitter: \"soon\" }\n"
                       "agent fine { builtin: \"noop\" }\n"
                       "schedule good2 { agent: x cron: \"@hourly\" }\n";
    struct symbi_dsl_file f;
    assert_int_equal(symbi_dsl_parse_buffer("m.symbi", text, strlen(text), &f), SYMBI_EPARSE);
    assert_int_equal(f.n_errors, 1);
    assert_int_equal(f.n_jobs, 2);
    assert_string_equal(f.jobs[0].name, "good1");
    assert_string_equal(f.jobs[1].name, "good2");
    assert_int_equal(f.n_agents, 1);
    symbi_dsl_file_cleanup(&f);
}

static void test_diag_cap(void **state)
{
    (void)state;
    struct symbi_buf b;
    symbi_buf_init(&b, 0);
    for (int i = 0; i < 200; i++)
        symbi_buf_printf(&b, "schedule s%d { agent: x cron: \"@daily\" nope: 1 }\n", i);
    struct symbi_dsl_file f;
    assert_int_equal(symbi_dsl_parse_buffer("many", b.data, b.len, &f), SYMBI_EPARSE);
    assert_int_equal(f.n_diags, SYMBI_DSL_MAX_DIAGS);
    assert_string_equal(f.diags[f.n_diags - 1].message, "too many diagnostics; stopping here");
    symbi_dsl_file_cleanup(&f);
    symbi_buf_cleanup(&b);
}

static void test_long_line_columns(void **state)
{
    (void)state;
    /* columns count characters (not bytes), and stay right far along a line */
    struct symbi_buf b;
    symbi_buf_init(&b, 0);
    symbi_buf_puts(&b, "schedule s { input: \"\xc3\xa9\xc3\xa9\" agent: x cron: \"@daily\"");
    for (int i = 0; i < 5000; i++)
        symbi_buf_puts(&b, " max_retries: 1");
    symbi_buf_puts(&b, " }\n");
    struct symbi_dsl_file f;
    assert_int_equal(symbi_dsl_parse_buffer("long", b.data, b.len, &f), SYMBI_EPARSE);
    /* the second max_retries: 20 + 4 characters for "éé" + 25 + 15 before it */
    assert_int_equal(f.diags[0].line, 1);
    assert_int_equal(f.diags[0].col, 20 + 4 + 25 + 15 + 1);
    symbi_dsl_file_cleanup(&f);
    symbi_buf_cleanup(&b);
}

static void test_nearest(void **state)
{
    (void)state;
    static const char *const keys[] = {"cron", "at", "agent", "timezone", "max_retries"};
    assert_string_equal(symbi_dsl_nearest("crn", keys, 5), "cron");
    assert_string_equal(symbi_dsl_nearest("corn", keys, 5), "cron"); /* a swap */
    assert_string_equal(symbi_dsl_nearest("timezon", keys, 5), "timezone");
    assert_string_equal(symbi_dsl_nearest("max_retris", keys, 5), "max_retries");
    assert_null(symbi_dsl_nearest("x", keys, 5));
    assert_null(symbi_dsl_nearest("frobnicate", keys, 5));
    assert_null(symbi_dsl_nearest("a", keys, 5)); /* distance must be below the length */
}

static void job_base(struct symbi_job *j)
{
    symbi_job_init(j);
    symbi_set_str(&j->name, "hourly-report");
    symbi_set_str(&j->agent, "reporter");
    symbi_set_str(&j->cron_expr, "0 * * * *");
}

static void expect_invalid(struct symbi_job *j, const char *field, const char *msg)
{
    struct symbi_err err;
    const char *f = NULL;
    assert_int_equal(symbi_job_validate_field(j, &f, &err), SYMBI_EINVAL);
    assert_string_equal(f, field);
    assert_string_equal(err.msg, msg);
    assert_int_equal(symbi_job_validate(j, &err), SYMBI_EINVAL);
    symbi_job_cleanup(j);
}

static void test_job_validate(void **state)
{
    (void)state;
    struct symbi_job j;
    struct symbi_err err;
    job_base(&j);
    symbi_set_str(&j.delivery, "[\"stdout\"]");
    symbi_set_str(&j.input, "go");
    assert_int_equal(symbi_job_validate(&j, &err), 0);
    assert_int_equal(symbi_job_validate(&j, NULL), 0);
    symbi_job_cleanup(&j);

    job_base(&j);
    symbi_set_str(&j.name, NULL);
    expect_invalid(&j, "name", "name: is required");
    job_base(&j);
    symbi_set_str(&j.name, "a/b");
    expect_invalid(&j, "name", "name: \"a/b\" may hold only letters, digits, '.', '_' and '-'");
    job_base(&j);
    symbi_set_str(&j.agent, "");
    expect_invalid(&j, "agent", "agent: is required (the agent to run)");
    job_base(&j);
    symbi_set_str(&j.cron_expr, NULL);
    expect_invalid(&j, "cron", "cron: one of cron or at is required");
    job_base(&j);
    j.at = 1700000000000;
    expect_invalid(&j, "at", "at: give either cron or at, not both");
    job_base(&j);
    symbi_set_str(&j.delivery, "[\"webhook\"]");
    expect_invalid(&j, "delivery", "delivery: channel \"webhook\" needs webhook_url");
    job_base(&j);
    symbi_set_str(&j.delivery, "\"stdout\"");
    expect_invalid(&j, "delivery", "delivery: must be an array of strings");
    job_base(&j);
    symbi_set_str(&j.webhook_headers, "{\"X-A\":\"a\\nb\"}");
    expect_invalid(&j, "webhook_headers",
                   "webhook_headers: the value of \"X-A\" holds a line break or is too long");
    job_base(&j);
    symbi_set_str(&j.policy, "{\"max_runtim\":\"5m\"}");
    expect_invalid(&j, "policy", "policy: unknown key `max_runtim`; did you mean `max_runtime`?");
    job_base(&j);
    symbi_set_str(&j.policy, "{\"max_runtime\":\"forever\"}");
    expect_invalid(&j, "policy.max_runtime",
                   "policy.max_runtime: expected a positive duration (e.g. \"30m\")");
    job_base(&j);
    symbi_set_str(&j.policy, "[]");
    expect_invalid(&j, "policy", "policy: must be a map (see SPEC §8.1)");
    job_base(&j);
    j.max_concurrent = 0;
    expect_invalid(&j, "max_concurrent", "max_concurrent: must be between 1 and 10000 (got 0)");
    job_base(&j);
    j.jitter_ms = 2 * 24 * 3600 * 1000LL;
    expect_invalid(&j, "jitter", "jitter: must be between 0s and 24h");
    job_base(&j);
    j.starting_deadline_ms = 10;
    expect_invalid(&j, "starting_deadline", "starting_deadline: must be between 1s and 366d");
    job_base(&j);
    j.heartbeat.set = true;
    j.heartbeat.max_iterations = 0;
    expect_invalid(&j, "heartbeat.max_iterations",
                   "heartbeat.max_iterations: must be between 1 and 10000 (got 0)");
    job_base(&j);
    j.catch_up = (enum symbi_catch_up)7;
    expect_invalid(&j, "catch_up", "catch_up: unknown value");
    job_base(&j);
    symbi_set_str(&j.agent_pin_jwt, "a b");
    expect_invalid(&j, "agent_pin_jwt",
                   "agent_pin_jwt: must be a compact JWT (or ${VAR}) of at most 8192 bytes");
    job_base(&j);
    symbi_set_str(&j.log_file, "/var/log/x.log");
    expect_invalid(&j, "log_file",
                   "log_file: \"/var/log/x.log\" must be a path relative to the log directory");
    job_base(&j);
    symbi_set_str(&j.slack_webhook_url, "hooks.slack.com/x");
    expect_invalid(&j, "slack_webhook_url",
                   "slack_webhook_url: \"hooks.slack.com/x\" is not an http:// or https:// URL");
}

static void test_job_validate_vars_kept(void **state)
{
    (void)state;
    /* values holding ${VAR} are checked at use, not here */
    struct symbi_job j;
    struct symbi_err err;
    job_base(&j);
    symbi_set_str(&j.delivery, "[\"webhook\",\"email\",\"my-pager\"]");
    symbi_set_str(&j.webhook_url, "${HOOK_URL}");
    symbi_set_str(&j.email_recipients, "[\"${ONCALL_EMAIL}\"]");
    symbi_set_str(&j.webhook_headers, "{\"Authorization\":\"Bearer ${TOKEN}\"}");
    assert_int_equal(symbi_job_validate(&j, &err), 0);
    symbi_job_cleanup(&j);
}

static void agent_base(struct symbi_agent_def *a)
{
    symbi_agent_def_init(a);
    symbi_set_str(&a->name, "worker");
    symbi_set_str(&a->command, "date");
    a->runner = SYMBI_RUNNER_COMMAND;
}

static void test_agent_validate(void **state)
{
    (void)state;
    struct symbi_agent_def a;
    struct symbi_err err;
    agent_base(&a);
    assert_int_equal(symbi_agent_def_validate(&a, false, &err), 0);
    symbi_set_str(&a.model, "m");
    assert_int_equal(symbi_agent_def_validate(&a, false, &err), SYMBI_EINVAL);
    assert_string_equal(err.msg,
                        "runner: give exactly one of command, exec, model or builtin (2 given)");
    symbi_agent_def_cleanup(&a);

    symbi_agent_def_init(&a);
    symbi_set_str(&a.name, "upstream");
    assert_int_equal(symbi_agent_def_validate(&a, true, &err), 0);
    assert_int_equal(symbi_agent_def_validate(&a, false, &err), SYMBI_EINVAL);
    assert_string_equal(err.msg, "runner: give one of command, exec, model or builtin");
    symbi_agent_def_cleanup(&a);

    agent_base(&a);
    symbi_set_str(&a.api_key_env, "1BAD");
    assert_int_equal(symbi_agent_def_validate(&a, false, &err), SYMBI_EINVAL);
    assert_string_equal(err.msg, "api_key_env: \"1BAD\" is not an environment variable name");
    symbi_agent_def_cleanup(&a);

    agent_base(&a);
    a.timeout_ms = 0;
    assert_int_equal(symbi_agent_def_validate(&a, false, &err), SYMBI_EINVAL);
    assert_string_equal(err.msg, "timeout: must be between 1ms and 7d");
    symbi_agent_def_cleanup(&a);
}

static void test_builtin_channels(void **state)
{
    (void)state;
    assert_true(symbi_dsl_builtin_channel("stdout"));
    assert_true(symbi_dsl_builtin_channel("log_file"));
    assert_true(symbi_dsl_builtin_channel("email"));
    assert_false(symbi_dsl_builtin_channel("pager"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_buffer_ok),
        cmocka_unit_test(test_not_nul_terminated),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_parse_file),
        cmocka_unit_test(test_file_error_counts),
        cmocka_unit_test(test_valid_blocks_kept),
        cmocka_unit_test(test_diag_cap),
        cmocka_unit_test(test_long_line_columns),
        cmocka_unit_test(test_nearest),
        cmocka_unit_test(test_job_validate),
        cmocka_unit_test(test_job_validate_vars_kept),
        cmocka_unit_test(test_agent_validate),
        cmocka_unit_test(test_builtin_channels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
