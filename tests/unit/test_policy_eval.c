/* test_policy_eval.c - table-driven tests of the policy decision (SPEC
 * §8.1, src/policy/eval.c) with a fake clock: every condition alone, their
 * combinations and order, the boundary minutes of allowed_hours (also
 * across midnight), approvers, the approval timeout, and the merge of two
 * policies where the stricter value wins (§8.3, src/policy/merge.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "symbi/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2026-03-02T00:00:00Z, a Monday */
#define DAY0 1772409600000LL

struct fake_pin {
    int calls;
    bool ok;
};

static int fake_pin(void *ud, char *reason, size_t size)
{
    struct fake_pin *f = ud;
    f->calls++;
    if (f->ok)
        return 0;
    snprintf(reason, size, "signature does not verify");
    return SYMBI_EDENIED;
}

enum pin_mode { PIN_OK, PIN_FAIL, PIN_NONE };

struct row {
    const char *name;
    const char *policy; /* JSON, NULL: none */
    const char *caps;   /* comma-separated agent capabilities, NULL: unknown agent */
    const char *env;    /* NULL: default */
    bool pin_required;
    bool approved;
    const char *at; /* "HH:MM[:SS.mmm]" on DAY0, or an RFC 3339 instant */
    enum pin_mode pin;
    enum symbi_policy_verdict want;
    const char *reason; /* substring of the reason (DENY) */
    const char *audit;  /* DENY's audit type */
    int pin_calls;
};

#define APPROVAL    "{\"require_approval\":true,\"approvers\":[\"alice\",\"bob\"]}"
#define CAPS        "{\"require_capabilities\":[\"deployment\",\"production_write\"]}"
#define ENVS        "{\"allowed_environments\":[\"staging\",\"production\"]}"
#define HOURS(a, b) "{\"allowed_hours\":{\"start\":\"" a "\",\"end\":\"" b "\"}}"
#define PIN         "{\"require_agent_pin\":true}"
#define GUIDE                                                                                      \
    "{\"require_approval\":true,\"max_runtime\":\"30m\",\"require_capabilities\":[\"deployment\"," \
    "\"production_write\"],\"allowed_hours\":{\"start\":\"00:00\",\"end\":\"04:00\"},"             \
    "\"allowed_environments\":[\"staging\",\"production\"],\"require_agent_pin\":true}"

#define A SYMBI_POLICY_ALLOW
#define D SYMBI_POLICY_DENY
#define R SYMBI_POLICY_REQUIRE_APPROVAL

/* clang-format off */
static const struct row rows[] = {
    /* no policy at all */
    {"none", NULL, "x", NULL, false, false, "12:00", PIN_OK, A, NULL, NULL, 0},
    {"empty object", "{}", NULL, NULL, false, false, "12:00", PIN_OK, A, NULL, NULL, 0},
    {"max_runtime only", "{\"max_runtime\":\"30m\"}", NULL, NULL, false, false, "12:00", PIN_OK, A, NULL, NULL, 0},
    {"approval false", "{\"require_approval\":false}", NULL, NULL, false, false, "12:00", PIN_OK, A, NULL, NULL, 0},
    /* require_approval */
    {"approval", APPROVAL, NULL, NULL, false, false, "12:00", PIN_OK, R, NULL, NULL, 0},
    {"approval, no approvers", "{\"require_approval\":true}", NULL, NULL, false, false, "12:00", PIN_OK, R, NULL, NULL, 0},
    {"approval already given", APPROVAL, NULL, NULL, false, true, "12:00", PIN_OK, A, NULL, NULL, 0},
    /* require_capabilities */
    {"caps all present", CAPS, "deployment,production_write,read", NULL, false, false, "12:00", PIN_OK, A, NULL, NULL, 0},
    {"caps exact", CAPS, "production_write,deployment", NULL, false, false, "12:00", PIN_OK, A, NULL, NULL, 0},
    {"caps one missing", CAPS, "deployment", NULL, false, false, "12:00", PIN_OK, D, "\"production_write\"", "PolicyDenied", 0},
    {"caps first missing", CAPS, "production_write", NULL, false, false, "12:00", PIN_OK, D, "\"deployment\"", "PolicyDenied", 0},
    {"caps agent has none", CAPS, "", NULL, false, false, "12:00", PIN_OK, D, "lacks the required capability", "PolicyDenied", 0},
    {"caps unknown agent", CAPS, NULL, NULL, false, false, "12:00", PIN_OK, D, "lacks", "PolicyDenied", 0},
    {"caps case matters", CAPS, "Deployment,production_write", NULL, false, false, "12:00", PIN_OK, D, "\"deployment\"", "PolicyDenied", 0},
    {"caps empty list", "{\"require_capabilities\":[]}", NULL, NULL, false, false, "12:00", PIN_OK, A, NULL, NULL, 0},
    /* allowed_environments */
    {"env listed", ENVS, NULL, "production", false, false, "12:00", PIN_OK, A, NULL, NULL, 0},
    {"env listed 2", ENVS, NULL, "staging", false, false, "12:00", PIN_OK, A, NULL, NULL, 0},
    {"env not listed", ENVS, NULL, "qa", false, false, "12:00", PIN_OK, D, "environment \"qa\"", "PolicyDenied", 0},
    {"env default development", ENVS, NULL, NULL, false, false, "12:00", PIN_OK, D, "\"development\"", "PolicyDenied", 0},
    {"env development listed", "{\"allowed_environments\":[\"development\"]}", NULL, NULL, false, false, "12:00", PIN_OK, A, NULL, NULL, 0},
    {"env case matters", ENVS, NULL, "Production", false, false, "12:00", PIN_OK, D, "\"Production\"", "PolicyDenied", 0},
    {"env empty list allows none", "{\"allowed_environments\":[]}", NULL, "production", false, false, "12:00", PIN_OK, D, "not in allowed_environments", "PolicyDenied", 0},
    /* allowed_hours, same day [09:00, 17:00) */
    {"day before start", HOURS("09:00", "17:00"), NULL, NULL, false, false, "08:59", PIN_OK, D, "outside allowed_hours 09:00-17:00", "PolicyDenied", 0},
    {"day last ms before", HOURS("09:00", "17:00"), NULL, NULL, false, false, "08:59:59.999", PIN_OK, D, "outside", "PolicyDenied", 0},
    {"day at start", HOURS("09:00", "17:00"), NULL, NULL, false, false, "09:00", PIN_OK, A, NULL, NULL, 0},
    {"day inside", HOURS("09:00", "17:00"), NULL, NULL, false, false, "12:30", PIN_OK, A, NULL, NULL, 0},
    {"day last minute", HOURS("09:00", "17:00"), NULL, NULL, false, false, "16:59", PIN_OK, A, NULL, NULL, 0},
    {"day last ms", HOURS("09:00", "17:00"), NULL, NULL, false, false, "16:59:59.999", PIN_OK, A, NULL, NULL, 0},
    {"day at end", HOURS("09:00", "17:00"), NULL, NULL, false, false, "17:00", PIN_OK, D, "outside", "PolicyDenied", 0},
    {"day midnight", HOURS("09:00", "17:00"), NULL, NULL, false, false, "00:00", PIN_OK, D, "outside", "PolicyDenied", 0},
    /* the guide's [00:00, 04:00) */
    {"guide window 00:00", HOURS("00:00", "04:00"), NULL, NULL, false, false, "00:00", PIN_OK, A, NULL, NULL, 0},
    {"guide window 03:59", HOURS("00:00", "04:00"), NULL, NULL, false, false, "03:59", PIN_OK, A, NULL, NULL, 0},
    {"guide window 04:00", HOURS("00:00", "04:00"), NULL, NULL, false, false, "04:00", PIN_OK, D, "outside", "PolicyDenied", 0},
    {"guide window 23:59", HOURS("00:00", "04:00"), NULL, NULL, false, false, "23:59", PIN_OK, D, "outside", "PolicyDenied", 0},
    /* wrapping midnight [22:00, 02:00) */
    {"wrap 21:59", HOURS("22:00", "02:00"), NULL, NULL, false, false, "21:59", PIN_OK, D, "outside allowed_hours 22:00-02:00", "PolicyDenied", 0},
    {"wrap 22:00", HOURS("22:00", "02:00"), NULL, NULL, false, false, "22:00", PIN_OK, A, NULL, NULL, 0},
    {"wrap 23:59", HOURS("22:00", "02:00"), NULL, NULL, false, false, "23:59:59.999", PIN_OK, A, NULL, NULL, 0},
    {"wrap 00:00", HOURS("22:00", "02:00"), NULL, NULL, false, false, "00:00", PIN_OK, A, NULL, NULL, 0},
    {"wrap 01:59", HOURS("22:00", "02:00"), NULL, NULL, false, false, "01:59", PIN_OK, A, NULL, NULL, 0},
    {"wrap 02:00", HOURS("22:00", "02:00"), NULL, NULL, false, false, "02:00", PIN_OK, D, "outside", "PolicyDenied", 0},
    {"wrap noon", HOURS("22:00", "02:00"), NULL, NULL, false, false, "12:00", PIN_OK, D, "outside", "PolicyDenied", 0},
    /* one-minute windows and whole days */
    {"last minute only, in", HOURS("23:59", "00:00"), NULL, NULL, false, false, "23:59", PIN_OK, A, NULL, NULL, 0},
    {"last minute only, out", HOURS("23:59", "00:00"), NULL, NULL, false, false, "00:00", PIN_OK, D, "outside", "PolicyDenied", 0},
    {"last minute only, 23:58", HOURS("23:59", "00:00"), NULL, NULL, false, false, "23:58", PIN_OK, D, "outside", "PolicyDenied", 0},
    {"first minute only, in", HOURS("00:00", "00:01"), NULL, NULL, false, false, "00:00:59.999", PIN_OK, A, NULL, NULL, 0},
    {"first minute only, out", HOURS("00:00", "00:01"), NULL, NULL, false, false, "00:01", PIN_OK, D, "outside", "PolicyDenied", 0},
    {"start == end is all day", HOURS("05:00", "05:00"), NULL, NULL, false, false, "04:59", PIN_OK, A, NULL, NULL, 0},
    {"00:00-24:00 is all day", HOURS("00:00", "24:00"), NULL, NULL, false, false, "23:59", PIN_OK, A, NULL, NULL, 0},
    {"end 24:00, before", HOURS("20:00", "24:00"), NULL, NULL, false, false, "19:59", PIN_OK, D, "outside", "PolicyDenied", 0},
    {"end 24:00, last minute", HOURS("20:00", "24:00"), NULL, NULL, false, false, "23:59", PIN_OK, A, NULL, NULL, 0},
    {"end 24:00, midnight", HOURS("20:00", "24:00"), NULL, NULL, false, false, "00:00", PIN_OK, D, "outside", "PolicyDenied", 0},
    {"before 1970, in", HOURS("22:00", "02:00"), NULL, NULL, false, false, "1969-12-31T23:30:00Z", PIN_OK, A, NULL, NULL, 0},
    {"before 1970, out", HOURS("22:00", "02:00"), NULL, NULL, false, false, "1969-12-31T21:59:59Z", PIN_OK, D, "outside", "PolicyDenied", 0},
    {"other day, same minute", HOURS("09:00", "17:00"), NULL, NULL, false, false, "2031-07-19T09:00:00Z", PIN_OK, A, NULL, NULL, 0},
    /* require_agent_pin and SYMBI_AGENTPIN_REQUIRED */
    {"pin verifies", PIN, NULL, NULL, false, false, "12:00", PIN_OK, A, NULL, NULL, 1},
    {"pin fails", PIN, NULL, NULL, false, false, "12:00", PIN_FAIL, D, "agentpin: signature does not verify", "AgentPinVerificationFailed", 1},
    {"pin no verifier", PIN, NULL, NULL, false, false, "12:00", PIN_NONE, D, "agentpin:", "AgentPinVerificationFailed", 0},
    {"pin false", "{\"require_agent_pin\":false}", NULL, NULL, false, false, "12:00", PIN_FAIL, A, NULL, NULL, 0},
    {"required globally, no policy", NULL, NULL, NULL, true, false, "12:00", PIN_FAIL, D, "agentpin:", "AgentPinVerificationFailed", 1},
    {"required globally, verifies", NULL, NULL, NULL, true, false, "12:00", PIN_OK, A, NULL, NULL, 1},
    {"required globally over pin false", "{\"require_agent_pin\":false}", NULL, NULL, true, false, "12:00", PIN_FAIL, D, "agentpin:", "AgentPinVerificationFailed", 1},
    /* combinations and their order */
    {"guide policy, all hold", GUIDE, "deployment,production_write", "production", false, false, "01:00", PIN_OK, R, NULL, NULL, 1},
    {"guide policy, approved", GUIDE, "deployment,production_write", "production", false, true, "01:00", PIN_OK, A, NULL, NULL, 1},
    {"guide policy, approved, pin fails", GUIDE, "deployment,production_write", "production", false, true, "01:00", PIN_FAIL, D, "agentpin:", "AgentPinVerificationFailed", 1},
    {"guide policy, pin fails before approval", GUIDE, "deployment,production_write", "staging", false, false, "03:59", PIN_FAIL, D, "agentpin:", "AgentPinVerificationFailed", 1},
    {"guide policy, outside hours", GUIDE, "deployment,production_write", "production", false, false, "04:00", PIN_OK, D, "outside", "PolicyDenied", 0},
    {"guide policy, wrong env", GUIDE, "deployment,production_write", "development", false, false, "01:00", PIN_OK, D, "environment", "PolicyDenied", 0},
    {"guide policy, missing cap", GUIDE, "deployment", "production", false, false, "01:00", PIN_OK, D, "capability", "PolicyDenied", 0},
    {"caps checked before env", GUIDE, "deployment", "qa", false, false, "12:00", PIN_FAIL, D, "capability", "PolicyDenied", 0},
    {"env checked before hours", GUIDE, "deployment,production_write", "qa", false, false, "12:00", PIN_FAIL, D, "environment", "PolicyDenied", 0},
    {"hours checked before pin", GUIDE, "deployment,production_write", "production", false, false, "12:00", PIN_FAIL, D, "outside", "PolicyDenied", 0},
    {"hours deny beats approval", "{\"require_approval\":true,\"allowed_hours\":{\"start\":\"09:00\",\"end\":\"10:00\"}}", NULL, NULL, false, false, "10:00", PIN_OK, D, "outside", "PolicyDenied", 0},
    {"hours and approval, inside", "{\"require_approval\":true,\"allowed_hours\":{\"start\":\"09:00\",\"end\":\"10:00\"}}", NULL, NULL, false, false, "09:59", PIN_OK, R, NULL, NULL, 0},
    {"env and caps hold, approval", "{\"require_approval\":true,\"allowed_environments\":[\"production\"],\"require_capabilities\":[\"x\"]}", "x", "production", false, false, "12:00", PIN_OK, R, NULL, NULL, 0},
    {"global pin plus approval", APPROVAL, NULL, NULL, true, false, "12:00", PIN_OK, R, NULL, NULL, 1},
    {"global pin fails plus approval", APPROVAL, NULL, NULL, true, false, "12:00", PIN_FAIL, D, "agentpin:", "AgentPinVerificationFailed", 1},
};
/* clang-format on */

static int64_t instant(const char *at)
{
    int64_t t;
    if (strlen(at) > 12) {
        assert_int_equal(symbi_time_parse(at, &t), 0);
        return t;
    }
    unsigned h = 0, m = 0, s = 0, ms = 0;
    int n = sscanf(at, "%u:%u:%u.%u", &h, &m, &s, &ms);
    assert_true(n >= 2);
    struct symbi_fake_clock fc;
    symbi_fake_clock_init(&fc, DAY0);
    symbi_fake_clock_advance(&fc, ((int64_t)h * 3600 + m * 60 + s) * 1000 + ms);
    return fc.base.wall_ms(&fc.base);
}

static void run_row(const struct row *r)
{
    struct symbi_policy p;
    struct symbi_err err = {0};
    if (symbi_policy_parse(r->policy, &p, NULL, &err) != 0)
        fail_msg("%s: policy does not parse: %s", r->name, err.msg);
    char capbuf[256] = "";
    const char *caps[16];
    size_t n = 0;
    if (r->caps != NULL && r->caps[0] != '\0') {
        snprintf(capbuf, sizeof capbuf, "%s", r->caps);
        for (char *s = capbuf, *c; s != NULL && n < 16; s = c) {
            c = strchr(s, ',');
            if (c != NULL)
                *c++ = '\0';
            caps[n++] = s;
        }
    }
    struct fake_pin fp = {0, r->pin == PIN_OK};
    struct symbi_policy_input in = {&p,
                                    caps,
                                    n,
                                    r->env,
                                    r->pin_required,
                                    r->approved,
                                    instant(r->at),
                                    r->pin == PIN_NONE ? NULL : fake_pin,
                                    &fp};
    struct symbi_policy_decision d;
    assert_int_equal(symbi_policy_evaluate(&in, &d), 0);
    if ((int)d.verdict != (int)r->want)
        fail_msg("%s: verdict %d, want %d (%s)", r->name, d.verdict, r->want, d.reason);
    if (fp.calls != r->pin_calls)
        fail_msg("%s: pin checked %d times, want %d", r->name, fp.calls, r->pin_calls);
    if (r->want == SYMBI_POLICY_DENY) {
        if (strstr(d.reason, r->reason) == NULL)
            fail_msg("%s: reason \"%s\" lacks \"%s\"", r->name, d.reason, r->reason);
        assert_non_null(d.audit_type);
        assert_string_equal(d.audit_type, r->audit);
    }
    if (r->want == SYMBI_POLICY_REQUIRE_APPROVAL)
        assert_ptr_equal(d.approvers, &p.approvers);
    symbi_policy_cleanup(&p);
}

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(rows); i++)
        run_row(&rows[i]);
}

/* Every minute of the day against a wrapping window, checked against a
 * plain definition. */
static void test_every_minute(void **state)
{
    (void)state;
    static const int windows[][2] = {{22 * 60, 2 * 60}, {0, 240}, {9 * 60, 17 * 60},
                                     {1439, 0},         {0, 1},   {600, 600}};
    for (size_t w = 0; w < SYMBI_ARRAY_LEN(windows); w++) {
        struct symbi_policy p;
        symbi_policy_init(&p);
        p.set = p.has_hours = true;
        p.hours_start_min = windows[w][0];
        p.hours_end_min = windows[w][1];
        for (int m = 0; m < 1440; m++) {
            int s = windows[w][0], e = windows[w][1];
            bool want = s == e ? true : s < e ? (m >= s && m < e) : (m >= s || m < e);
            for (int sec = 0; sec < 60; sec += 59)
                assert_int_equal(symbi_policy_hours_allow(&p, DAY0 + m * 60000LL + sec * 1000LL),
                                 want);
        }
    }
}

static void test_approvers(void **state)
{
    (void)state;
    struct symbi_policy p;
    assert_int_equal(symbi_policy_parse(APPROVAL, &p, NULL, NULL), 0);
    assert_true(symbi_policy_may_approve(&p, "alice"));
    assert_true(symbi_policy_may_approve(&p, "bob"));
    assert_false(symbi_policy_may_approve(&p, "mallory"));
    assert_false(symbi_policy_may_approve(&p, "Alice"));
    assert_false(symbi_policy_may_approve(&p, NULL));
    symbi_policy_cleanup(&p);
    assert_int_equal(symbi_policy_parse("{\"require_approval\":true}", &p, NULL, NULL), 0);
    assert_true(symbi_policy_may_approve(&p, "anyone"));
    symbi_policy_cleanup(&p);
}

static void test_approval_timeout(void **state)
{
    (void)state;
    struct symbi_policy p;
    symbi_policy_init(&p);
    int64_t since = DAY0;
    /* default 1 h, boundary at exactly since + 1 h */
    assert_false(symbi_policy_approval_expired(&p, 0, since, since + 3600000 - 1));
    assert_true(symbi_policy_approval_expired(&p, 0, since, since + 3600000));
    /* the configured default */
    assert_false(symbi_policy_approval_expired(&p, 60000, since, since + 59999));
    assert_true(symbi_policy_approval_expired(&p, 60000, since, since + 60000));
    /* the policy's own wins */
    assert_int_equal(symbi_policy_parse("{\"approval_timeout\":\"10s\"}", &p, NULL, NULL), 0);
    assert_int_equal(symbi_policy_approval_timeout(&p, 60000), 10000);
    assert_true(symbi_policy_approval_expired(&p, 60000, since, since + 10000));
    assert_false(symbi_policy_approval_expired(&p, 60000, SYMBI_TIME_NONE, since));
    assert_false(symbi_policy_approval_expired(&p, 60000, INT64_MAX - 5, INT64_MAX));
    symbi_policy_cleanup(&p);
}

struct merge_row {
    const char *a, *b, *want; /* want NULL: error containing `error` */
    const char *error;
};

static void test_merge(void **state)
{
    (void)state;
    static const struct merge_row m[] = {
        {NULL, NULL, NULL, NULL},
        {"{\"require_approval\":true}", NULL, "{\"require_approval\":true}", NULL},
        {NULL, "{\"require_agent_pin\":true}", "{\"require_agent_pin\":true}", NULL},
        {"{\"require_approval\":false}", "{\"require_approval\":true}",
         "{\"require_approval\":true}", NULL},
        {"{\"require_agent_pin\":true}", "{\"require_agent_pin\":false}",
         "{\"require_agent_pin\":true}", NULL},
        {"{\"max_runtime\":\"30m\"}", "{\"max_runtime\":600}", "{\"max_runtime\":600}", NULL},
        {"{\"max_runtime\":\"5m\"}", "{\"max_runtime\":\"1h\"}", "{\"max_runtime\":\"5m\"}", NULL},
        {"{\"approval_timeout\":\"2h\"}", "{\"approval_timeout\":\"1h\"}",
         "{\"approval_timeout\":\"1h\"}", NULL},
        {"{\"require_capabilities\":[\"a\",\"b\"]}", "{\"require_capabilities\":[\"b\",\"c\"]}",
         "{\"require_capabilities\":[\"a\",\"b\",\"c\"]}", NULL},
        {"{\"allowed_environments\":[\"staging\",\"production\"]}",
         "{\"allowed_environments\":[\"production\"]}",
         "{\"allowed_environments\":[\"production\"]}", NULL},
        {"{\"allowed_environments\":[\"staging\"]}", "{\"allowed_environments\":[\"production\"]}",
         NULL, "share no environment"},
        {"{\"approvers\":[\"alice\",\"bob\"]}", "{\"approvers\":[\"bob\",\"carol\"]}",
         "{\"approvers\":[\"bob\"]}", NULL},
        {"{\"approvers\":[]}", "{\"approvers\":[\"carol\"]}", "{\"approvers\":[\"carol\"]}", NULL},
        {"{\"approvers\":[\"alice\"]}", "{\"approvers\":[\"carol\"]}", NULL, "share no approver"},
        {HOURS("00:00", "04:00"), HOURS("02:00", "06:00"), HOURS("02:00", "04:00"), NULL},
        {HOURS("22:00", "02:00"), HOURS("23:00", "03:00"), HOURS("23:00", "02:00"), NULL},
        {HOURS("22:00", "02:00"), HOURS("00:00", "24:00"), HOURS("22:00", "02:00"), NULL},
        {HOURS("09:00", "10:00"), HOURS("11:00", "12:00"), NULL, "share no minute"},
        {HOURS("20:00", "04:00"), HOURS("02:00", "22:00"), NULL, "more than one piece"},
        {"{\"policy_ids\":[\"x\"]}", "{\"policy_ids\":[\"y\"],\"require_approval\":true}",
         "{\"policy_ids\":[\"x\",\"y\"],\"require_approval\":true}", NULL},
        {"{\"bogus\":1}", "{}", NULL, "unknown key"},
    };
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(m); i++) {
        char *out = NULL;
        struct symbi_err err = {0};
        int rc = symbi_policy_merge(m[i].a, m[i].b, &out, &err);
        if (m[i].error != NULL) {
            if (rc == 0 || strstr(err.msg, m[i].error) == NULL)
                fail_msg("merge %zu: rc %d msg \"%s\", want \"%s\"", i, rc, err.msg, m[i].error);
            assert_null(out);
            continue;
        }
        if (rc != 0)
            fail_msg("merge %zu: %s", i, err.msg);
        if (m[i].want == NULL) {
            assert_null(out);
            continue;
        }
        assert_non_null(out);
        if (strcmp(out, m[i].want) != 0)
            fail_msg("merge %zu: %s, want %s", i, out, m[i].want);
        free(out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),     cmocka_unit_test(test_every_minute),
        cmocka_unit_test(test_approvers), cmocka_unit_test(test_approval_timeout),
        cmocka_unit_test(test_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
