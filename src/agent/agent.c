/* agent.c - the agent executor's front: dispatches a request to its runner
 * (process, builtin, model), and the result and summary helpers. */
#include "agent/agent_int.h"

#include <stdlib.h>
#include <string.h>

static _Atomic(symbi_agent_model_runner) model_runner;

void symbi_agent_set_model_runner(symbi_agent_model_runner fn)
{
    atomic_store(&model_runner, fn);
}

void symbi_agent_cancel_init(struct symbi_agent_cancel *c, int64_t grace_ms)
{
    atomic_init(&c->cancelled, 0);
    c->grace_ms = grace_ms > 0 ? grace_ms : 1000;
}

void symbi_agent_cancel_fire(struct symbi_agent_cancel *c)
{
    atomic_store(&c->cancelled, 1);
}

void symbi_agent_result_init(struct symbi_agent_result *r)
{
    memset(r, 0, sizeof *r);
    r->status = SYMBI_RUN_FAILED;
    r->prompt_tokens = -1;
    r->completion_tokens = -1;
}

void symbi_agent_result_cleanup(struct symbi_agent_result *r)
{
    free(r->output);
    free(r->stderr_text);
    free(r->summary);
    free(r->error_message);
    free(r->tool_calls);
    symbi_agent_result_init(r);
}

int symbi_agent__fail(struct symbi_agent_result *res, enum symbi_run_status status, const char *fmt,
                      ...)
{
    struct symbi_buf b;
    symbi_buf_init(&b, 4096);
    va_list ap;
    va_start(ap, fmt);
    int rc = symbi_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (rc != 0 && rc != SYMBI_ETOOBIG) {
        symbi_buf_cleanup(&b);
        return SYMBI_ENOMEM;
    }
    free(res->error_message);
    res->error_message = symbi_buf_steal(&b);
    res->status = status;
    return 0;
}

/* true when line [p, p+n) starts with "SUMMARY:" */
static bool is_summary_line(const char *p, size_t n)
{
    return n >= 8 && memcmp(p, "SUMMARY:", 8) == 0;
}

char *symbi_agent_summary(const char *output, size_t len)
{
    if (output == NULL || len == 0)
        return NULL;
    /* the last SUMMARY: line wins */
    const char *found = NULL;
    size_t found_len = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(output + i, '\n', len - i);
        size_t n = nl != NULL ? (size_t)(nl - (output + i)) : len - i;
        if (is_summary_line(output + i, n)) {
            found = output + i + 8;
            found_len = n - 8;
        }
        i += n + 1;
    }
    if (found != NULL) {
        while (found_len > 0 && (*found == ' ' || *found == '\t')) {
            found++;
            found_len--;
        }
        while (found_len > 0 && (found[found_len - 1] == '\r' || found[found_len - 1] == ' ' ||
                                 found[found_len - 1] == '\t'))
            found_len--;
        if (found_len > SYMBI_AGENT_SUMMARY_MAX)
            found_len = SYMBI_AGENT_SUMMARY_MAX;
        return symbi_strndup(found, found_len);
    }
    size_t start = len > SYMBI_AGENT_SUMMARY_MAX ? len - SYMBI_AGENT_SUMMARY_MAX : 0;
    /* do not start inside a UTF-8 sequence */
    while (start < len && ((unsigned char)output[start] & 0xC0) == 0x80)
        start++;
    size_t end = len;
    while (end > start && (output[end - 1] == '\n' || output[end - 1] == '\r'))
        end--;
    if (end == start)
        return NULL;
    return symbi_strndup(output + start, end - start);
}

static int run_builtin(const struct symbi_agent_request *req, struct symbi_agent_result *res)
{
    const char *name = req->agent->builtin != NULL ? req->agent->builtin : "";
    const char *in = req->input != NULL ? req->input : "";
    if (strcmp(name, "echo") == 0) {
        res->output = symbi_strdup(in);
        if (res->output == NULL)
            return SYMBI_ENOMEM;
        res->output_len = strlen(in);
        res->output_total = res->output_len;
        res->status = SYMBI_RUN_SUCCEEDED;
    } else if (strcmp(name, "noop") == 0) {
        res->status = SYMBI_RUN_SUCCEEDED;
    } else if (strcmp(name, "fail") == 0) {
        return symbi_agent__fail(res, SYMBI_RUN_FAILED,
                                 "builtin fail: the agent failed on purpose");
    } else {
        return symbi_agent__fail(res, SYMBI_RUN_FAILED, "agent \"%s\": unknown builtin \"%s\"",
                                 req->agent->name ? req->agent->name : "?", name);
    }
    return 0;
}

int symbi_agent_execute(const struct symbi_agent_request *req, struct symbi_agent_result *res,
                        struct symbi_err *err)
{
    symbi_agent_result_init(res);
    int64_t t0 = symbi_now_mono_ms();
    int rc;
    const struct symbi_agent_def *a = req->agent;
    if (a == NULL) {
        rc = symbi_agent__fail(res, SYMBI_RUN_FAILED, "unknown agent \"%s\"",
                               req->agent_name != NULL ? req->agent_name : "");
    } else if (req->cancel != NULL && atomic_load(&req->cancel->cancelled)) {
        rc = symbi_agent__fail(res, SYMBI_RUN_INTERRUPTED, "scheduler shutting down");
    } else {
        switch (a->runner) {
        case SYMBI_RUNNER_COMMAND:
        case SYMBI_RUNNER_EXEC:
            rc = symbi_agent__run_process(req, res);
            break;
        case SYMBI_RUNNER_BUILTIN:
            rc = run_builtin(req, res);
            break;
        case SYMBI_RUNNER_MODEL: {
            symbi_agent_model_runner fn = atomic_load(&model_runner);
            if (fn != NULL)
                rc = fn(req, res, err);
            else
                rc = symbi_agent__fail(res, SYMBI_RUN_FAILED,
                                       "agent \"%s\": no model runner is registered in this "
                                       "program",
                                       a->name ? a->name : "");
            break;
        }
        default:
            rc = symbi_agent__fail(res, SYMBI_RUN_FAILED,
                                   "agent \"%s\" names no runner (command, exec, model or builtin)",
                                   a->name ? a->name : "");
            break;
        }
    }
    if (rc != 0) {
        symbi_agent_result_cleanup(res);
        return symbi_err_set(err, rc, "agent: %s", symbi_strerror(rc));
    }
    if (res->output == NULL) {
        res->output = symbi_strdup("");
        if (res->output == NULL) {
            symbi_agent_result_cleanup(res);
            return symbi_err_set(err, SYMBI_ENOMEM, "agent: out of memory");
        }
    }
    if (res->summary == NULL)
        res->summary = symbi_agent_summary(res->output, res->output_len);
    res->execution_ms = symbi_now_mono_ms() - t0;
    return 0;
}
