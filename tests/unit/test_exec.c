/* test_exec.c - unit tests of the executor (src/exec): session contexts by
 * mode and their bound with the archive, heartbeats (sleep, the iteration
 * limit, max_runtime over the beat), the gate and delivery hooks, and bad
 * input (a corrupt stored context, an unwritable context directory, a huge
 * SUMMARY line). Real store in a temporary directory, real processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "support/store_fixture.h"
#include "symbi/exec.h"
#include "symbi/sched.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fx {
    struct store_fixture *store;
    struct symbi_exec_config cfg;
    struct symbi_job job;
    struct symbi_agent_def agent;
    int gate_calls, deliver_calls;
    enum symbi_gate_verdict verdict;
    int deliver_attempted, deliver_ok;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->store = store_fixture_new();
    symbi_exec_config_init(&f->cfg);
    f->cfg.data_dir = f->store->dir;
    symbi_job_init(&f->job);
    symbi_agent_def_init(&f->agent);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    symbi_job_cleanup(&f->job);
    symbi_agent_def_cleanup(&f->agent);
    store_fixture_free(f->store);
    free(f);
    return 0;
}

/* a stored job in `mode` running a command agent */
static void make_job(struct fx *f, enum symbi_session_mode mode, const char *command)
{
    struct symbi_err err = {0};
    fixture_cron_job(&f->job, "j", "0 0 1 1 *");
    f->job.session_mode = mode;
    if (symbi_store_job_create(f->store->st, &f->job, symbi_now_wall_ms(), "test", &err) != 0)
        fail_msg("create: %s", err.msg);
    symbi_agent_def_cleanup(&f->agent);
    f->agent.name = strdup("agent-1");
    f->agent.runner = SYMBI_RUNNER_COMMAND;
    f->agent.command = strdup(command);
}

/* one run through the pipeline and the post-run record; *out holds it */
static void run_once(struct fx *f, const char *input, struct symbi_run *out)
{
    struct symbi_run run;
    symbi_run_init(&run);
    memcpy(run.job_id, f->job.id, sizeof run.job_id);
    run.trigger = SYMBI_TRIGGER_MANUAL;
    run.status = SYMBI_RUN_RUNNING;
    run.attempt = 1;
    run.job_name = strdup(f->job.name);
    run.agent = strdup("agent-1");
    run.input = input ? strdup(input) : NULL;
    struct symbi_err err = {0};
    static int64_t seq;
    run.scheduled_at = run.due_at = run.created_at = symbi_now_wall_ms() + seq++;
    assert_int_equal(symbi_store_run_insert(f->store->st, &run, &err), 0);
    run.started_at = symbi_now_wall_ms();
    struct symbi_exec_request xr = {.st = f->store->st, .job = &f->job, .agent = &f->agent};
    assert_int_equal(symbi_exec_run(&f->cfg, &xr, &run, out, &err), 0);
    symbi_exec_take_outcome(&run, out);
    struct symbi_sched_policy pol;
    symbi_sched_policy_init(&pol);
    struct symbi_exec_recorded rec;
    assert_int_equal(symbi_exec_record(f->store->st, &pol, &run, symbi_now_wall_ms(), &rec, &err),
                     0);
    symbi_run_cleanup(out);
    *out = run;
}

/* the context the agent saw: the first line of its output */
static json_t *seen(const struct symbi_run *r)
{
    assert_non_null(r->output);
    json_error_t je;
    json_t *o = json_loadb(r->output, strcspn(r->output, "\n"), 0, &je);
    if (o == NULL)
        fail_msg("not JSON: %s (%s)", r->output, je.text);
    return o;
}

#define ECHO_CTX "cat \"$SYMBI_CONTEXT_FILE\"; echo; echo \"SUMMARY: sum-$(cat)\""

static void test_shared_persistent_carries_history(void **state)
{
    struct fx *f = *state;
    make_job(f, SYMBI_SESSION_SHARED_PERSISTENT, ECHO_CTX);
    struct symbi_run r;
    const char *in[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        run_once(f, in[i], &r);
        assert_int_equal(r.status, SYMBI_RUN_SUCCEEDED);
        json_t *o = seen(&r);
        assert_string_equal(json_string_value(json_object_get(o, "mode")), "shared_persistent");
        json_t *h = json_object_get(o, "history");
        assert_int_equal(json_array_size(h), (size_t)i);
        for (int k = 0; k < i; k++) {
            json_t *e = json_array_get(h, (size_t)k);
            assert_string_equal(json_string_value(json_object_get(e, "input")), in[k]);
            assert_non_null(strstr(json_string_value(json_object_get(e, "output")), in[k]));
            assert_true(json_is_string(json_object_get(e, "at")));
        }
        if (i > 0) {
            char want[16];
            snprintf(want, sizeof want, "sum-%s", in[i - 1]);
            assert_string_equal(json_string_value(json_object_get(o, "summary")), want);
        }
        json_decref(o);
        symbi_run_cleanup(&r);
    }
}

static void test_ephemeral_with_summary_carries_summary_only(void **state)
{
    struct fx *f = *state;
    make_job(f, SYMBI_SESSION_EPHEMERAL_WITH_SUMMARY, ECHO_CTX);
    struct symbi_run r;
    run_once(f, "x1", &r);
    json_t *o = seen(&r);
    assert_true(json_is_null(json_object_get(o, "summary")));
    json_decref(o);
    symbi_run_cleanup(&r);
    run_once(f, "x2", &r);
    o = seen(&r);
    assert_string_equal(json_string_value(json_object_get(o, "summary")), "sum-x1");
    assert_int_equal(json_array_size(json_object_get(o, "history")), 0);
    json_decref(o);
    symbi_run_cleanup(&r);
}

static void test_fully_ephemeral_carries_nothing(void **state)
{
    struct fx *f = *state;
    make_job(f, SYMBI_SESSION_FULLY_EPHEMERAL, ECHO_CTX);
    for (int i = 0; i < 2; i++) {
        struct symbi_run r;
        run_once(f, "z", &r);
        json_t *o = seen(&r);
        assert_true(json_is_null(json_object_get(o, "summary")));
        assert_int_equal(json_array_size(json_object_get(o, "history")), 0);
        json_decref(o);
        symbi_run_cleanup(&r);
    }
    char *head = NULL;
    assert_int_equal(symbi_store_context_get(f->store->st, f->job.id, &head, NULL), 0);
    assert_null(head);
}

/* must show 2: 100 runs of 1 KiB output under a 4 KiB bound */
static void test_bound_archives_every_entry(void **state)
{
    struct fx *f = *state;
    f->cfg.context_max_bytes = 4096;
    make_job(f, SYMBI_SESSION_SHARED_PERSISTENT, "cat; head -c 1018 /dev/zero | tr '\\000' x");
    for (int i = 0; i < 100; i++) {
        char in[16];
        snprintf(in, sizeof in, "n%03d", i);
        struct symbi_run r;
        run_once(f, in, &r);
        assert_int_equal(r.status, SYMBI_RUN_SUCCEEDED);
        symbi_run_cleanup(&r);
    }
    struct symbi_err err = {0};
    json_t *d = symbi_exec_context_describe(f->store->st, &f->job, &err);
    assert_non_null(d);
    int64_t bytes = json_integer_value(json_object_get(d, "bytes"));
    int64_t live = json_integer_value(json_object_get(d, "live_entries"));
    int64_t archived = json_integer_value(json_object_get(d, "archived_entries"));
    assert_true(bytes <= 4096);
    assert_true(live >= 2);
    assert_int_equal(live + archived, 100);
    json_decref(d);
    /* the archive holds exactly the oldest ones, in order, outputs whole */
    struct symbi_context_entry *v = NULL;
    size_t n = 0;
    assert_int_equal(symbi_store_context_entries(f->store->st, f->job.id, true, 0, &v, &n, &err),
                     0);
    assert_int_equal((int64_t)n, archived);
    for (size_t i = 0; i < n; i++) {
        char in[32];
        snprintf(in, sizeof in, "n%03zu", i);
        assert_string_equal(v[i].input, in);
        assert_int_equal(strlen(v[i].output), 1022);
        assert_true(v[i].archived_at != SYMBI_TIME_NONE);
    }
    symbi_context_entries_free(v, n);
    /* a clear archives the live ones too: nothing deleted */
    assert_int_equal(symbi_exec_context_clear(f->store->st, &f->job, symbi_now_wall_ms(), &err), 0);
    int64_t l2 = -1, a2 = -1;
    assert_int_equal(symbi_store_context_count(f->store->st, f->job.id, &l2, &a2, &err), 0);
    assert_int_equal(l2, 0);
    assert_int_equal(a2, 100);
}

/* an entry larger than the whole bound goes straight to the archive */
static void test_oversized_entry_is_archived(void **state)
{
    struct fx *f = *state;
    f->cfg.context_max_bytes = 1024;
    make_job(f, SYMBI_SESSION_SHARED_PERSISTENT, "head -c 5000 /dev/zero | tr '\\000' y");
    struct symbi_run r;
    run_once(f, "big", &r);
    assert_int_equal(r.status, SYMBI_RUN_SUCCEEDED);
    symbi_run_cleanup(&r);
    int64_t live = -1, archived = -1;
    assert_int_equal(symbi_store_context_count(f->store->st, f->job.id, &live, &archived, NULL), 0);
    assert_int_equal(live, 0);
    assert_int_equal(archived, 1);
}

static void heartbeat(struct fx *f, enum symbi_session_mode ctx_mode, int max)
{
    f->job.heartbeat.set = true;
    f->job.heartbeat.enabled = true;
    f->job.heartbeat.context_mode = ctx_mode;
    f->job.heartbeat.max_iterations = max;
}

static void test_heartbeat_sleeps_on_third_iteration(void **state)
{
    struct fx *f = *state;
    make_job(f, SYMBI_SESSION_FULLY_EPHEMERAL,
             "cat \"$SYMBI_CONTEXT_FILE\"; echo; echo \"it $SYMBI_ITERATION\"; "
             "[ \"$SYMBI_ITERATION\" = 3 ] && printf 'ok\\n  sleep  \\n\\n'; true");
    heartbeat(f, SYMBI_SESSION_SHARED_PERSISTENT, 10);
    struct symbi_run r;
    run_once(f, "beat", &r);
    assert_int_equal(r.status, SYMBI_RUN_SUCCEEDED);
    assert_int_equal(r.iterations, 3);
    json_t *its = json_loads(r.iteration_outputs, 0, NULL);
    assert_int_equal(json_array_size(its), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *e = json_array_get(its, i);
        assert_int_equal(json_integer_value(json_object_get(e, "iteration")), (json_int_t)i + 1);
        char want[16];
        snprintf(want, sizeof want, "it %zu", i + 1);
        assert_non_null(strstr(json_string_value(json_object_get(e, "output")), want));
    }
    /* context_mode shared_persistent: iteration 3 saw iterations 1 and 2 */
    json_t *third = json_loads(json_string_value(json_object_get(json_array_get(its, 2), "output")),
                               JSON_DISABLE_EOF_CHECK, NULL);
    assert_int_equal(json_array_size(json_object_get(third, "history")), 2);
    json_decref(third);
    json_decref(its);
    /* the job's own mode (fully_ephemeral) stores nothing */
    char *head = NULL;
    assert_int_equal(symbi_store_context_get(f->store->st, f->job.id, &head, NULL), 0);
    assert_null(head);
    symbi_run_cleanup(&r);
}

static void test_heartbeat_iteration_limit(void **state)
{
    struct fx *f = *state;
    make_job(f, SYMBI_SESSION_EPHEMERAL_WITH_SUMMARY,
             "cat \"$SYMBI_CONTEXT_FILE\"; echo; echo \"SUMMARY: s$SYMBI_ITERATION\"; "
             "echo sleeping");
    heartbeat(f, SYMBI_SESSION_EPHEMERAL_WITH_SUMMARY, 4);
    struct symbi_run r;
    run_once(f, NULL, &r);
    assert_int_equal(r.status, SYMBI_RUN_FAILED);
    assert_string_equal(r.error_message, "iteration limit reached");
    assert_int_equal(r.iterations, 4);
    /* ews between iterations: the 4th saw the 3rd's summary */
    json_t *o = seen(&r);
    assert_string_equal(json_string_value(json_object_get(o, "summary")), "s3");
    json_decref(o);
    symbi_run_cleanup(&r);
    /* and the job's ews context keeps the last one */
    char *head = NULL;
    assert_int_equal(symbi_store_context_get(f->store->st, f->job.id, &head, NULL), 0);
    assert_non_null(strstr(head, "\"s4\""));
    free(head);
}

static void test_heartbeat_max_runtime_bounds_the_beat(void **state)
{
    struct fx *f = *state;
    make_job(f, SYMBI_SESSION_FULLY_EPHEMERAL, "sleep 0.3; echo busy");
    heartbeat(f, SYMBI_SESSION_FULLY_EPHEMERAL, 100);
    f->job.policy = strdup("{\"max_runtime\":\"1s\"}");
    struct symbi_run r;
    int64_t t0 = symbi_now_mono_ms();
    run_once(f, NULL, &r);
    int64_t took = symbi_now_mono_ms() - t0;
    assert_int_equal(r.status, SYMBI_RUN_TIMED_OUT);
    assert_true(r.iterations >= 2 && r.iterations <= 5);
    assert_true(took < 3000);
    symbi_run_cleanup(&r);
}

/* ---- hooks ---- */

static int gate_fn(void *ud, const struct symbi_exec_ctx *c, struct symbi_gate_decision *d,
                   struct symbi_err *err)
{
    struct fx *f = ud;
    (void)err;
    f->gate_calls++;
    assert_non_null(c->policy);
    d->verdict = f->verdict;
    snprintf(d->reason, sizeof d->reason, "outside allowed_hours");
    d->audit_type = "PolicyDenied";
    return 0;
}

static int deliver_fn(void *ud, const struct symbi_exec_ctx *c, struct symbi_delivery_summary *out,
                      struct symbi_err *err)
{
    struct fx *f = ud;
    (void)err;
    f->deliver_calls++;
    assert_int_equal(c->run->status, SYMBI_RUN_SUCCEEDED);
    symbi_set_str(&c->run->deliveries, "[{\"channel\":\"webhook\",\"ok\":false}]");
    out->attempted = f->deliver_attempted;
    out->succeeded = f->deliver_ok;
    return 0;
}

static void test_gate_deny_and_approval(void **state)
{
    struct fx *f = *state;
    char marker[200];
    snprintf(marker, sizeof marker, "touch %s/ran", f->store->dir);
    make_job(f, SYMBI_SESSION_EPHEMERAL_WITH_SUMMARY, marker);
    f->cfg.hooks.gate = gate_fn;
    f->cfg.hooks.gate_ud = f;
    f->verdict = SYMBI_GATE_DENY;
    struct symbi_run r;
    run_once(f, NULL, &r);
    assert_int_equal(r.status, SYMBI_RUN_DENIED);
    assert_string_equal(r.error_message, "outside allowed_hours");
    symbi_run_cleanup(&r);
    struct symbi_audit_filter af = {"PolicyDenied", f->job.id, SYMBI_TIME_NONE, SYMBI_TIME_NONE,
                                    10};
    struct symbi_audit_event *ev = NULL;
    size_t n = 0;
    assert_int_equal(symbi_store_audit_query(f->store->st, &af, &ev, &n, NULL), 0);
    assert_int_equal(n, 1);
    symbi_audit_list_free(ev, n);
    /* denied is not a failure */
    struct symbi_job j;
    assert_int_equal(symbi_store_job_get(f->store->st, f->job.id, &j, NULL), 0);
    assert_int_equal(j.failure_count, 0);
    symbi_job_cleanup(&j);

    f->verdict = SYMBI_GATE_REQUIRE_APPROVAL;
    run_once(f, NULL, &r);
    assert_int_equal(r.status, SYMBI_RUN_PENDING_APPROVAL);
    symbi_run_cleanup(&r);
    char path[200];
    snprintf(path, sizeof path, "%s/ran", f->store->dir);
    FILE *fp = fopen(path, "r");
    assert_null(fp); /* the agent never started */

    f->verdict = SYMBI_GATE_ALLOW;
    run_once(f, NULL, &r);
    assert_int_equal(r.status, SYMBI_RUN_SUCCEEDED);
    symbi_run_cleanup(&r);
    fp = fopen(path, "r");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(f->gate_calls, 3);
}

static void test_delivery_failing_everywhere_fails_the_run(void **state)
{
    struct fx *f = *state;
    make_job(f, SYMBI_SESSION_EPHEMERAL_WITH_SUMMARY, "echo hi");
    f->cfg.hooks.deliver = deliver_fn;
    f->cfg.hooks.deliver_ud = f;
    struct symbi_run r;
    f->deliver_attempted = 2;
    f->deliver_ok = 0;
    run_once(f, NULL, &r);
    assert_int_equal(r.status, SYMBI_RUN_FAILED);
    assert_non_null(strstr(r.error_message, "every channel"));
    assert_non_null(r.deliveries);
    symbi_run_cleanup(&r);
    f->deliver_ok = 1;
    run_once(f, NULL, &r);
    assert_int_equal(r.status, SYMBI_RUN_SUCCEEDED);
    symbi_run_cleanup(&r);
    f->deliver_attempted = 0;
    f->deliver_ok = 0;
    run_once(f, NULL, &r);
    assert_int_equal(r.status, SYMBI_RUN_SUCCEEDED);
    symbi_run_cleanup(&r);
    assert_int_equal(f->deliver_calls, 3);
}

/* ---- bad input ---- */

static void test_corrupt_stored_context_carries_nothing(void **state)
{
    struct fx *f = *state;
    make_job(f, SYMBI_SESSION_EPHEMERAL_WITH_SUMMARY, ECHO_CTX);
    assert_int_equal(symbi_store_context_put(f->store->st, f->job.id, "{not json", 1, NULL), 0);
    struct symbi_run r;
    run_once(f, "q", &r);
    assert_int_equal(r.status, SYMBI_RUN_SUCCEEDED);
    json_t *o = seen(&r);
    assert_true(json_is_null(json_object_get(o, "summary")));
    json_decref(o);
    symbi_run_cleanup(&r);
}

static void test_unwritable_context_dir_fails_clearly(void **state)
{
    struct fx *f = *state;
    make_job(f, SYMBI_SESSION_EPHEMERAL_WITH_SUMMARY, ECHO_CTX);
    char path[200];
    snprintf(path, sizeof path, "%s/contexts", f->store->dir);
    FILE *fp = fopen(path, "w"); /* a file where the directory goes */
    assert_non_null(fp);
    fclose(fp);
    struct symbi_run r;
    run_once(f, "q", &r);
    assert_int_equal(r.status, SYMBI_RUN_FAILED);
    assert_non_null(strstr(r.error_message, "session context"));
    assert_non_null(strstr(r.error_message, "not a directory"));
    symbi_run_cleanup(&r);
}

static void test_huge_summary_line_is_bounded(void **state)
{
    struct fx *f = *state;
    make_job(f, SYMBI_SESSION_SHARED_PERSISTENT,
             "printf 'SUMMARY: '; head -c 1048576 /dev/zero | tr '\\000' s; echo");
    f->cfg.max_output_bytes = 2 * 1024 * 1024;
    struct symbi_run r;
    run_once(f, NULL, &r);
    assert_int_equal(r.status, SYMBI_RUN_SUCCEEDED);
    assert_true(strlen(r.summary) <= SYMBI_AGENT_SUMMARY_MAX);
    symbi_run_cleanup(&r);
    char *head = NULL;
    assert_int_equal(symbi_store_context_get(f->store->st, f->job.id, &head, NULL), 0);
    assert_true(strlen(head) < 1024);
    free(head);
    /* the 1 MiB output itself is over the 256 KiB bound: archived, kept */
    int64_t live = -1, archived = -1;
    assert_int_equal(symbi_store_context_count(f->store->st, f->job.id, &live, &archived, NULL), 0);
    assert_int_equal(live, 0);
    assert_int_equal(archived, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shared_persistent_carries_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ephemeral_with_summary_carries_summary_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fully_ephemeral_carries_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bound_archives_every_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_entry_is_archived, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_sleeps_on_third_iteration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_iteration_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_max_runtime_bounds_the_beat, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_gate_deny_and_approval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delivery_failing_everywhere_fails_the_run, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_stored_context_carries_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_context_dir_fails_clearly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_huge_summary_line_is_bounded, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
