/* test_cli_out.c - unit tests of the store commands' output helpers: RFC
 * 4180 CSV quoting, aligned tables, streamed JSON arrays, time display and
 * time arguments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cli/cli_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *render(const struct symbi_cli_table *t, bool csv)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    if (csv)
        symbi_cli_table_csv(t, f);
    else
        symbi_cli_table_print(t, f);
    fclose(f);
    return buf;
}

static void test_csv_quoting(void **state)
{
    (void)state;
    static const char *const head[] = {"a", "b", "c"};
    struct symbi_cli_table t;
    symbi_cli_table_init(&t, 3, head);
    const char *r1[] = {"plain", "with,comma", "say \"hi\""};
    const char *r2[] = {" edge", "two\nlines", NULL};
    const char *r3[] = {"cr\rhere", "", "ünïcode"};
    assert_int_equal(symbi_cli_table_add(&t, r1), 0);
    assert_int_equal(symbi_cli_table_add(&t, r2), 0);
    assert_int_equal(symbi_cli_table_add(&t, r3), 0);
    char *out = render(&t, true);
    assert_string_equal(out, "a,b,c\r\n"
                             "plain,\"with,comma\",\"say \"\"hi\"\"\"\r\n"
                             "\" edge\",\"two\nlines\",\r\n"
                             "\"cr\rhere\",,ünïcode\r\n");
    free(out);
    symbi_cli_table_cleanup(&t);
}

static void test_table_alignment(void **state)
{
    (void)state;
    static const char *const head[] = {"ID", "NAME", "X"};
    struct symbi_cli_table t;
    symbi_cli_table_init(&t, 3, head);
    const char *r1[] = {"1", "ünï", "tab\there"};
    const char *r2[] = {"22222", "n", ""};
    assert_int_equal(symbi_cli_table_add(&t, r1), 0);
    assert_int_equal(symbi_cli_table_add(&t, r2), 0);
    char *out = render(&t, false);
    /* widths count characters, not bytes; control characters print as
     * spaces; the last column is not padded */
    assert_string_equal(out, "ID     NAME  X\n"
                             "1      ünï   tab here\n"
                             "22222  n     \n");
    free(out);
    symbi_cli_table_cleanup(&t);
}

static void test_json_stream_matches_dump(void **state)
{
    (void)state;
    /* capture stdout in a pipe-less way: a temporary file */
    char path[] = "/tmp/symbi-test-cli-out-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    assert_true(dup2(fd, STDOUT_FILENO) >= 0);
    struct symbi_cli_json_stream js;
    symbi_cli_json_begin(&js);
    symbi_cli_json_item(&js,
                        json_pack("{s:i, s:[i,i], s:{s:s}}", "a", 1, "b", 2, 3, "c", "d", "e"));
    symbi_cli_json_item(&js, json_string("x"));
    assert_int_equal(symbi_cli_json_end(&js), 0);
    symbi_cli_json_begin(&js);
    assert_int_equal(symbi_cli_json_end(&js), 0);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    char got[1024] = "";
    ssize_t n = pread(fd, got, sizeof got - 1, 0);
    assert_true(n > 0);
    got[n] = '\0';
    close(fd);
    unlink(path);
    json_t *arr = json_pack("[{s:i, s:[i,i], s:{s:s}}, s]", "a", 1, "b", 2, 3, "c", "d", "e", "x");
    char *want = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(arr);
    char expect[1024];
    snprintf(expect, sizeof expect, "%s\n[]\n", want);
    free(want);
    assert_string_equal(got, expect);
}

static void test_times(void **state)
{
    (void)state;
    char out[40];
    assert_string_equal(symbi_cli_time(SYMBI_TIME_NONE, false, out), "-");
    assert_string_equal(symbi_cli_time(1774747800000LL, false, out), "2026-03-29T01:30:00Z");
    setenv("TZ", "Europe/Berlin", 1);
    assert_string_equal(symbi_cli_time(1774747800000LL, true, out), "2026-03-29 03:30:00 +02:00");
    unsetenv("TZ");
    char d[32];
    assert_string_equal(symbi_cli_duration(-1, d), "-");
    assert_string_equal(symbi_cli_duration(250, d), "250ms");
    assert_string_equal(symbi_cli_duration(1500, d), "1.50s");
    assert_string_equal(symbi_cli_duration(5400000, d), "1h30m");
    int64_t t = 0, now = 1774747800000LL;
    assert_int_equal(symbi_cli_time_arg("now", now, &t), 0);
    assert_int_equal(t, now);
    assert_int_equal(symbi_cli_time_arg("2h", now, &t), 0);
    assert_int_equal(t, now - 7200000);
    assert_int_equal(symbi_cli_time_arg("2026-03-29", now, &t), 0);
    assert_int_equal(t, 1774742400000LL);
    assert_int_equal(symbi_cli_time_arg("2026-03-29T01:30:00+02:00", now, &t), 0);
    assert_int_equal(t, 1774740600000LL);
    assert_int_equal(symbi_cli_time_arg("yesterday", now, &t), SYMBI_EINVAL);
    enum symbi_cli_format f;
    assert_int_equal(symbi_cli_format_parse("csv", &f), 0);
    assert_int_equal(f, SYMBI_FMT_CSV);
    assert_int_equal(symbi_cli_format_parse("CSV", &f), SYMBI_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_quoting),
        cmocka_unit_test(test_table_alignment),
        cmocka_unit_test(test_json_stream_matches_dump),
        cmocka_unit_test(test_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
