/* test_config.c - unit tests of the config module: the TOML subset, the
 * spec's example, environment overrides, FILE:LINE: KEY errors, ${VAR}. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "config/toml.h"
#include "symbi/config.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char spec_example[] = "[scheduler]\n"
                                   "tick_interval_seconds = 1\n"
                                   "max_jitter_seconds = 30\n"
                                   "max_concurrent_jobs = 20\n"
                                   "enable_metrics = true\n"
                                   "default_max_retries = 3\n"
                                   "shutdown_timeout_seconds = 60\n"
                                   "default_timezone = \"UTC\"\n"
                                   "\n"
                                   "[scheduler.delivery]\n"
                                   "webhook_timeout_seconds = 30\n"
                                   "webhook_retry_attempts = 3\n"
                                   "slack_api_token = \"${SLACK_API_TOKEN}\"\n"
                                   "slack_default_channel = \"#ops\"\n"
                                   "smtp_host = \"smtp.example.com\"\n"
                                   "smtp_port = 587\n"
                                   "smtp_username = \"${SMTP_USER}\"\n"
                                   "smtp_password = \"${SMTP_PASS}\"\n"
                                   "email_from = \"symbiont@example.com\"\n";

static const char *const env_names[] = {
    "SYMBI_SCHEDULER_MAX_JITTER",
    "SYMBI_SCHEDULER_MAX_CONCURRENT",
    "SYMBI_SLACK_TOKEN",
    "SYMBI_WEBHOOK_AUTH_HEADER",
    "SYMBI_AGENTPIN_REQUIRED",
    "SYMBI_AGENTPIN_DOMAIN",
    "SYMBI_ENVIRONMENT",
    "SYMBI_API_KEY",
    "SYMBI_STORE",
    "SYMBI_HOME",
    "SYMBI_CONFIG",
    "SYMBI_LLM_ENDPOINT",
};

static char tmpdir[PATH_MAX];
static char oldcwd[PATH_MAX];

static int setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(env_names); i++)
        unsetenv(env_names[i]);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/symbi-config-XXXXXX");
    if (mkdtemp(tmpdir) == NULL || getcwd(oldcwd, sizeof oldcwd) == NULL || chdir(tmpdir) != 0)
        return -1;
    /* no XDG file gets in the way */
    setenv("XDG_CONFIG_HOME", tmpdir, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (chdir(oldcwd) != 0)
        return -1;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_defaults(void **state)
{
    (void)state;
    struct symbi_config cfg;
    symbi_config_init(&cfg);
    struct symbi_err err;
    assert_int_equal(symbi_config_load(&cfg, NULL, NULL, &err), 0);
    assert_null(cfg.config_file);
    assert_int_equal(cfg.tick_interval_ms, 1000);
    assert_int_equal(cfg.max_jitter_ms, 0);
    assert_int_equal(cfg.max_concurrent_jobs, 10);
    assert_true(cfg.enable_metrics);
    assert_int_equal(cfg.default_max_retries, 3);
    assert_int_equal(cfg.shutdown_timeout_ms, 30000);
    assert_int_equal(cfg.retry_backoff_ms, 30000);
    assert_int_equal(cfg.smtp_port, 587);
    assert_int_equal(cfg.max_body_bytes, 1024 * 1024);
    assert_int_equal(cfg.header_timeout_ms, 10000);
    assert_int_equal(cfg.max_connections, 1000);
    assert_int_equal(cfg.max_connections_per_ip, 64);
    assert_string_equal(cfg.default_timezone, "UTC");
    assert_string_equal(cfg.environment, "development");
    assert_string_equal(cfg.listen, "127.0.0.1:8080");
    assert_string_equal(cfg.slack_api_base, "https://slack.com/api");
    assert_string_equal(cfg.log_level, "info");
    assert_non_null(cfg.data_dir);
    assert_null(cfg.store_url);
    char *url = symbi_config_store_url(&cfg);
    char want[PATH_MAX + 16];
    snprintf(want, sizeof want, "%s/symbi.db", cfg.data_dir);
    assert_string_equal(url, want);
    free(url);
    symbi_config_cleanup(&cfg);
}

static void test_spec_example(void **state)
{
    (void)state;
    write_file("symbi.toml", spec_example);
    struct symbi_config cfg;
    symbi_config_init(&cfg);
    struct symbi_err err;
    assert_int_equal(symbi_config_load(&cfg, NULL, NULL, &err), 0);
    assert_string_equal(cfg.config_file, "symbi.toml"); /* ./symbi.toml is found */
    assert_int_equal(cfg.tick_interval_ms, 1000);
    assert_int_equal(cfg.max_jitter_ms, 30000);
    assert_int_equal(cfg.max_concurrent_jobs, 20);
    assert_true(cfg.enable_metrics);
    assert_int_equal(cfg.default_max_retries, 3);
    assert_int_equal(cfg.shutdown_timeout_ms, 60000);
    assert_string_equal(cfg.default_timezone, "UTC");
    assert_int_equal(cfg.webhook_timeout_ms, 30000);
    assert_int_equal(cfg.webhook_retry_attempts, 3);
    assert_int_equal(cfg.webhook_retry_backoff_ms, 1000);
    assert_null(cfg.delivery_log_dir);
    /* kept as written: expanded only at use */
    assert_string_equal(cfg.slack_api_token, "${SLACK_API_TOKEN}");
    assert_string_equal(cfg.slack_default_channel, "#ops");
    assert_string_equal(cfg.smtp_host, "smtp.example.com");
    assert_int_equal(cfg.smtp_port, 587);
    assert_string_equal(cfg.smtp_username, "${SMTP_USER}");
    assert_string_equal(cfg.smtp_password, "${SMTP_PASS}");
    assert_string_equal(cfg.email_from, "symbiont@example.com");
    setenv("SMTP_PASS", "s3cret", 1);
    char *pass = symbi_config_expand(cfg.smtp_password);
    assert_string_equal(pass, "s3cret");
    free(pass);
    unsetenv("SMTP_PASS");
    symbi_config_cleanup(&cfg);
    unlink("symbi.toml");
}

static void test_every_section(void **state)
{
    (void)state;
    const char *text = "environment = \"staging\"\n"
                       "data_dir = \"/srv/symbi\"\n"
                       "[scheduler]\n"
                       "retry_backoff = \"45s\"\n"
                       "approval_timeout_seconds = 7200\n"
                       "max_output_bytes = 2_097_152\n"
                       "context_max_bytes = 0x40000\n"
                       "lease_seconds = 20.5\n"
                       "[scheduler.delivery]\n"
                       "smtp_require_tls = true\n"
                       "webhook_auth_header = 'Bearer ${HOOK_TOKEN}'\n"
                       "webhook_retry_backoff_seconds = \"250ms\"\n"
                       "log_dir = \"/var/log/symbi/jobs\"\n"
                       "[scheduler.delivery.custom.pagerduty]\n"
                       "command = \"\"\"\n"
                       "/usr/local/bin/notify --service ops\"\"\"\n"
                       "[scheduler.delivery.custom.teams]\n"
                       "command = '/usr/bin/teams-notify'\n"
                       "[api]\n"
                       "listen = \"[::1]:9090\"\n"
                       "max_body_bytes = 65536\n"
                       "protect_health = true\n"
                       "header_timeout_seconds = 2.5\n"
                       "max_connections = 200\n"
                       "max_connections_per_ip = 8\n"
                       "[store]\n"
                       "url = \"sqlite:/var/lib/symbi/jobs.db\"\n"
                       "[agents]\n"
                       "dir = \"/etc/symbi/agents\"\n"
                       "llm_endpoint = \"http://127.0.0.1:11434/v1\"\n"
                       "[agentpin]\n"
                       "required = true\n"
                       "domain = \"agents.example.com\"\n"
                       "keys_dir = \"/etc/symbi/keys\"\n"
                       "clock_skew_seconds = 30\n"
                       "[log]\n"
                       "level = \"debug\"\n"
                       "max_bytes = 1_048_576\n";
    write_file("full.toml", text);
    struct symbi_config cfg;
    symbi_config_init(&cfg);
    struct symbi_err err;
    assert_int_equal(symbi_config_load(&cfg, "full.toml", NULL, &err), 0);
    assert_string_equal(cfg.environment, "staging");
    assert_string_equal(cfg.data_dir, "/srv/symbi");
    assert_int_equal(cfg.retry_backoff_ms, 45000);
    assert_int_equal(cfg.approval_timeout_ms, 7200000);
    assert_int_equal(cfg.max_output_bytes, 2097152);
    assert_int_equal(cfg.context_max_bytes, 0x40000);
    assert_int_equal(cfg.lease_ms, 20500);
    assert_true(cfg.smtp_require_tls);
    assert_string_equal(cfg.webhook_auth_header, "Bearer ${HOOK_TOKEN}");
    assert_int_equal(cfg.webhook_retry_backoff_ms, 250);
    assert_string_equal(cfg.delivery_log_dir, "/var/log/symbi/jobs");
    assert_int_equal(cfg.n_custom_channels, 2);
    assert_string_equal(cfg.custom_channels[0].name, "pagerduty");
    assert_string_equal(cfg.custom_channels[0].command, "/usr/local/bin/notify --service ops");
    assert_string_equal(cfg.custom_channels[1].name, "teams");
    assert_string_equal(cfg.listen, "[::1]:9090");
    assert_int_equal(cfg.max_body_bytes, 65536);
    assert_true(cfg.protect_health);
    assert_int_equal(cfg.header_timeout_ms, 2500);
    assert_int_equal(cfg.max_connections, 200);
    assert_int_equal(cfg.max_connections_per_ip, 8);
    assert_string_equal(cfg.store_url, "sqlite:/var/lib/symbi/jobs.db");
    assert_string_equal(cfg.agents_dir, "/etc/symbi/agents");
    assert_string_equal(cfg.llm_endpoint, "http://127.0.0.1:11434/v1");
    assert_true(cfg.agentpin_required);
    assert_string_equal(cfg.agentpin_domain, "agents.example.com");
    assert_string_equal(cfg.agentpin_keys_dir, "/etc/symbi/keys");
    assert_int_equal(cfg.agentpin_clock_skew_ms, 30000);
    assert_string_equal(cfg.log_level, "debug");
    assert_int_equal(cfg.log_max_bytes, 1048576);
    char *url = symbi_config_store_url(&cfg);
    assert_string_equal(url, "sqlite:/var/lib/symbi/jobs.db");
    free(url);
    symbi_config_cleanup(&cfg);
}

struct env_case {
    const char *name;
    const char *value;
};

static void test_env_overrides(void **state)
{
    (void)state;
    write_file("symbi.toml", spec_example);
    const struct env_case cases[] = {
        {"SYMBI_SCHEDULER_MAX_JITTER", "45"},   {"SYMBI_SCHEDULER_MAX_CONCURRENT", "7"},
        {"SYMBI_SLACK_TOKEN", "xoxb-1"},        {"SYMBI_WEBHOOK_AUTH_HEADER", "Bearer t"},
        {"SYMBI_AGENTPIN_REQUIRED", "true"},    {"SYMBI_AGENTPIN_DOMAIN", "example.org"},
        {"SYMBI_ENVIRONMENT", "production"},    {"SYMBI_API_KEY", "k-123"},
        {"SYMBI_STORE", "/tmp/other.db"},       {"SYMBI_HOME", "/tmp/symbi-home"},
        {"SYMBI_LLM_ENDPOINT", "http://llm:1"},
    };
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(cases); i++)
        setenv(cases[i].name, cases[i].value, 1);
    struct symbi_config cfg;
    symbi_config_init(&cfg);
    struct symbi_err err;
    assert_int_equal(symbi_config_load(&cfg, NULL, NULL, &err), 0);
    assert_int_equal(cfg.max_jitter_ms, 45000);         /* file said 30 */
    assert_int_equal(cfg.max_concurrent_jobs, 7);       /* file said 20 */
    assert_string_equal(cfg.slack_api_token, "xoxb-1"); /* file said ${SLACK_API_TOKEN} */
    assert_string_equal(cfg.webhook_auth_header, "Bearer t");
    assert_true(cfg.agentpin_required);
    assert_string_equal(cfg.agentpin_domain, "example.org");
    assert_string_equal(cfg.environment, "production");
    assert_string_equal(cfg.api_key, "k-123");
    assert_string_equal(cfg.store_url, "/tmp/other.db");
    assert_string_equal(cfg.data_dir, "/tmp/symbi-home");
    assert_string_equal(cfg.llm_endpoint, "http://llm:1");
    symbi_config_cleanup(&cfg);

    /* the command-line flag beats the environment */
    symbi_config_init(&cfg);
    assert_int_equal(symbi_config_load(&cfg, NULL, "/tmp/flag-dir", &err), 0);
    assert_string_equal(cfg.data_dir, "/tmp/flag-dir");
    symbi_config_cleanup(&cfg);

    /* a bad environment value stops, naming the variable */
    setenv("SYMBI_SCHEDULER_MAX_CONCURRENT", "lots", 1);
    symbi_config_init(&cfg);
    assert_int_equal(symbi_config_load(&cfg, NULL, NULL, &err), SYMBI_EINVAL);
    assert_string_equal(err.msg, "SYMBI_SCHEDULER_MAX_CONCURRENT: \"lots\" is not an integer");
    setenv("SYMBI_SCHEDULER_MAX_CONCURRENT", "0", 1);
    assert_int_equal(symbi_config_load(&cfg, NULL, NULL, &err), SYMBI_EINVAL);
    assert_string_equal(err.msg, "SYMBI_SCHEDULER_MAX_CONCURRENT (scheduler.max_concurrent_jobs): "
                                 "must be between 1 and 10000 (got 0)");
    setenv("SYMBI_SCHEDULER_MAX_CONCURRENT", "7", 1);
    setenv("SYMBI_AGENTPIN_REQUIRED", "maybe", 1);
    assert_int_equal(symbi_config_load(&cfg, NULL, NULL, &err), SYMBI_EINVAL);
    assert_string_equal(err.msg, "SYMBI_AGENTPIN_REQUIRED: \"maybe\" is not true or false");
    setenv("SYMBI_AGENTPIN_REQUIRED", "true", 1);
    setenv("SYMBI_SCHEDULER_MAX_JITTER", "2m", 1); /* a duration works too */
    assert_int_equal(symbi_config_load(&cfg, NULL, NULL, &err), 0);
    assert_int_equal(cfg.max_jitter_ms, 120000);
    symbi_config_cleanup(&cfg);
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(cases); i++)
        unsetenv(cases[i].name);
    unlink("symbi.toml");
}

static void test_config_file_choice(void **state)
{
    (void)state;
    struct symbi_config cfg;
    struct symbi_err err;
    /* $SYMBI_CONFIG names the file and must exist */
    write_file("a.toml", "environment = \"from-a\"\n");
    write_file("symbi.toml", "environment = \"from-cwd\"\n");
    setenv("SYMBI_CONFIG", "a.toml", 1);
    symbi_config_init(&cfg);
    assert_int_equal(symbi_config_load(&cfg, NULL, NULL, &err), 0);
    assert_string_equal(cfg.environment, "from-a");
    /* --config beats $SYMBI_CONFIG */
    assert_int_equal(symbi_config_load(&cfg, "symbi.toml", NULL, &err), 0);
    assert_string_equal(cfg.environment, "from-cwd");
    setenv("SYMBI_CONFIG", "missing.toml", 1);
    assert_int_equal(symbi_config_load(&cfg, NULL, NULL, &err), SYMBI_EIO);
    assert_string_equal(err.msg, "missing.toml: cannot read: No such file or directory");
    /* a failed load leaves the configuration as it was */
    assert_string_equal(cfg.environment, "from-cwd");
    unsetenv("SYMBI_CONFIG");
    unlink("symbi.toml");
    /* XDG */
    assert_int_equal(system("mkdir -p symbi"), 0);
    write_file("symbi/symbi.toml", "environment = \"from-xdg\"\n");
    assert_int_equal(symbi_config_load(&cfg, NULL, NULL, &err), 0);
    assert_string_equal(cfg.environment, "from-xdg");
    unlink("symbi/symbi.toml");
    unlink("a.toml");
    symbi_config_cleanup(&cfg);
}

/* Loads text and expects the error message msg. */
static void expect_error(const char *text, const char *msg)
{
    struct symbi_config cfg;
    symbi_config_init(&cfg);
    struct symbi_err err;
    write_file("bad.toml", text);
    assert_int_equal(symbi_config_load(&cfg, "bad.toml", NULL, &err), SYMBI_EINVAL);
    if (strcmp(err.msg, msg) != 0)
        fail_msg("for:\n%s\nexpected: %s\n     got: %s", text, msg, err.msg);
    symbi_config_cleanup(&cfg);
    unlink("bad.toml");
}

static void test_errors_name_file_line_key(void **state)
{
    (void)state;
    expect_error("[scheduler]\nmax_jiter_seconds = 3\n",
                 "bad.toml:2: scheduler.max_jiter_seconds: unknown key; did you mean "
                 "`max_jitter_seconds`?");
    expect_error("[scheduler]\n\nmax_concurrent_jobs = \"20\"\n",
                 "bad.toml:3: scheduler.max_concurrent_jobs: expected an integer, found a string");
    expect_error("[scheduler]\nmax_concurrent_jobs = 0\n",
                 "bad.toml:2: scheduler.max_concurrent_jobs: must be between 1 and 10000 (got 0)");
    expect_error("[scheduler]\nenable_metrics = \"yes\"\n",
                 "bad.toml:2: scheduler.enable_metrics: expected true or false, found a string");
    expect_error("[scheduler]\ndefault_timezone = \"Mars/Base\"\n",
                 "bad.toml:2: scheduler.default_timezone: unknown time zone \"Mars/Base\"");
    expect_error("[scheduler]\ntick_interval_seconds = \"soon\"\n",
                 "bad.toml:2: scheduler.tick_interval_seconds: \"soon\" is not a duration (e.g. "
                 "30, 1.5, \"30s\")");
    expect_error("[scheduler]\ntick_interval_seconds = 3600\n",
                 "bad.toml:2: scheduler.tick_interval_seconds: must be between 10ms and 1m");
    expect_error("[scheduler.delivery]\nsmtp_port = 70000\n",
                 "bad.toml:2: scheduler.delivery.smtp_port: must be between 1 and 65535 (got "
                 "70000)");
    expect_error("[api]\nlisten = \"localhost\"\n",
                 "bad.toml:2: api.listen: \"localhost\" is not an address HOST:PORT");
    expect_error("[api]\nmax_connections_per_ip = 0\n",
                 "bad.toml:2: api.max_connections_per_ip: must be between 1 and 100000 (got 0)");
    expect_error("[api]\nheader_timeout_seconds = 0.5\n",
                 "bad.toml:2: api.header_timeout_seconds: must be between 1s and 10m");
    expect_error("[log]\nlevel = \"loud\"\n",
                 "bad.toml:2: log.level: \"loud\" is not a log level (debug, info, warn, error, "
                 "off)");
    expect_error("[schedular]\nx = 1\n", "bad.toml:1: schedular: unknown key; did you mean "
                                         "`scheduler`?");
    expect_error("environmnt = \"x\"\n",
                 "bad.toml:1: environmnt: unknown key; did you mean `environment`?");
    expect_error("[scheduler.delivery.custom.pager]\ncmd = \"x\"\n",
                 "bad.toml:2: scheduler.delivery.custom.pager.cmd: unknown key");
    expect_error("[scheduler.delivery.custom.pager]\n",
                 "bad.toml:1: scheduler.delivery.custom.pager: needs `command`");
    expect_error("[scheduler.delivery.custom.email]\ncommand = \"x\"\n",
                 "bad.toml:1: scheduler.delivery.custom.email: `email` is a built-in channel");
    expect_error("[store]\nurl = [\"a\"]\n",
                 "bad.toml:2: store.url: expected a string, found an array");
}

static void test_syntax_errors(void **state)
{
    (void)state;
    expect_error("[scheduler]\nx = \"open\n", "bad.toml:2: unterminated string (a line break "
                                              "inside \"...\")");
    expect_error("a = 1\na = 2\n", "bad.toml:2: duplicate key `a` (first at line 1)");
    expect_error("[api]\n[api]\n", "bad.toml:2: table [api] is defined twice");
    expect_error("[[jobs]]\n", "bad.toml:1: arrays of tables ([[...]]) are not supported");
    expect_error("when = 2026-01-01\n",
                 "bad.toml:1: dates and times are not supported; use a string");
    expect_error("a = 1 b = 2\n", "bad.toml:1: expected the end of the line, found `b`");
    expect_error("a\n", "bad.toml:1: expected `=` after key `a`");
    expect_error("a = \n", "bad.toml:1: expected a value");
    expect_error("a = 0123\n", "bad.toml:1: `0123`: leading zeros are not allowed");
    expect_error("a = 1__0\n",
                 "bad.toml:1: `1__0` is not a number (an underscore must sit between digits)");
    expect_error("a = \"\\q\"\n", "bad.toml:1: unknown escape `\\q` in a string");
    expect_error("a = [1, 2\n", "bad.toml:2: unterminated array");
    expect_error("a = \"x\x01\"\n", "bad.toml:1: control character 0x01 in a string");
    expect_error("\n\na = \"caf\xe9\"\n", "bad.toml:3: invalid UTF-8");
    expect_error("a = { b = 1 }\n[a]\n",
                 "bad.toml:2: `a` is an inline table (line 1) and cannot be extended");
    expect_error("a = 1\n[a]\n", "bad.toml:2: `a` is already an integer (line 1), not a table");
}

static void test_toml_subset(void **state)
{
    (void)state;
    const char *text = "# comment\n"
                       "title = \"basic \\\"q\\\" \\u00e9 \\U0001F600\" # trailing\n"
                       "lit = 'C:\\path\\no\\escapes'\n"
                       "ml = \"\"\"\n"
                       "one \\\n"
                       "   two\n"
                       "three\"\"\"\n"
                       "mll = '''\n"
                       "raw \\n line\n"
                       "'''\n"
                       "int = -1_000\n"
                       "hex = 0xff\n"
                       "oct = 0o17\n"
                       "bin = 0b101\n"
                       "f = 6.25e-1\n"
                       "inf = -inf\n"
                       "yes = true\n"
                       "arr = [ 1, 2,\n"
                       "  3, # comment\n"
                       "]\n"
                       "nested = [[1], [\"a\", 'b']]\n"
                       "inline = { x = 1, y.z = \"deep\" }\n"
                       "dotted.key = 5\n"
                       "\"quoted key\" = 6\n"
                       "[table.sub]\n"
                       "k = 7\n"
                       "[table]\n"
                       "j = 8\n";
    struct symbi_arena a;
    symbi_arena_init(&a);
    struct toml_value *root;
    struct symbi_err err;
    int rc = toml_parse("t.toml", text, strlen(text), &a, &root, &err);
    if (rc != 0)
        fail_msg("%s", err.msg);
    assert_string_equal(toml_get(root, "title")->s, "basic \"q\" \xc3\xa9 \xf0\x9f\x98\x80");
    assert_string_equal(toml_get(root, "lit")->s, "C:\\path\\no\\escapes");
    assert_string_equal(toml_get(root, "ml")->s, "one two\nthree");
    assert_string_equal(toml_get(root, "mll")->s, "raw \\n line\n");
    assert_int_equal(toml_get(root, "int")->i, -1000);
    assert_int_equal(toml_get(root, "hex")->i, 255);
    assert_int_equal(toml_get(root, "oct")->i, 15);
    assert_int_equal(toml_get(root, "bin")->i, 5);
    assert_true(fabs(toml_get(root, "f")->d - 0.625) < 1e-12);
    assert_true(isinf(toml_get(root, "inf")->d) && toml_get(root, "inf")->d < 0);
    assert_true(toml_get(root, "yes")->b);
    struct toml_value *arr = toml_get(root, "arr");
    assert_int_equal(arr->kind, TOML_ARRAY);
    assert_int_equal(arr->items->next->next->i, 3);
    assert_null(arr->items->next->next->next);
    struct toml_value *nested = toml_get(root, "nested");
    assert_string_equal(nested->items->next->items->next->s, "b");
    struct toml_value *in = toml_get(root, "inline");
    assert_int_equal(toml_get(in, "x")->i, 1);
    assert_string_equal(toml_get(toml_get(in, "y"), "z")->s, "deep");
    assert_int_equal(toml_get(toml_get(root, "dotted"), "key")->i, 5);
    assert_int_equal(toml_get(root, "quoted key")->i, 6);
    struct toml_value *table = toml_get(root, "table");
    assert_int_equal(toml_get(toml_get(table, "sub"), "k")->i, 7);
    assert_int_equal(toml_get(table, "j")->i, 8);
    symbi_arena_cleanup(&a);
}

static void test_expand(void **state)
{
    (void)state;
    setenv("SYMBI_T_A", "alpha", 1);
    unsetenv("SYMBI_T_UNSET");
    struct {
        const char *in, *out;
    } cases[] = {
        {"Bearer ${SYMBI_T_A}", "Bearer alpha"},
        {"${SYMBI_T_A}${SYMBI_T_A}", "alphaalpha"},
        {"x${SYMBI_T_UNSET}y", "xy"},
        {"${SYMBI_T_UNSET:-fallback}", "fallback"},
        {"${SYMBI_T_A:-fallback}", "alpha"},
        {"$SYMBI_T_A", "$SYMBI_T_A"},
        {"${SYMBI_T_A", "${SYMBI_T_A"},
        {"${1BAD}", "${1BAD}"},
        {"cost: $5 {x}", "cost: $5 {x}"},
        {"", ""},
    };
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(cases); i++) {
        char *s = symbi_config_expand(cases[i].in);
        assert_string_equal(s, cases[i].out);
        free(s);
    }
    assert_null(symbi_config_expand(NULL));
    unsetenv("SYMBI_T_A");
}

static void test_example_file(void **state)
{
    (void)state;
    /* examples/symbi.toml of the repository (the tests run from its root) */
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/examples/symbi.toml", oldcwd);
    struct symbi_config cfg;
    symbi_config_init(&cfg);
    struct symbi_err err;
    int rc = symbi_config_load(&cfg, path, NULL, &err);
    if (rc != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(cfg.max_concurrent_jobs, 20);
    assert_string_equal(cfg.slack_api_token, "${SLACK_API_TOKEN}");
    assert_int_equal(cfg.n_custom_channels, 1);
    assert_string_equal(cfg.custom_channels[0].name, "archive");
    assert_string_equal(cfg.agents_dir, "examples/agents");
    symbi_config_cleanup(&cfg);
}

static void test_load_buffer_limits(void **state)
{
    (void)state;
    struct symbi_config cfg;
    symbi_config_init(&cfg);
    struct symbi_err err;
    size_t n = 1024 * 1024 + 1;
    char *big = malloc(n);
    memset(big, '#', n);
    assert_int_equal(symbi_config_load_buffer(&cfg, "big.toml", big, n, &err), SYMBI_EINVAL);
    assert_string_equal(err.msg, "big.toml: file too large (1048577 bytes; the limit is 1048576)");
    free(big);
    struct symbi_buf b;
    symbi_buf_init(&b, 0);
    symbi_buf_puts(&b, "a = ");
    for (int i = 0; i < 100; i++)
        symbi_buf_putc(&b, '[');
    assert_int_equal(symbi_config_load_buffer(&cfg, "deep.toml", b.data, b.len, &err),
                     SYMBI_EINVAL);
    assert_string_equal(err.msg, "deep.toml:1: nesting too deep (more than 32 levels)");
    symbi_buf_cleanup(&b);
    assert_int_equal(symbi_config_load_buffer(&cfg, "nul.toml", "a = 1\0", 6, &err), SYMBI_EINVAL);
    assert_string_equal(err.msg, "nul.toml:1: NUL byte in file");
    symbi_config_cleanup(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spec_example, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_section, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_overrides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_file_choice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_name_file_line_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syntax_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_toml_subset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expand, setup, teardown),
        cmocka_unit_test_setup_teardown(test_example_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_buffer_limits, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
