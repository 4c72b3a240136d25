/* test_dsl_policies.c - named policies in .symbi files (SPEC §8.3,
 * src/dsl/policies.c): `policy NAME { ... }` applied by `policy: "NAME"`,
 * both forms together (stricter wins), undefined names kept as policy ids
 * with a warning, rule-syntax blocks skipped, and the errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "symbi/dsl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void parse(const char *text, struct symbi_dsl_file *f)
{
    symbi_dsl_parse_buffer("t.symbi", text, strlen(text), f);
}

static size_t warnings(const struct symbi_dsl_file *f, const char *needle)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_diags; i++)
        if (f->diags[i].severity == SYMBI_DSL_WARNING && strstr(f->diags[i].message, needle))
            n++;
    return n;
}

static const char *policy_of(const struct symbi_dsl_file *f, const char *job)
{
    const struct symbi_job *j = symbi_dsl_find_job(f, job);
    assert_non_null(j);
    return j->policy;
}

static void test_upstream_form(void **state)
{
    (void)state;
    struct symbi_dsl_file f;
    parse("policy hipaa_guard {\n"
          "  allow: read(patient_data) if user.role == \"doctor\"\n"
          "  deny: export(patient_data)\n"
          "}\n"
          "schedule morning_report {\n"
          "  cron: \"0 9 * * *\", agent: \"reporter-agent\"\n"
          "  policy: \"hipaa_guard\"\n"
          "}\n",
          &f);
    assert_int_equal(f.n_errors, 0);
    assert_int_equal(f.n_jobs, 1);
    assert_int_equal(warnings(&f, "policy \"hipaa_guard\" is not defined"), 1);
    assert_int_equal(f.diags[0].line, 7);
    assert_string_equal(policy_of(&f, "morning_report"), "{\"policy_ids\":[\"hipaa_guard\"]}");
    symbi_dsl_file_cleanup(&f);
}

static void test_named_applies_to_every_schedule(void **state)
{
    (void)state;
    struct symbi_dsl_file f;
    parse("schedule a { cron: \"@daily\", agent: \"x\", policy: \"gate\" }\n"
          "policy gate {\n"
          "  require_approval: true\n"
          "  approvers: [\"alice\"]\n"
          "  allowed_hours: { start: \"22:00\", end: \"02:00\" }\n"
          "}\n"
          "schedule b { cron: \"@hourly\", agent: \"y\", policy: gate }\n"
          "schedule c { cron: \"@hourly\", agent: \"y\" }\n",
          &f);
    assert_int_equal(f.n_errors, 0);
    assert_int_equal(f.n_diags, 0);
    const char *want = "{\"require_approval\":true,\"approvers\":[\"alice\"],"
                       "\"allowed_hours\":{\"start\":\"22:00\",\"end\":\"02:00\"}}";
    assert_string_equal(policy_of(&f, "a"), want);
    assert_string_equal(policy_of(&f, "b"), want);
    assert_null(policy_of(&f, "c"));
    symbi_dsl_file_cleanup(&f);
}

static void test_both_forms_stricter_wins(void **state)
{
    (void)state;
    struct symbi_dsl_file f;
    parse("policy prod {\n"
          "  approvers: [\"alice\", \"bob\"]\n"
          "  allowed_environments: [\"staging\", \"production\"]\n"
          "  max_runtime: \"30m\"\n"
          "}\n"
          "schedule deploy {\n"
          "  cron: \"0 2 * * *\", agent: \"deployer\"\n"
          "  policy: \"prod\"\n"
          "  policy { approvers: [\"bob\", \"carol\"], max_runtime: \"10m\", require_approval: "
          "true,\n"
          "           allowed_environments: [\"production\"] }\n"
          "}\n"
          "schedule other {\n"
          "  cron: \"0 2 * * *\", agent: \"deployer\"\n"
          "  policy: \"nowhere\"\n"
          "  policy: { require_agent_pin: true }\n"
          "}\n",
          &f);
    assert_int_equal(f.n_errors, 0);
    assert_string_equal(policy_of(&f, "deploy"),
                        "{\"approvers\":[\"bob\"],\"allowed_environments\":[\"production\"],"
                        "\"max_runtime\":\"10m\",\"require_approval\":true}");
    assert_string_equal(policy_of(&f, "other"),
                        "{\"policy_ids\":[\"nowhere\"],\"require_agent_pin\":true}");
    assert_int_equal(warnings(&f, "\"nowhere\""), 1);
    symbi_dsl_file_cleanup(&f);
}

struct bad {
    const char *text;
    int line;
    const char *msg;
};

static void test_errors(void **state)
{
    (void)state;
    static const struct bad bad[] = {
        {"policy p { require_approval: \"yes\" }\n"
         "schedule s { cron: \"@daily\", agent: \"a\", policy: \"p\" }\n",
         1, "policy.require_approval: expected true or false"},
        {"policy p { require_approval: true }\npolicy p { max_runtime: \"1m\" }\n", 2,
         "duplicate policy name `p`"},
        {"policy p { allowed_environments: [\"staging\"] }\n"
         "schedule s { cron: \"@daily\", agent: \"a\", policy: \"p\",\n"
         "  policy { allowed_environments: [\"production\"] } }\n",
         2, "share no environment"},
        {"schedule s { cron: \"@daily\", agent: \"a\", policy: \"p\", policy: \"q\" }\n", 1,
         "duplicate key"},
        {"policy p { require_approval: true, require_approval: false }\n", 1, "duplicate key"},
        {"policy p { allowed_hours: { start: \"25:00\", end: \"01:00\" } }\n", 1,
         "policy.allowed_hours"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct symbi_dsl_file f;
        parse(bad[i].text, &f);
        bool found = false;
        for (size_t d = 0; d < f.n_diags; d++)
            if (f.diags[d].severity == SYMBI_DSL_ERROR && f.diags[d].line == bad[i].line &&
                strstr(f.diags[d].message, bad[i].msg) != NULL)
                found = true;
        if (!found)
            fail_msg("case %zu: no error \"%s\" at line %d (%zu diags, first: %s)", i, bad[i].msg,
                     bad[i].line, f.n_diags, f.n_diags ? f.diags[0].message : "-");
        symbi_dsl_file_cleanup(&f);
    }
}

static void test_rule_syntax_skipped(void **state)
{
    (void)state;
    struct symbi_dsl_file f;
    /* a policy block with any non-§8.1 key is upstream syntax: skipped, not an error */
    parse("policy mixed { require_approval: true\n allow: everything }\n"
          "policy cond { require_approval: true if weekend }\n"
          "policy { require_approval: true }\n"
          "schedule s { cron: \"@daily\", agent: \"a\", policy: \"mixed\" }\n",
          &f);
    assert_int_equal(f.n_errors, 0);
    assert_int_equal(warnings(&f, "\"mixed\" is not defined"), 1);
    symbi_dsl_file_cleanup(&f);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Files loaded together (symbi up's directory, dsl check FILE...) share
 * their named policies; a file's own definition comes first. */
static void test_across_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/symbi-dslpol-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char a[64], b[64], c[64];
    snprintf(a, sizeof a, "%s/a.symbi", dir);
    snprintf(b, sizeof b, "%s/b.symbi", dir);
    snprintf(c, sizeof c, "%s/c.symbi", dir);
    write_file(a, "policy gate { require_approval: true }\npolicy hours { allowed_hours: { start: "
                  "\"01:00\", end: \"02:00\" } }\n");
    write_file(b, "schedule { name: \"s\" agent: \"x\" cron: \"@daily\" policy: \"gate\" }\n"
                  "schedule { name: \"t\" agent: \"x\" cron: \"@daily\" policy: \"nowhere\" }\n");
    write_file(c, "policy gate { require_agent_pin: true }\n"
                  "schedule { name: \"u\" agent: \"x\" cron: \"@daily\" policy: \"gate\" }\n");
    const char *paths[] = {a, b, c};
    struct symbi_dsl_file f[3];
    int rcs[3];
    assert_int_equal(symbi_dsl_parse_files(paths, 3, f, rcs), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(rcs[i], 0);
    assert_int_equal(f[0].n_policies, 2);
    assert_string_equal(policy_of(&f[1], "s"), "{\"require_approval\":true}");
    assert_string_equal(policy_of(&f[1], "t"), "{\"policy_ids\":[\"nowhere\"]}");
    assert_int_equal(warnings(&f[1], "\"gate\""), 0);
    assert_int_equal(warnings(&f[1], "\"nowhere\""), 1);
    assert_string_equal(policy_of(&f[2], "u"), "{\"require_agent_pin\":true}"); /* its own */
    for (int i = 0; i < 3; i++)
        symbi_dsl_file_cleanup(&f[i]);
    /* alone, b cannot see a's policies */
    struct symbi_dsl_file one;
    assert_int_equal(symbi_dsl_parse_file(b, &one), 0);
    assert_int_equal(warnings(&one, "\"gate\""), 1);
    symbi_dsl_file_cleanup(&one);
    unlink(a);
    unlink(b);
    unlink(c);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upstream_form),
        cmocka_unit_test(test_named_applies_to_every_schedule),
        cmocka_unit_test(test_both_forms_stricter_wins),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_rule_syntax_skipped),
        cmocka_unit_test(test_across_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
