/* test_cli.c - unit tests of the CLI plumbing: table dispatch, help and
 * usage exit codes, and the data-directory and store-URL rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int calls;
static int last_argc;

static int cmd_a(struct symbi_cli *cli, int argc, char **argv)
{
    (void)cli;
    (void)argv;
    calls++;
    last_argc = argc;
    return 7;
}

static const struct symbi_cli_cmd table[] = {
    {"alpha", cmd_a, "the first", "usage: t alpha\n"},
    {"beta", cmd_a, "the second", "usage: t beta\n"},
};

static void test_dispatch(void **state)
{
    (void)state;
    struct symbi_cli cli = {0};
    calls = 0;
    char *a1[] = {"beta", "x", "y", NULL};
    assert_int_equal(symbi_cli_dispatch(&cli, table, 2, "t", 3, a1), 7);
    assert_int_equal(calls, 1);
    assert_int_equal(last_argc, 3);
    char *a2[] = {"gamma", NULL};
    assert_int_equal(symbi_cli_dispatch(&cli, table, 2, "t", 1, a2), SYMBI_EXIT_USAGE);
    char *a3[] = {"alpha", "--help", NULL};
    assert_int_equal(symbi_cli_dispatch(&cli, table, 2, "t", 2, a3), SYMBI_EXIT_OK);
    assert_int_equal(calls, 1); /* --help does not run the command */
    char *a4[] = {"help", NULL};
    assert_int_equal(symbi_cli_dispatch(&cli, table, 2, "t", 1, a4), SYMBI_EXIT_OK);
    assert_int_equal(symbi_cli_dispatch(&cli, table, 2, "t", 0, a4), SYMBI_EXIT_USAGE);
    char *a5[] = {"alpha", "--", "--help", NULL};
    assert_int_equal(symbi_cli_dispatch(&cli, table, 2, "t", 3, a5), 7);
    assert_int_equal(calls, 2);
}

static void test_data_dir_rules(void **state)
{
    (void)state;
    struct symbi_cli cli = {0};
    setenv("HOME", "/home/u", 1);
    unsetenv("SYMBI_HOME");
    unsetenv("XDG_DATA_HOME");
    char *d = symbi_cli_data_dir(&cli);
    assert_string_equal(d, "/home/u/.local/share/symbi");
    free(d);
    setenv("XDG_DATA_HOME", "/xdg", 1);
    d = symbi_cli_data_dir(&cli);
    assert_string_equal(d, "/xdg/symbi");
    free(d);
    setenv("SYMBI_HOME", "/sh", 1);
    d = symbi_cli_data_dir(&cli);
    assert_string_equal(d, "/sh");
    free(d);
    cli.data_dir_flag = "/flag";
    d = symbi_cli_data_dir(&cli);
    assert_string_equal(d, "/flag");
    free(d);
}

static void test_store_url_rules(void **state)
{
    (void)state;
    char dir[] = "/tmp/symbi-test-cli-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char nested[256];
    snprintf(nested, sizeof nested, "%s/a/b", dir);
    struct symbi_cli cli = {.data_dir_flag = nested};
    unsetenv("SYMBI_STORE");
    char *u = symbi_cli_store_url(&cli);
    char want[300];
    snprintf(want, sizeof want, "%s/symbi.db", nested);
    assert_string_equal(u, want);
    free(u);
    struct stat st;
    assert_int_equal(stat(nested, &st), 0); /* created, with its parents */
    assert_true(S_ISDIR(st.st_mode));
    setenv("SYMBI_STORE", "/env/store.db", 1);
    u = symbi_cli_store_url(&cli);
    assert_string_equal(u, "/env/store.db");
    free(u);
    cli.store_flag = "sqlite:/flag.db";
    u = symbi_cli_store_url(&cli);
    assert_string_equal(u, "sqlite:/flag.db");
    free(u);
    unsetenv("SYMBI_STORE");
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch),
        cmocka_unit_test(test_data_dir_rules),
        cmocka_unit_test(test_store_url_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
