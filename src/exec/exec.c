/* exec.c - the AgentScheduler (SPEC §1): one run through steps 2-6 of the
 * guide's lifecycle (session creation, policy gate, agent execution or a
 * heartbeat's beat of iterations, delivery, session save and cleanup). */
#include "exec/exec_int.h"

#include "symbi/json.h"

#include <stdlib.h>
#include <string.h>

void symbi_exec_config_init(struct symbi_exec_config *c)
{
    memset(c, 0, sizeof *c);
    c->max_output_bytes = SYMBI_AGENT_DEFAULT_OUTPUT_MAX;
    c->kill_grace_ms = SYMBI_AGENT_KILL_GRACE_MS;
    c->context_max_bytes = SYMBI_EXEC_CONTEXT_MAX_DEFAULT;
}

/* true when the output's last non-empty line is `sleep` (SPEC §6.4) */
static bool says_sleep(const char *out, size_t len)
{
    size_t end = len;
    for (;;) {
        while (end > 0 && (out[end - 1] == '\n' || out[end - 1] == '\r' || out[end - 1] == ' ' ||
                           out[end - 1] == '\t'))
            end--;
        if (end == 0)
            return false;
        size_t start = end;
        while (start > 0 && out[start - 1] != '\n')
            start--;
        size_t b = start;
        while (b < end && (out[b] == ' ' || out[b] == '\t'))
            b++;
        if (b == end) { /* a line of blanks: look further up */
            end = start;
            continue;
        }
        return end - b == 5 && memcmp(out + b, "sleep", 5) == 0;
    }
}

static void set_error(struct symbi_run *out, enum symbi_run_status status, const char *msg)
{
    out->status = status;
    symbi_set_str(&out->error_message, msg);
}

/* moves the invocation's result into the run record */
/* A model agent's tool calls and token usage, summed over a beat's
 * iterations (the run record keeps them all, SPEC §6.2). */
static void add_model_usage(struct symbi_run *out, struct symbi_agent_result *res)
{
    if (res->prompt_tokens >= 0)
        out->prompt_tokens = (out->prompt_tokens > 0 ? out->prompt_tokens : 0) + res->prompt_tokens;
    if (res->completion_tokens >= 0)
        out->completion_tokens =
            (out->completion_tokens > 0 ? out->completion_tokens : 0) + res->completion_tokens;
    if (res->tool_calls == NULL)
        return;
    if (out->tool_calls == NULL) {
        out->tool_calls = res->tool_calls;
        res->tool_calls = NULL;
        return;
    }
    json_t *all = json_loads(out->tool_calls, 0, NULL);
    json_t *more = json_loads(res->tool_calls, 0, NULL);
    char *merged = NULL;
    if (json_is_array(all) && json_is_array(more) && json_array_extend(all, more) == 0)
        merged = json_dumps(all, JSON_COMPACT);
    json_decref(all);
    json_decref(more);
    if (merged != NULL) {
        free(out->tool_calls);
        out->tool_calls = merged;
    }
}

static void take_result(struct symbi_run *out, struct symbi_agent_result *res)
{
    out->status = res->status;
    free(out->output);
    out->output = res->output;
    res->output = NULL;
    out->output_truncated = res->output_truncated;
    free(out->stderr_text);
    out->stderr_text = res->stderr_text;
    res->stderr_text = NULL;
    free(out->summary);
    out->summary = res->summary;
    res->summary = NULL;
    free(out->error_message);
    out->error_message = res->error_message;
    res->error_message = NULL;
    out->has_exit_code = res->has_exit_code;
    out->exit_code = res->exit_code;
    add_model_usage(out, res);
}

/* one iteration's entry in iteration_outputs, its output within budget */
static json_t *iteration_json(int i, const struct symbi_agent_result *res, size_t *budget)
{
    size_t n = res->output_len <= *budget ? res->output_len : *budget;
    *budget -= n;
    json_t *o = json_object();
    json_object_set_new(o, "iteration", json_integer(i));
    json_object_set_new(o, "status", json_string(symbi_run_status_name(res->status)));
    json_object_set_new(o, "exit_code",
                        res->has_exit_code ? json_integer(res->exit_code) : json_null());
    json_object_set_new(o, "output", symbi_json_text(res->output ? res->output : "", n));
    json_object_set_new(o, "output_truncated",
                        json_boolean(res->output_truncated || n < res->output_len));
    json_object_set_new(o, "error",
                        res->error_message ? json_string(res->error_message) : json_null());
    return o;
}

/* the configuration's wall clock */
static int64_t wall(const struct symbi_exec_config *c)
{
    return c->clock != NULL ? c->clock->wall_ms(c->clock) : symbi_now_wall_ms();
}

struct exec_state {
    const struct symbi_exec_config *c;
    const struct symbi_exec_request *r;
    struct symbi_run *out;
    struct exec_session sess;
    int64_t limit_ms; /* the effective max runtime of the run (beat); -1: none */
    int64_t t0;       /* monotonic start */
    bool ran;         /* the agent ran: the session is saved */
};

/* One invocation: writes the context shown under `shown`, runs the agent
 * with what is left of the run's max runtime, adds the outcome to the
 * session. Returns 0 with *res filled, or a negative code (no outcome). */
static int invoke(struct exec_state *x, enum symbi_session_mode shown, int iteration,
                  struct symbi_agent_result *res, struct symbi_err *err)
{
    const struct symbi_run *run = x->out;
    symbi_agent_result_init(res);
    char *json = exec_session_json(&x->sess, shown);
    if (json == NULL)
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    /* the file is for processes; a model runner gets context_json */
    const struct symbi_agent_def *a = x->r->agent;
    bool file = a != NULL && (a->runner == SYMBI_RUNNER_COMMAND || a->runner == SYMBI_RUNNER_EXEC);
    struct symbi_err ferr;
    if (file && exec_session_write(&x->sess, x->c, run->id, json, &ferr) != 0) {
        free(json);
        res->status = SYMBI_RUN_FAILED;
        res->output = symbi_strdup("");
        res->error_message = symbi_strdup(ferr.msg);
        return res->output && res->error_message ? 0 : SYMBI_ENOMEM;
    }
    int64_t budget = 0;
    if (x->limit_ms > 0) {
        budget = x->limit_ms - (symbi_now_mono_ms() - x->t0);
        if (budget <= 0) {
            free(json);
            res->status = SYMBI_RUN_TIMED_OUT;
            res->output = symbi_strdup("");
            res->error_message = symbi_strdup("max_runtime reached before the iteration started");
            return res->output && res->error_message ? 0 : SYMBI_ENOMEM;
        }
    }
    struct symbi_agent_request req = {
        .agent = x->r->agent,
        .agent_name = run->agent,
        .input = run->input,
        .job_id = run->job_id[0] != '\0' ? run->job_id : NULL,
        .job_name = run->job_name,
        .run_id = run->id,
        .trigger = symbi_trigger_name(run->trigger),
        .scheduled_at = run->scheduled_at,
        .attempt = run->attempt,
        .session_mode = symbi_session_mode_name(shown),
        .context_file = file ? x->sess.path : NULL,
        .context_json = json,
        .iteration = iteration,
        .environment = x->c->environment,
        .default_endpoint = x->c->llm_endpoint,
        .default_sandbox = x->c->default_sandbox,
        .max_runtime_ms = budget,
        .kill_grace_ms = x->c->kill_grace_ms,
        .max_output_bytes = x->c->max_output_bytes > 0 ? (size_t)x->c->max_output_bytes : 0,
        .cancel = x->r->cancel,
        .on_group = x->r->on_group,
        .on_group_ud = x->r->on_group_ud,
    };
    int64_t at =
        iteration <= 1 && run->started_at != SYMBI_TIME_NONE ? run->started_at : wall(x->c);
    int rc = x->c->runner != NULL ? x->c->runner(x->c->runner_ud, &req, res, err)
                                  : symbi_agent_execute(&req, res, err);
    free(json);
    if (rc != 0)
        return rc;
    if (x->r->agent != NULL && res->status != SYMBI_RUN_INTERRUPTED) {
        x->ran = true;
        if (exec_session_add(&x->sess, at, run->input, res->output, res->output_len,
                             res->summary) != 0)
            return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    }
    return 0;
}

/* Step 4 for a plain job: one invocation. */
static int execute_once(struct exec_state *x, struct symbi_err *err)
{
    struct symbi_agent_result res;
    int rc = invoke(x, x->sess.mode, 0, &res, err);
    if (rc == 0)
        take_result(x->out, &res);
    symbi_agent_result_cleanup(&res);
    return rc;
}

/* Step 4 for a heartbeat (SPEC §6.4): a beat of iterations until the agent
 * says `sleep` or max_iterations is reached. Iteration 1 sees the job's
 * context (session_mode); later ones what context_mode carries over. */
static int execute_beat(struct exec_state *x, struct symbi_err *err)
{
    const struct symbi_heartbeat *hb = &x->r->job->heartbeat;
    int max = hb->max_iterations > 0 ? hb->max_iterations : 10;
    size_t budget = x->c->max_output_bytes > 0 ? (size_t)x->c->max_output_bytes
                                               : SYMBI_AGENT_DEFAULT_OUTPUT_MAX;
    json_t *outs = json_array();
    if (outs == NULL)
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    int rc = 0;
    bool slept = false;
    int i = 0;
    while (i < max) {
        i++;
        struct symbi_agent_result res;
        rc = invoke(x, i == 1 ? x->sess.mode : hb->context_mode, i, &res, err);
        if (rc != 0)
            break;
        json_array_append_new(outs, iteration_json(i, &res, &budget));
        bool ok = res.status == SYMBI_RUN_SUCCEEDED;
        slept = ok && says_sleep(res.output, res.output_len);
        take_result(x->out, &res);
        symbi_agent_result_cleanup(&res);
        if (!ok) {
            char msg[700];
            snprintf(msg, sizeof msg, "iteration %d: %s", i,
                     x->out->error_message ? x->out->error_message : "failed");
            symbi_set_str(&x->out->error_message, msg);
            break;
        }
        if (slept)
            break;
    }
    x->out->iterations = i;
    free(x->out->iteration_outputs);
    x->out->iteration_outputs = json_dumps(outs, JSON_COMPACT);
    json_decref(outs);
    if (rc == 0 && x->out->status == SYMBI_RUN_SUCCEEDED && !slept)
        set_error(x->out, SYMBI_RUN_FAILED, "iteration limit reached");
    return rc;
}

/* the request's store for a moment (release with put_store) */
static struct symbi_store *get_store(const struct symbi_exec_request *r, struct symbi_err *err)
{
    if (r->st != NULL || r->pool == NULL) {
        if (r->st == NULL)
            symbi_err_set(err, SYMBI_EINVAL, "no store");
        return r->st;
    }
    return symbi_exec_pool_get(r->pool, err);
}

static void put_store(const struct symbi_exec_request *r, struct symbi_store *st)
{
    if (r->st == NULL && r->pool != NULL)
        symbi_exec_pool_put(r->pool, st);
}

/* Step 3: the gate hook (NULL: allow). Returns true when the agent may
 * run; otherwise the run's status says why. */
static bool gate(struct exec_state *x, const struct symbi_policy *pol)
{
    const struct symbi_exec_hooks *h = &x->c->hooks;
    x->limit_ms = pol->max_runtime_ms;
    if (h->gate == NULL)
        return true;
    struct symbi_exec_ctx ctx = {
        .job = x->r->job,
        .agent = x->r->agent,
        .policy = pol,
        .run = x->out,
        .environment = x->c->environment,
        .now = wall(x->c),
    };
    struct symbi_gate_decision d;
    memset(&d, 0, sizeof d);
    d.max_runtime_ms = pol->max_runtime_ms;
    struct symbi_err err = {0};
    if (h->gate(h->gate_ud, &ctx, &d, &err) != 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "policy gate: %s", err.msg);
        set_error(x->out, SYMBI_RUN_FAILED, msg);
        return false;
    }
    if (d.verdict == SYMBI_GATE_ALLOW) {
        x->limit_ms = d.max_runtime_ms;
        return true;
    }
    if (d.verdict == SYMBI_GATE_REQUIRE_APPROVAL) {
        x->out->status = SYMBI_RUN_PENDING_APPROVAL;
        return false;
    }
    set_error(x->out, SYMBI_RUN_DENIED, d.reason[0] ? d.reason : "denied by policy");
    struct symbi_err aerr;
    struct symbi_store *st = x->r->job != NULL ? get_store(x->r, &aerr) : NULL;
    if (st != NULL) {
        struct symbi_audit_event ev;
        symbi_audit_event_init(&ev);
        ev.at = ctx.now;
        ev.type = symbi_strdup(d.audit_type ? d.audit_type : "PolicyDenied");
        memcpy(ev.job_id, x->out->job_id, sizeof ev.job_id);
        memcpy(ev.run_id, x->out->id, sizeof ev.run_id);
        ev.job_name = x->out->job_name ? symbi_strdup(x->out->job_name) : NULL;
        ev.actor = symbi_strdup("scheduler");
        json_t *det = json_pack("{s:s}", "reason", x->out->error_message);
        ev.details = symbi_json_dump_compact(det);
        json_decref(det);
        if (ev.type != NULL && symbi_store_audit_append(st, &ev, &aerr) != 0)
            symbi_log(SYMBI_LOG_WARN, "policy", "audit of a denied run failed run=%s: %s",
                      x->out->id, aerr.msg);
        symbi_audit_event_cleanup(&ev);
        put_store(x->r, st);
    }
    return false;
}

/* Step 5: the delivery hook (NULL: nothing delivered). A run whose every
 * attempted channel failed counts as failed (SPEC §5.5). */
static void deliver(struct exec_state *x, const struct symbi_policy *pol)
{
    const struct symbi_exec_hooks *h = &x->c->hooks;
    if (h->deliver == NULL)
        return;
    struct symbi_exec_ctx ctx = {
        .job = x->r->job,
        .agent = x->r->agent,
        .policy = pol,
        .run = x->out,
        .environment = x->c->environment,
        .now = wall(x->c),
    };
    struct symbi_delivery_summary sum = {0, 0};
    struct symbi_err err = {0};
    char msg[700];
    if (h->deliver(h->deliver_ud, &ctx, &sum, &err) != 0) {
        snprintf(msg, sizeof msg, "delivery: %s", err.msg);
        if (x->out->status == SYMBI_RUN_SUCCEEDED)
            set_error(x->out, SYMBI_RUN_FAILED, msg);
        return;
    }
    if (sum.attempted > 0 && sum.succeeded == 0 && x->out->status == SYMBI_RUN_SUCCEEDED) {
        snprintf(msg, sizeof msg, "delivery failed on every channel (%d attempted)", sum.attempted);
        set_error(x->out, SYMBI_RUN_FAILED, msg);
    }
}

int symbi_exec_run(const struct symbi_exec_config *c, const struct symbi_exec_request *r,
                   const struct symbi_run *run, struct symbi_run *out, struct symbi_err *err)
{
    if (symbi_run_copy(out, run) != 0)
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    struct exec_state x = {.c = c, .r = r, .out = out, .limit_ms = -1};
    x.t0 = symbi_now_mono_ms();
    if (out->started_at == SYMBI_TIME_NONE)
        out->started_at = wall(c);
    out->status = SYMBI_RUN_RUNNING;
    out->finished_at = SYMBI_TIME_NONE; /* set when the agent step ends */
    out->execution_time_ms = -1;
    struct symbi_policy pol;
    symbi_policy_init(&pol);
    int rc = 0;
    struct symbi_err perr;
    /* step 2: session creation by mode */
    struct symbi_store *st = r->job != NULL ? get_store(r, &perr) : NULL;
    int orc =
        r->job != NULL && st == NULL ? perr.code : exec_session_open(&x.sess, c, st, r->job, &perr);
    put_store(r, st);
    if (orc != 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "session context: %s", perr.msg);
        set_error(out, SYMBI_RUN_FAILED, msg);
    } else if (r->job != NULL && symbi_policy_parse(r->job->policy, &pol, NULL, &perr) != 0) {
        set_error(out, SYMBI_RUN_FAILED, perr.msg);
    } else if (gate(&x, &pol)) { /* step 3 */
        if (x.limit_ms <= 0 && r->agent != NULL && r->agent->timeout_ms > 0)
            x.limit_ms = r->agent->timeout_ms;
        /* step 4 */
        bool beat = r->job != NULL && r->job->heartbeat.set && r->job->heartbeat.enabled;
        rc = beat ? execute_beat(&x, err) : execute_once(&x, err);
        /* the run is over when its agent is: the payload that delivery
         * sends carries finished_at and execution_time_ms, and neither
         * counts the time the channels take */
        out->finished_at = wall(c);
        out->execution_time_ms = symbi_now_mono_ms() - x.t0;
        if (rc == 0 && out->status != SYMBI_RUN_INTERRUPTED)
            deliver(&x, &pol); /* step 5 */
    }
    /* step 6: session save by mode, then cleanup (the file goes) */
    if (rc == 0 && x.ran && x.sess.persist) {
        struct symbi_err serr;
        st = get_store(r, &serr);
        if (st == NULL || exec_session_save(&x.sess, st, r->job, wall(c), &serr) != 0)
            symbi_log(SYMBI_LOG_ERROR, "agent", "saving the session context failed job=%s: %s",
                      out->job_name ? out->job_name : "", serr.msg);
        put_store(r, st);
    }
    exec_session_close(&x.sess);
    symbi_policy_cleanup(&pol);
    if (rc != 0) {
        symbi_run_cleanup(out);
        return rc;
    }
    if (out->status != SYMBI_RUN_PENDING_APPROVAL && out->finished_at == SYMBI_TIME_NONE) {
        /* ended before the agent step (session, policy parse, denial) */
        out->finished_at = wall(c);
        out->execution_time_ms = symbi_now_mono_ms() - x.t0;
    }
    return 0;
}

void symbi_exec_take_outcome(struct symbi_run *run, struct symbi_run *done)
{
#define MOVE(f)                                                                                    \
    do {                                                                                           \
        free(run->f);                                                                              \
        run->f = done->f;                                                                          \
        done->f = NULL;                                                                            \
    } while (0)
    run->status = done->status;
    run->finished_at = done->finished_at;
    run->execution_time_ms = done->execution_time_ms;
    MOVE(output);
    run->output_truncated = done->output_truncated;
    MOVE(stderr_text);
    MOVE(summary);
    MOVE(error_message);
    run->has_exit_code = done->has_exit_code;
    run->exit_code = done->exit_code;
    run->iterations = done->iterations;
    MOVE(iteration_outputs);
    MOVE(tool_calls);
    run->prompt_tokens = done->prompt_tokens;
    run->completion_tokens = done->completion_tokens;
    MOVE(deliveries);
#undef MOVE
}
