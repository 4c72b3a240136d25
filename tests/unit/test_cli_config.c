/* test_cli_config.c - the CLI's store URL and data directory honour the
 * configuration file chosen by --config / $SYMBI_CONFIG (SPEC §10, §11). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cli/cli.h"
#include "symbi/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/symbi-cli-config-XXXXXX";
static char path[300];

static void write_config(const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_store_url_from_config(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/symbi.toml", dir);
    unsetenv("SYMBI_STORE");
    unsetenv("SYMBI_HOME");
    unsetenv("SYMBI_CONFIG");
    setenv("SYMBI_T_DBDIR", "/var/lib/x", 1);
    write_config("[store]\nurl = \"sqlite:${SYMBI_T_DBDIR}/jobs.db\"\n");
    struct symbi_cli cli = {.config_flag = path};
    char *u = symbi_cli_store_url(&cli);
    assert_string_equal(u, "sqlite:/var/lib/x/jobs.db");
    free(u);
    /* $SYMBI_CONFIG names the same file */
    struct symbi_cli nocli = {0};
    setenv("SYMBI_CONFIG", path, 1);
    u = symbi_cli_store_url(&nocli);
    assert_string_equal(u, "sqlite:/var/lib/x/jobs.db");
    free(u);
    unsetenv("SYMBI_CONFIG");
    /* the environment and the flag beat the file */
    setenv("SYMBI_STORE", "/env.db", 1);
    u = symbi_cli_store_url(&cli);
    assert_string_equal(u, "/env.db");
    free(u);
    unsetenv("SYMBI_STORE");
    cli.store_flag = "/flag.db";
    u = symbi_cli_store_url(&cli);
    assert_string_equal(u, "/flag.db");
    free(u);
    cli.store_flag = NULL;

    /* data_dir from the file; the store then lives there */
    char data[400], want[450];
    snprintf(data, sizeof data, "%s/data", dir);
    char text[600];
    snprintf(text, sizeof text, "data_dir = \"%s\"\n", data);
    write_config(text);
    char *d = symbi_cli_data_dir(&cli);
    assert_string_equal(d, data);
    free(d);
    u = symbi_cli_store_url(&cli);
    snprintf(want, sizeof want, "%s/symbi.db", data);
    assert_string_equal(u, want);
    free(u);

    /* a bad file stops the command (the error is printed) */
    write_config("[store]\nurl = 42\n");
    assert_null(symbi_cli_store_url(&cli));
    struct symbi_config cfg;
    assert_int_equal(symbi_cli_load_config(&cli, &cfg), SYMBI_EXIT_ERROR);
    symbi_config_cleanup(&cfg);

    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    unsetenv("SYMBI_T_DBDIR");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_url_from_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
