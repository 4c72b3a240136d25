/* test_agent.c - unit tests of the agent executor: builtins, command and
 * exec processes, stdin/env, bounded capture, max_runtime, cancellation,
 * process-group cleanup and descriptor hygiene. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "symbi/agent.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct symbi_agent_def mkagent(enum symbi_runner r, const char *arg)
{
    struct symbi_agent_def a;
    symbi_agent_def_init(&a);
    a.name = symbi_strdup("t");
    a.runner = r;
    if (r == SYMBI_RUNNER_COMMAND)
        a.command = symbi_strdup(arg);
    else if (r == SYMBI_RUNNER_EXEC)
        a.exec = symbi_strdup(arg);
    else if (r == SYMBI_RUNNER_BUILTIN)
        a.builtin = symbi_strdup(arg);
    return a;
}

static struct symbi_agent_request mkreq(const struct symbi_agent_def *a, const char *input)
{
    struct symbi_agent_request r;
    memset(&r, 0, sizeof r);
    r.agent = a;
    r.agent_name = a != NULL ? a->name : "ghost";
    r.input = input;
    r.job_id = "11111111-2222-4333-8444-555555555555";
    r.job_name = "nightly";
    r.run_id = "99999999-2222-4333-8444-555555555555";
    r.trigger = "schedule";
    r.scheduled_at = 1774747800000; /* 2026-03-29T01:30:00Z */
    r.attempt = 2;
    r.session_mode = "fully_ephemeral";
    r.environment = "staging";
    return r;
}

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n++;
    closedir(d);
    return n;
}

static void run(const struct symbi_agent_request *req, struct symbi_agent_result *res)
{
    struct symbi_err err;
    assert_int_equal(symbi_agent_execute(req, res, &err), 0);
    assert_non_null(res->output);
}

static void test_builtins(void **state)
{
    (void)state;
    struct symbi_agent_result res;
    struct symbi_agent_def a = mkagent(SYMBI_RUNNER_BUILTIN, "echo");
    struct symbi_agent_request req = mkreq(&a, "hello\nSUMMARY: all fine\n");
    run(&req, &res);
    assert_int_equal(res.status, SYMBI_RUN_SUCCEEDED);
    assert_string_equal(res.output, "hello\nSUMMARY: all fine\n");
    assert_string_equal(res.summary, "all fine");
    assert_null(res.error_message);
    symbi_agent_result_cleanup(&res);
    symbi_agent_def_cleanup(&a);

    a = mkagent(SYMBI_RUNNER_BUILTIN, "noop");
    req = mkreq(&a, "x");
    run(&req, &res);
    assert_int_equal(res.status, SYMBI_RUN_SUCCEEDED);
    assert_string_equal(res.output, "");
    symbi_agent_result_cleanup(&res);
    symbi_agent_def_cleanup(&a);

    a = mkagent(SYMBI_RUNNER_BUILTIN, "fail");
    req = mkreq(&a, NULL);
    run(&req, &res);
    assert_int_equal(res.status, SYMBI_RUN_FAILED);
    assert_non_null(strstr(res.error_message, "fail"));
    symbi_agent_result_cleanup(&res);
    symbi_agent_def_cleanup(&a);

    a = mkagent(SYMBI_RUNNER_BUILTIN, "dance");
    req = mkreq(&a, NULL);
    run(&req, &res);
    assert_int_equal(res.status, SYMBI_RUN_FAILED);
    assert_non_null(strstr(res.error_message, "unknown builtin \"dance\""));
    symbi_agent_result_cleanup(&res);
    symbi_agent_def_cleanup(&a);

    req = mkreq(NULL, NULL);
    run(&req, &res);
    assert_int_equal(res.status, SYMBI_RUN_FAILED);
    assert_string_equal(res.error_message, "unknown agent \"ghost\"");
    symbi_agent_result_cleanup(&res);

    a = mkagent(SYMBI_RUNNER_NONE, NULL);
    req = mkreq(&a, NULL);
    run(&req, &res);
    assert_int_equal(res.status, SYMBI_RUN_FAILED);
    assert_non_null(strstr(res.error_message, "names no runner"));
    symbi_agent_result_cleanup(&res);
    symbi_agent_def_cleanup(&a);
}

static void test_command_stdin_env(void **state)
{
    (void)state;
    int fds = count_fds();
    struct symbi_agent_def a =
        mkagent(SYMBI_RUNNER_COMMAND,
                "cat; echo \"$SYMBI_JOB_NAME|$SYMBI_RUN_ID|$SYMBI_TRIGGER|$SYMBI_SCHEDULED_AT|"
                "$SYMBI_ATTEMPT|$SYMBI_SESSION_MODE|$SYMBI_ENVIRONMENT|$SYMBI_AGENT|${SYMBI_"
                "ITERATION-unset}"
                "|$EXTRA|$SYMBI_JOB_ID\"; ls /proc/self/fd | wc -l; echo err >&2");
    a.env = symbi_strdup("{\"EXTRA\":\"x y\",\"SYMBI_ENVIRONMENT\":\"override\"}");
    struct symbi_agent_request req = mkreq(&a, "line1\nline2\n");
    struct symbi_agent_result res;
    run(&req, &res);
    assert_int_equal(res.status, SYMBI_RUN_SUCCEEDED);
    assert_true(res.has_exit_code);
    assert_int_equal(res.exit_code, 0);
    assert_string_equal(res.output,
                        "line1\nline2\nnightly|99999999-2222-4333-8444-555555555555|schedule|"
                        "2026-03-29T01:30:00Z|2|fully_ephemeral|override|t|unset|x y|"
                        "11111111-2222-4333-8444-555555555555\n4\n");
    assert_string_equal(res.stderr_text, "err\n");
    assert_false(res.output_truncated);
    symbi_agent_result_cleanup(&res);
    symbi_agent_def_cleanup(&a);
    assert_int_equal(count_fds(), fds);
}

static void test_exec_no_shell(void **state)
{
    (void)state;
    struct symbi_agent_def a = mkagent(SYMBI_RUNNER_EXEC, "[\"echo\", \"a  b\", \"$HOME;ls\"]");
    struct symbi_agent_request req = mkreq(&a, NULL);
    struct symbi_agent_result res;
    run(&req, &res);
    assert_int_equal(res.status, SYMBI_RUN_SUCCEEDED);
    assert_string_equal(res.output, "a  b $HOME;ls\n");
    symbi_agent_result_cleanup(&res);
    symbi_agent_def_cleanup(&a);

    a = mkagent(SYMBI_RUNNER_EXEC, "[\"/nonexistent/prog\"]");
    req = mkreq(&a, NULL);
    run(&req, &res);
    assert_int_equal(res.status, SYMBI_RUN_FAILED);
    assert_non_null(strstr(res.error_message, "cannot start /nonexistent/prog"));
    symbi_agent_result_cleanup(&res);
    symbi_agent_def_cleanup(&a);

    a = mkagent(SYMBI_RUNNER_EXEC, "[1, 2]");
    req = mkreq(&a, NULL);
    run(&req, &res);
    assert_int_equal(res.status, SYMBI_RUN_FAILED);
    assert_non_null(strstr(res.error_message, "not a string"));
    symbi_agent_result_cleanup(&res);
    symbi_agent_def_cleanup(&a);
}

static void test_exit_code_and_workdir(void **state)
{
    (void)state;
    struct symbi_agent_def a = mkagent(SYMBI_RUNNER_COMMAND, "pwd; echo out; exit 3");
    a.workdir = symbi_strdup("/tmp");
    struct symbi_agent_request req = mkreq(&a, NULL);
    struct symbi_agent_result res;
    run(&req, &res);
    assert_int_equal(res.status, SYMBI_RUN_FAILED);
    assert_true(res.has_exit_code);
    assert_int_equal(res.exit_code, 3);
    assert_string_equal(res.error_message, "exit code 3");
    assert_string_equal(res.output, "/tmp\nout\n");
    assert_string_equal(res.summary, "/tmp\nout");
    symbi_agent_result_cleanup(&res);
    symbi_agent_def_cleanup(&a);

    a = mkagent(SYMBI_RUNNER_COMMAND, "kill -USR1 $$");
    req = mkreq(&a, NULL);
    run(&req, &res);
    assert_int_equal(res.status, SYMBI_RUN_FAILED);
    assert_false(res.has_exit_code);
    assert_int_equal(res.term_signal, SIGUSR1);
    assert_non_null(strstr(res.error_message, "SIGUSR1"));
    symbi_agent_result_cleanup(&res);
    symbi_agent_def_cleanup(&a);
}

static void test_large_output_bounded(void **state)
{
    (void)state;
    /* 50 MiB to stdout and 1 MiB to stderr: never blocks, both bounded */
    struct symbi_agent_def a = mkagent(
        SYMBI_RUNNER_COMMAND,
        "head -c 1048576 /dev/zero | tr '\\0' e >&2; head -c 52428800 /dev/zero | tr '\\0' x; "
        "echo; echo 'SUMMARY: big'");
    struct symbi_agent_request req = mkreq(&a, NULL);
    req.max_output_bytes = 4096;
    struct symbi_agent_result res;
    int64_t t0 = symbi_now_mono_ms();
    run(&req, &res);
    assert_true(symbi_now_mono_ms() - t0 < 20000);
    assert_int_equal(res.status, SYMBI_RUN_SUCCEEDED);
    assert_true(res.output_truncated);
    assert_int_equal(res.output_len, 4096);
    assert_int_equal(strlen(res.output), 4096);
    assert_int_equal(res.output_total, 52428800 + 1 + 13);
    assert_int_equal(strlen(res.stderr_text), SYMBI_AGENT_STDERR_MAX);
    /* the summary comes from what was kept */
    assert_int_equal(strlen(res.summary), SYMBI_AGENT_SUMMARY_MAX);
    symbi_agent_result_cleanup(&res);
    symbi_agent_def_cleanup(&a);
}

static bool pid_gone(long pid)
{
    for (int i = 0; i < 200; i++) {
        char path[64], buf[256];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            return true;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        if (p != NULL && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'))
            return true;
        usleep(10000);
    }
    return false;
}

static void test_timeout_and_group_kill(void **state)
{
    (void)state;
    /* a background child of the group and a foreground sleep */
    struct symbi_agent_def a =
        mkagent(SYMBI_RUNNER_COMMAND, "sleep 30 & echo $!; sleep 30; echo never");
    struct symbi_agent_request req = mkreq(&a, NULL);
    req.max_runtime_ms = 300;
    struct symbi_agent_result res;
    int64_t t0 = symbi_now_mono_ms();
    run(&req, &res);
    int64_t took = symbi_now_mono_ms() - t0;
    assert_true(took >= 290 && took < 3000);
    assert_int_equal(res.status, SYMBI_RUN_TIMED_OUT);
    assert_non_null(strstr(res.error_message, "timed out"));
    long bg = strtol(res.output, NULL, 10);
    assert_true(bg > 1);
    assert_true(pid_gone(bg));
    symbi_agent_result_cleanup(&res);
    symbi_agent_def_cleanup(&a);

    /* ignores SIGTERM: SIGKILL after the grace period */
    a = mkagent(SYMBI_RUNNER_COMMAND, "trap '' TERM; sleep 30");
    req = mkreq(&a, NULL);
    req.max_runtime_ms = 200;
    req.kill_grace_ms = 400;
    t0 = symbi_now_mono_ms();
    run(&req, &res);
    took = symbi_now_mono_ms() - t0;
    assert_true(took >= 590 && took < 3000);
    assert_int_equal(res.status, SYMBI_RUN_TIMED_OUT);
    assert_int_equal(res.term_signal, SIGKILL);
    symbi_agent_result_cleanup(&res);
    symbi_agent_def_cleanup(&a);

    /* the leader exits, a background child lingers: it is killed too */
    a = mkagent(SYMBI_RUNNER_COMMAND, "sleep 30 >/dev/null 2>&1 & echo $!");
    req = mkreq(&a, NULL);
    t0 = symbi_now_mono_ms();
    run(&req, &res);
    assert_true(symbi_now_mono_ms() - t0 < 2000);
    assert_int_equal(res.status, SYMBI_RUN_SUCCEEDED);
    assert_true(pid_gone(strtol(res.output, NULL, 10)));
    symbi_agent_result_cleanup(&res);
    symbi_agent_def_cleanup(&a);
}

static void *fire_later(void *p)
{
    usleep(150000);
    symbi_agent_cancel_fire(p);
    return NULL;
}

static void test_cancel(void **state)
{
    (void)state;
    struct symbi_agent_cancel cancel;
    symbi_agent_cancel_init(&cancel, 300);
    struct symbi_agent_def a = mkagent(SYMBI_RUNNER_COMMAND, "echo started; sleep 30");
    struct symbi_agent_request req = mkreq(&a, NULL);
    req.cancel = &cancel;
    pthread_t th;
    pthread_create(&th, NULL, fire_later, &cancel);
    struct symbi_agent_result res;
    int64_t t0 = symbi_now_mono_ms();
    run(&req, &res);
    pthread_join(th, NULL);
    assert_true(symbi_now_mono_ms() - t0 < 2000);
    assert_int_equal(res.status, SYMBI_RUN_INTERRUPTED);
    assert_string_equal(res.output, "started\n");
    symbi_agent_result_cleanup(&res);
    /* already cancelled: nothing starts */
    run(&req, &res);
    assert_int_equal(res.status, SYMBI_RUN_INTERRUPTED);
    symbi_agent_result_cleanup(&res);
    symbi_agent_def_cleanup(&a);
}

static void test_summary_rule(void **state)
{
    (void)state;
    char *s = symbi_agent_summary("a\nSUMMARY: first\nb\nSUMMARY:   second  \r\nc\n", 42);
    assert_string_equal(s, "second");
    free(s);
    assert_null(symbi_agent_summary("", 0));
    assert_null(symbi_agent_summary("\n\n", 2));
    char big[1200];
    memset(big, 'y', sizeof big);
    memcpy(big + 1200 - 4, "end\n", 4);
    s = symbi_agent_summary(big, sizeof big);
    assert_int_equal(strlen(s), 499); /* last 500 bytes minus the newline */
    assert_string_equal(s + 496, "end");
    free(s);
    /* never starts inside a UTF-8 sequence */
    char u[600];
    memset(u, 'a', sizeof u);
    u[99] = (char)0xC3;
    u[100] = (char)0xA9;
    s = symbi_agent_summary(u, sizeof u);
    assert_int_equal(strlen(s), 499);
    free(s);
}

static void *run_many(void *p)
{
    struct symbi_agent_def *a = p;
    for (int i = 0; i < 20; i++) {
        struct symbi_agent_request req = mkreq(a, "in");
        struct symbi_agent_result res;
        struct symbi_err err;
        if (symbi_agent_execute(&req, &res, &err) != 0 || res.status != SYMBI_RUN_SUCCEEDED ||
            strcmp(res.output, "in") != 0)
            abort();
        symbi_agent_result_cleanup(&res);
    }
    return NULL;
}

static void test_concurrent_runs_no_leak(void **state)
{
    (void)state;
    int fds = count_fds();
    struct symbi_agent_def a = mkagent(SYMBI_RUNNER_EXEC, "[\"cat\"]");
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, run_many, &a);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    symbi_agent_def_cleanup(&a);
    assert_int_equal(count_fds(), fds);
}

static void test_daemon_secrets_not_inherited(void **state)
{
    (void)state;
    setenv("SYMBI_API_KEY", "topsecret-admin-key", 1);
    setenv("SYMBI_LLM_API_KEY", "llm-secret", 1);
    setenv("SYMBI_TEST_PLAIN", "x", 1);
    setenv("OTHER_INHERITED", "kept", 1);
    struct symbi_agent_def a = mkagent(SYMBI_RUNNER_COMMAND, "env");
    a.env = symbi_strdup("{\"SYMBI_LLM_API_KEY\": \"given-on-purpose\"}");
    struct symbi_agent_request req = mkreq(&a, "");
    struct symbi_agent_result res;
    run(&req, &res);
    assert_int_equal(res.status, SYMBI_RUN_SUCCEEDED);
    assert_null(strstr(res.output, "topsecret-admin-key"));
    assert_null(strstr(res.output, "SYMBI_TEST_PLAIN"));
    assert_non_null(strstr(res.output, "SYMBI_LLM_API_KEY=given-on-purpose\n"));
    assert_non_null(strstr(res.output, "OTHER_INHERITED=kept\n"));
    assert_non_null(strstr(res.output, "SYMBI_JOB_NAME=nightly\n"));
    assert_non_null(strstr(res.output, "SYMBI_ENVIRONMENT=staging\n"));
    symbi_agent_result_cleanup(&res);
    symbi_agent_def_cleanup(&a);
    unsetenv("SYMBI_API_KEY");
    unsetenv("SYMBI_LLM_API_KEY");
    unsetenv("SYMBI_TEST_PLAIN");
    unsetenv("OTHER_INHERITED");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtins),
        cmocka_unit_test(test_daemon_secrets_not_inherited),
        cmocka_unit_test(test_command_stdin_env),
        cmocka_unit_test(test_exec_no_shell),
        cmocka_unit_test(test_exit_code_and_workdir),
        cmocka_unit_test(test_large_output_bounded),
        cmocka_unit_test(test_timeout_and_group_kill),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_summary_rule),
        cmocka_unit_test(test_concurrent_runs_no_leak),
    };
    return cmocka_run_group_tests_name("agent", tests, NULL, NULL);
}
