/* test_agent_sandbox.c - unit tests of agent sandboxes (SPEC §6.5): the
 * block's checks (sizes, durations, unknown keys), the host checks, and
 * limits and no_new_privs applied to real processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "symbi/agent.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse(const char *json, struct symbi_sandbox *sb, struct symbi_err *err)
{
    symbi_err_clear(err);
    return symbi_agent_sandbox_parse(json, sb, err);
}

static void test_parse_full(void **state)
{
    (void)state;
    struct symbi_sandbox sb;
    struct symbi_err err;
    assert_int_equal(
        parse("{\"user\":\"nobody\",\"limits\":{\"memory\":\"512M\",\"cpu_time\":\"10m\","
              "\"processes\":64,\"open_files\":256,\"file_size\":\"100MiB\"},\"isolate\":true,"
              "\"network\":false,\"writable\":[\"/srv/out\"]}",
              &sb, &err),
        0);
    assert_string_equal(sb.user, "nobody");
    assert_int_equal(sb.memory, 512LL << 20);
    assert_int_equal(sb.cpu_time_ms, 600000);
    assert_int_equal(sb.processes, 64);
    assert_int_equal(sb.open_files, 256);
    assert_int_equal(sb.file_size, 100LL << 20);
    assert_true(sb.isolate);
    assert_false(sb.network);
    assert_int_equal(sb.n_writable, 1);
    assert_string_equal(sb.writable[0], "/srv/out");
    symbi_agent_sandbox_cleanup(&sb);
    /* sizes and durations in their other spellings */
    assert_int_equal(parse("{\"limits\":{\"memory\":1048576,\"cpu_time\":2,\"file_size\":\"1k\"},"
                           "\"user\":65534}",
                           &sb, &err),
                     0);
    assert_int_equal(sb.memory, 1048576);
    assert_int_equal(sb.cpu_time_ms, 2000);
    assert_int_equal(sb.file_size, 1024);
    assert_string_equal(sb.user, "65534");
    symbi_agent_sandbox_cleanup(&sb);
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *msg;
    } cases[] = {
        {"{\"limts\":{}}", "unknown key `limts`; did you mean `limits`?"},
        {"{\"limits\":{\"memroy\":\"1G\"}}",
         "limits: unknown key `memroy`; did you mean `memory`?"},
        {"{\"limits\":{\"memory\":\"64Q\"}}", "limits.memory: must be a size"},
        {"{\"limits\":{\"memory\":\"512K\"}}", "limits.memory: must be a size between 1M"},
        {"{\"limits\":{\"memory\":\"99999999999T\"}}", "limits.memory"},
        {"{\"limits\":{\"cpu_time\":\"500ms\"}}", "limits.cpu_time: must be a duration"},
        {"{\"limits\":{\"cpu_time\":true}}", "limits.cpu_time"},
        {"{\"limits\":{\"processes\":0}}", "limits.processes: must be an integer between 1"},
        {"{\"limits\":{\"open_files\":\"many\"}}", "limits.open_files"},
        {"{\"limits\":[]}", "limits: must be a map"},
        {"{\"user\":\"\"}", "user: must be a user name"},
        {"{\"user\":\"-rf\"}", "user: must be a user name"},
        {"{\"isolate\":1}", "isolate: must be true or false"},
        {"{\"network\":true}", "network: needs `isolate: true`"},
        {"{\"writable\":[\"/x\"]}", "writable: needs `isolate: true`"},
        {"{\"isolate\":true,\"writable\":[\"/a/../etc\"]}", "writable: element 0"},
        {"{\"isolate\":true,\"writable\":\"/a\"}", "writable: must be an array"},
        {"[]", "sandbox: must be a map"},
        {"{\"user\":\"a\",\"user\":\"b\"}", "sandbox: must be a map"},
    };
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(cases); i++) {
        struct symbi_sandbox sb;
        struct symbi_err err;
        assert_int_equal(parse(cases[i].json, &sb, &err), SYMBI_EINVAL);
        if (strstr(err.msg, cases[i].msg) == NULL)
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i].json, err.msg, cases[i].msg);
        assert_memory_equal(err.msg, "sandbox: ", 9);
        symbi_agent_sandbox_cleanup(&sb);
    }
}

static void test_check_host(void **state)
{
    (void)state;
    struct symbi_sandbox sb;
    struct symbi_err err;
    assert_int_equal(parse("{\"user\":\"no-such-user-here\"}", &sb, &err), 0);
    assert_int_equal(symbi_agent_sandbox_check_host(&sb, &err), SYMBI_EINVAL);
    assert_non_null(strstr(err.msg, "no such user"));
    symbi_agent_sandbox_cleanup(&sb);
    assert_int_equal(parse("{\"limits\":{\"processes\":4}}", &sb, &err), 0);
    int rc = symbi_agent_sandbox_check_host(&sb, &err);
    if (geteuid() == 0 && !symbi_agent_sandbox_host()->cgroup) {
        assert_int_equal(rc, SYMBI_EINVAL);
        assert_non_null(strstr(err.msg, "RLIMIT_NPROC does not bind"));
    } else {
        assert_int_equal(rc, 0);
    }
    symbi_agent_sandbox_cleanup(&sb);
    /* an agent's tools are checked with their own sandboxes */
    struct symbi_agent_def a;
    symbi_agent_def_init(&a);
    a.name = symbi_strdup("m");
    a.runner = SYMBI_RUNNER_MODEL;
    a.tools =
        symbi_strdup("{\"t\":{\"command\":\"x\",\"sandbox\":{\"user\":\"no-such-user-here\"}}}");
    assert_int_equal(symbi_agent_def_check_sandbox(&a, NULL, &err), SYMBI_EINVAL);
    assert_non_null(strstr(err.msg, "no such user"));
    symbi_agent_def_cleanup(&a);
}

static void run_cmd(const char *cmd, const char *sandbox, struct symbi_agent_result *res)
{
    struct symbi_agent_def a;
    symbi_agent_def_init(&a);
    a.name = symbi_strdup("t");
    a.runner = SYMBI_RUNNER_COMMAND;
    a.command = symbi_strdup(cmd);
    a.sandbox = sandbox != NULL ? symbi_strdup(sandbox) : NULL;
    struct symbi_agent_request r;
    memset(&r, 0, sizeof r);
    r.agent = &a;
    r.max_runtime_ms = 20000;
    struct symbi_err err;
    assert_int_equal(symbi_agent_execute(&r, res, &err), 0);
    symbi_agent_def_cleanup(&a);
}

static void test_every_process_has_no_new_privs(void **state)
{
    (void)state;
    struct symbi_agent_result res;
    run_cmd("grep NoNewPrivs /proc/self/status", NULL, &res);
    assert_int_equal(res.status, SYMBI_RUN_SUCCEEDED);
    assert_non_null(strstr(res.output, "NoNewPrivs:\t1"));
    symbi_agent_result_cleanup(&res);
}

static void test_limits_applied_and_named(void **state)
{
    (void)state;
    /* valgrind (tests/valgrind-unit.sh) refuses a new RLIMIT_NOFILE in the
     * agent's child, which is still valgrind's process until exec */
    const char *vg = getenv("SYMBI_TEST_VALGRIND");
    if (vg != NULL && strcmp(vg, "1") == 0)
        skip();
    struct symbi_agent_result res;
    /* the limits as the agent sees them */
    run_cmd("ulimit -n; ulimit -f; ulimit -v; ulimit -t",
            "{\"limits\":{\"open_files\":64,\"file_size\":\"1M\",\"memory\":\"256M\","
            "\"cpu_time\":\"3s\"}}",
            &res);
    assert_int_equal(res.status, SYMBI_RUN_SUCCEEDED);
    assert_string_equal(res.output, "64\n2048\n262144\n3\n");
    symbi_agent_result_cleanup(&res);
    /* a write past file_size: SIGXFSZ, said as the file size limit */
    char path[] = "/tmp/symbi-sbx-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "head -c 100000 /dev/zero > %s", path);
    run_cmd(cmd, "{\"limits\":{\"file_size\":\"10k\"}}", &res);
    assert_int_equal(res.status, SYMBI_RUN_FAILED);
    assert_non_null(strstr(res.error_message, "file size limit"));
    symbi_agent_result_cleanup(&res);
    unlink(path);
    /* a failure without evidence of a limit is not blamed on one */
    run_cmd("exit 3", "{\"limits\":{\"memory\":\"256M\",\"cpu_time\":\"5s\"}}", &res);
    assert_int_equal(res.status, SYMBI_RUN_FAILED);
    assert_string_equal(res.error_message, "exit code 3");
    symbi_agent_result_cleanup(&res);
    /* a sandbox stored broken fails the run before anything starts */
    run_cmd("echo ran", "{\"limits\":{\"memroy\":1}}", &res);
    assert_int_equal(res.status, SYMBI_RUN_FAILED);
    assert_string_equal(res.output, "");
    assert_non_null(strstr(res.error_message, "did you mean `memory`?"));
    assert_non_null(strstr(res.error_message, "the agent was not started"));
    symbi_agent_result_cleanup(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_full),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_check_host),
        cmocka_unit_test(test_every_process_has_no_new_privs),
        cmocka_unit_test(test_limits_applied_and_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
