/* test_torture.c - allocation-failure torture, as curl's torture tests: every
 * allocation of a parse (DSL, TOML, cron, a JSON job body) and of a claim on
 * a SQLite file fails in turn, the nth returning NULL for n = 1.. until the
 * operation completes without an injected failure; no crash, no leak (the
 * ASan pass's LeakSanitizer), and a failed operation says so.
 * How: this binary alone is linked with -Wl,--wrap=malloc,calloc,realloc
 * (mk/analysers.mk), which reroutes symbi's own allocations (libsymbi.a);
 * jansson's and SQLite's go through the same counter via
 * json_set_alloc_funcs and SQLITE_CONFIG_MALLOC. Production code is as is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "support/store_fixture.h"
#include "symbi/config.h"
#include "symbi/cron.h"
#include "symbi/dsl.h"
#include "symbi/json.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the failing allocator ---- */

static long fail_at;  /* 0: no injection; n: the nth counted allocation fails */
static long n_allocs; /* allocations counted since arm() */
static bool injected; /* the nth allocation happened (and failed) */

static void arm(long n)
{
    fail_at = n;
    n_allocs = 0;
    injected = false;
}

static long last_nth; /* the n of the last armed run, for messages */

static void disarm(void)
{
    if (fail_at != 0)
        last_nth = fail_at;
    fail_at = 0;
}

static bool fail_now(void)
{
    if (fail_at == 0)
        return false;
    if (++n_allocs != fail_at)
        return false;
    injected = true;
    return true;
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);

void *__wrap_malloc(size_t n)
{
    return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n)
{
    return fail_now() ? NULL : __real_calloc(k, n);
}

void *__wrap_realloc(void *p, size_t n)
{
    return fail_now() ? NULL : __real_realloc(p, n);
}

static void *json_alloc(size_t n)
{
    return fail_now() ? NULL : __real_malloc(n);
}

static sqlite3_mem_methods sq_default;

static void *sq_malloc(int n)
{
    return fail_now() ? NULL : sq_default.xMalloc(n);
}

static void *sq_realloc(void *p, int n)
{
    return fail_now() ? NULL : sq_default.xRealloc(p, n);
}

/* Before SQLite initialises: its allocations through the counter, without
 * the per-connection lookaside arena (which would hide most of them). */
static void install_allocators(void)
{
    json_set_alloc_funcs(json_alloc, free);
    if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &sq_default) != SQLITE_OK)
        abort();
    sqlite3_mem_methods m = sq_default;
    m.xMalloc = sq_malloc;
    m.xRealloc = sq_realloc;
    if (sqlite3_config(SQLITE_CONFIG_MALLOC, &m) != SQLITE_OK ||
        sqlite3_config(SQLITE_CONFIG_LOOKASIDE, 0, 0) != SQLITE_OK)
        abort();
}

/* Runs op(ud) with allocation n failing, for n = 1.. until a run with no
 * injected failure; op returns 0 or a code and checks its own results.
 * Returns the number of allocations of the clean run. */
typedef int (*torture_op)(void *ud, bool armed);

static long torture(const char *what, torture_op op, void *ud, long max)
{
    for (long n = 1; n <= max; n++) {
        arm(n);
        int rc = op(ud, true);
        disarm();
        if (!injected) {
            if (rc != 0)
                fail_msg("%s: failed (%d) without an injected failure", what, rc);
            return n - 1;
        }
    }
    fail_msg("%s: more than %ld allocations", what, max);
    return -1;
}

/* ---- the parses ---- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[65536];
    *len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[*len] = '\0';
    return buf;
}

struct dsl_case {
    const char *text;
    size_t len;
    size_t n_jobs, n_agents; /* of the clean parse */
};

static int dsl_op(void *ud, bool armed)
{
    struct dsl_case *c = ud;
    struct symbi_dsl_file f;
    int rc = symbi_dsl_parse_buffer("t.symbi", c->text, c->len, &f);
    disarm();
    if (armed && injected) {
        /* a failed allocation fails the parse, or was not needed for the
         * result. Not required: SYMBI_ENOMEM itself: a JSON-valued field
         * whose json_loads ran out of memory is reported as a bad value, as
         * jansson does not always say why it failed (docs/testing.md) */
        if (rc != SYMBI_ENOMEM && rc != SYMBI_EPARSE &&
            !(rc == 0 && f.n_jobs == c->n_jobs && f.n_agents == c->n_agents))
            fail_msg("DSL parse, allocation %ld failed: rc %d, %zu jobs, %s", last_nth, rc,
                     f.n_jobs, f.n_diags > 0 && f.diags[0].message ? f.diags[0].message : "");
    } else {
        assert_int_equal(rc, 0);
        assert_int_equal(f.n_jobs, c->n_jobs);
        assert_int_equal(f.n_agents, c->n_agents);
    }
    symbi_dsl_file_cleanup(&f);
    return rc;
}

static void test_dsl_parse(void **state)
{
    (void)state;
    static const char *const files[] = {"examples/agents/reporting.symbi",
                                        "examples/agents/policies.symbi",
                                        "examples/agents/notify.symbi"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        struct dsl_case c;
        c.text = slurp(files[i], &c.len);
        struct symbi_dsl_file f;
        assert_int_equal(symbi_dsl_parse_buffer("t.symbi", c.text, c.len, &f), 0);
        c.n_jobs = f.n_jobs;
        c.n_agents = f.n_agents;
        symbi_dsl_file_cleanup(&f);
        long n = torture(files[i], dsl_op, &c, 100000);
        print_message("%s: %ld allocations, each failed in turn\n", files[i], n);
        assert_true(n > 10);
    }
}

static int config_op(void *ud, bool armed)
{
    struct dsl_case *c = ud;
    struct symbi_config cfg;
    symbi_config_init(&cfg);
    struct symbi_err err = {0};
    int rc = symbi_config_load_buffer(&cfg, "t.toml", c->text, c->len, &err);
    disarm();
    if (armed && injected && rc != 0) {
        if (rc != SYMBI_ENOMEM || err.msg[0] == '\0')
            fail_msg("config, allocation %ld failed: rc %d: %s", last_nth, rc, err.msg);
    } else if (rc == 0) {
        assert_string_equal(cfg.slack_default_channel, "#ops");
    }
    symbi_config_cleanup(&cfg);
    return rc;
}

static void test_config_parse(void **state)
{
    (void)state;
    struct dsl_case c;
    c.text = slurp("examples/symbi.toml", &c.len);
    long n = torture("symbi.toml", config_op, &c, 100000);
    print_message("examples/symbi.toml: %ld allocations, each failed in turn\n", n);
    assert_true(n > 10);
}

static int cron_op(void *ud, bool armed)
{
    const char *expr = ud;
    struct symbi_cron *c = NULL;
    struct symbi_err err = {0};
    int rc = symbi_cron_parse(expr, &c, &err);
    int64_t next = 0;
    if (rc == 0) {
        const struct symbi_zone *z = NULL;
        rc = symbi_zone_get("Europe/Berlin", &z, &err);
        if (rc == 0)
            rc = symbi_cron_next(c, z, 1774000000000LL, NULL, &next);
    }
    disarm();
    if (armed && injected && rc != 0) {
        if (rc != SYMBI_ENOMEM)
            fail_msg("cron %s, allocation %ld failed: rc %d: %s", expr, last_nth, rc, err.msg);
    } else {
        assert_int_equal(rc, 0);
        assert_true(next > 1774000000000LL);
    }
    symbi_cron_free(c);
    return rc;
}

static void test_cron_parse(void **state)
{
    (void)state;
    static const char *const exprs[] = {"*/5 9-17 * * MON-FRI", "0 30 2 L * *", "@every 90s",
                                        "0 0 1W,15 JAN-JUN *", "0 12 * * 5#3,FRIL"};
    for (size_t i = 0; i < sizeof exprs / sizeof exprs[0]; i++)
        torture(exprs[i], cron_op, (void *)exprs[i], 10000);
}

static const char job_body[] =
    "{\"name\":\"nightly\",\"agent\":\"reporter\",\"cron\":\"0 2 * * *\","
    "\"timezone\":\"Europe/Berlin\",\"input\":\"summarise\",\"delivery\":[\"stdout\",\"webhook\"],"
    "\"webhook_url\":\"https://example.com/h\",\"webhook_headers\":{\"X-A\":\"b\"},"
    "\"max_retries\":2,\"jitter\":\"30s\",\"catch_up\":\"once\"}";

static int body_op(void *ud, bool armed)
{
    json_t **ref = ud; /* the clean decode, as JSON */
    /* jansson 2.14's lexer drops a byte of a string when its buffer cannot
     * grow (lex_save ignores strbuffer_append_byte's result): what it hands
     * on is not checked against the reference, only crash- and leak-free */
    json_error_t je;
    json_t *o = json_loadb(job_body, sizeof job_body - 1, JSON_REJECT_DUPLICATES, &je);
    if (armed && injected) {
        disarm();
        json_decref(o);
        return o == NULL ? SYMBI_ENOMEM : 0;
    }
    struct symbi_job job;
    symbi_job_init(&job);
    struct symbi_err err = {0};
    const char *bad = NULL;
    int rc = o == NULL ? SYMBI_ENOMEM : symbi_job_apply_json(&job, o, &bad, &err);
    if (rc == 0)
        rc = symbi_job_validate(&job, &err);
    json_t *back = rc == 0 ? symbi_job_to_json(&job, true) : NULL;
    if (rc == 0 && back == NULL)
        rc = SYMBI_ENOMEM;
    disarm();
    /* SYMBI_EINVAL: as for the DSL, a JSON-valued field's json_loads out of
     * memory reads as a bad value */
    if (armed && injected && rc != 0 && rc != SYMBI_ENOMEM && rc != SYMBI_EINVAL)
        fail_msg("job body, allocation %ld failed: rc %d: %s", last_nth, rc, err.msg);
    if (!(armed && injected)) {
        assert_int_equal(rc, 0);
        assert_string_equal(json_string_value(json_object_get(back, "name")), "nightly");
        if (*ref == NULL)
            *ref = json_incref(back);
    } else if (rc == 0) {
        /* the decoded job is whole even though an allocation failed */
        const char *k;
        json_t *v;
        json_object_foreach(*ref, k, v)
            /* the description is derived text, empty when it cannot be made */
            if (strcmp(k, "description") != 0 && !json_equal(v, json_object_get(back, k)))
                fail_msg("job body, allocation %ld failed: \"%s\" lost (%s)", last_nth, k,
                         json_dumps(json_object_get(back, k), JSON_ENCODE_ANY));
    }
    json_decref(back);
    symbi_job_cleanup(&job);
    json_decref(o);
    return rc;
}

static void test_json_body(void **state)
{
    (void)state;
    json_t *ref = NULL;
    assert_int_equal(body_op(&ref, false), 0);
    long n = torture("job body", body_op, &ref, 100000);
    json_decref(ref);
    print_message("job body: %ld allocations, each failed in turn\n", n);
    assert_true(n > 10);
}

/* ---- the claim ---- */

static int plan_one(void *ud, const struct symbi_job *job, int64_t now,
                    struct symbi_fire_plan *plan)
{
    (void)ud;
    struct symbi_run *r = &plan->runs[plan->n_runs++];
    r->scheduled_at = job->next_run;
    r->due_at = job->next_run;
    r->trigger = SYMBI_TRIGGER_SCHEDULE;
    r->status = SYMBI_RUN_QUEUED;
    r->attempt = 1;
    return symbi_cron_job_next(job, now, &plan->next_run, NULL);
}

#define T0     1774000000000LL
#define N_JOBS 4

struct claim_case {
    char dir[64];
    char template_db[128], db[128];
};

static void copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    assert_non_null(a);
    assert_non_null(b);
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0)
        assert_int_equal(fwrite(buf, 1, n, b), n);
    fclose(a);
    assert_int_equal(fclose(b), 0);
}

/* A claim of N_JOBS due jobs on a fresh copy of the store: all or nothing,
 * and a claim after a failed one takes every fire exactly once. */
static int claim_op(void *ud, bool armed)
{
    struct claim_case *c = ud;
    long nth = fail_at; /* the claim alone is tortured, not the copy and the open */
    disarm();
    copy_file(c->template_db, c->db);
    struct symbi_store *st;
    struct symbi_err err = {0};
    assert_int_equal(symbi_store_open(c->db, &st, &err), 0);
    struct symbi_run *runs = NULL;
    size_t n = 0;
    if (armed)
        arm(nth);
    int rc = symbi_store_claim_due(st, T0 + 3600000, 0, "n1", plan_one, NULL, &runs, &n, &err);
    bool failed = armed && injected;
    disarm();
    size_t taken = rc == 0 ? n : 0;
    if (rc != 0) {
        assert_true(failed);
        assert_true(err.msg[0] != '\0');
        assert_null(runs);
    }
    for (size_t i = 0; i < n; i++)
        symbi_run_cleanup(&runs[i]);
    free(runs);
    /* nothing lost, nothing twice: a clean claim takes what is left */
    runs = NULL;
    n = 0;
    assert_int_equal(
        symbi_store_claim_due(st, T0 + 3600000, 0, "n1", plan_one, NULL, &runs, &n, &err), 0);
    if (taken + n != N_JOBS)
        fail_msg("claim, allocation %ld failed: rc %d (%s), %zu + %zu fires taken", last_nth, rc,
                 err.msg, taken, n);
    for (size_t i = 0; i < n; i++)
        symbi_run_cleanup(&runs[i]);
    free(runs);
    symbi_store_close(st);
    unlink(c->db);
    injected = failed; /* for torture(): this run had its failure */
    return rc;
}

static void test_claim(void **state)
{
    (void)state;
    struct claim_case c;
    /* hundreds of claims, each committing: in memory where there is a tmpfs */
    snprintf(c.dir, sizeof c.dir, "%s/symbi-test-torture-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    assert_non_null(mkdtemp(c.dir));
    snprintf(c.template_db, sizeof c.template_db, "%s/template.db", c.dir);
    snprintf(c.db, sizeof c.db, "%s/symbi.db", c.dir);
    struct symbi_store *st;
    struct symbi_err err = {0};
    assert_int_equal(symbi_store_open(c.template_db, &st, &err), 0);
    for (int i = 0; i < N_JOBS; i++) {
        struct symbi_job j;
        char name[16];
        snprintf(name, sizeof name, "job-%d", i);
        fixture_cron_job(&j, name, "*/10 * * * *");
        assert_int_equal(symbi_set_str(&j.input, "x"), 0);
        assert_int_equal(symbi_store_job_create(st, &j, T0, "test", &err), 0);
        symbi_job_cleanup(&j);
    }
    symbi_store_close(st);
    long n = torture("claim", claim_op, &c, 100000);
    print_message("claim of %d jobs: %ld allocations, each failed in turn\n", N_JOBS, n);
    assert_true(n > 10);
    fixture_rmtree(c.dir);
}

int main(void)
{
    install_allocators();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dsl_parse),  cmocka_unit_test(test_config_parse),
        cmocka_unit_test(test_cron_parse), cmocka_unit_test(test_json_body),
        cmocka_unit_test(test_claim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
