/* model_tools.c - declared tools of model agents (SPEC §6.2): a call runs
 * only a declared tool, through the process runner (process group, limits,
 * deadline), with its arguments as JSON on stdin; each call is recorded. */
#include "agent/model_int.h"

#include <stdlib.h>
#include <string.h>

/* The first `max` bytes of s (not cutting a UTF-8 sequence), as JSON. */
static json_t *excerpt(const char *s, size_t len, size_t max)
{
    if (len > max) {
        len = max;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    char *t = symbi_strndup(s, len);
    json_t *v = t != NULL ? symbi_agent__model_text(t) : NULL;
    free(t);
    return v;
}

/* Appends {id, name, arguments, status, exit_code, output, error, ms}. */
static int record_call(json_t *record, const struct symbi_model_call *call, const json_t *args,
                       const char *status, const struct symbi_agent_result *r, const char *error,
                       int64_t ms)
{
    json_t *e = json_pack("{s:s, s:s}", "id", call->id, "name", call->name);
    if (e == NULL)
        return SYMBI_ENOMEM;
    json_object_set_new(e, "arguments",
                        args != NULL ? json_incref((json_t *)args)
                                     : symbi_agent__model_text(call->arguments));
    json_object_set_new(e, "status", json_string(status));
    json_object_set_new(e, "exit_code",
                        r != NULL && r->has_exit_code ? json_integer(r->exit_code) : json_null());
    json_object_set_new(e, "output",
                        r != NULL ? excerpt(r->output, r->output_len, SYMBI_MODEL_TOOL_RECORD_MAX)
                                  : json_string(""));
    json_object_set_new(e, "error", error != NULL ? symbi_agent__model_text(error) : json_null());
    json_object_set_new(e, "ms", json_integer(ms));
    return json_array_append_new(record, e) == 0 ? 0 : SYMBI_ENOMEM;
}

/* What the model is told about a finished tool process. */
static char *reply_text(const struct symbi_agent_result *r)
{
    struct symbi_buf b;
    symbi_buf_init(&b, SYMBI_MODEL_TOOL_REPLY_MAX + 1024);
    size_t n =
        r->output_len < SYMBI_MODEL_TOOL_REPLY_MAX ? r->output_len : SYMBI_MODEL_TOOL_REPLY_MAX;
    int rc = 0;
    if (r->status != SYMBI_RUN_SUCCEEDED)
        rc = symbi_buf_printf(&b, "error: tool failed: %s\n",
                              r->error_message != NULL ? r->error_message : "failed");
    if (rc == 0)
        rc = symbi_buf_append(&b, r->output, n);
    if (rc == 0 && n < r->output_len)
        rc = symbi_buf_printf(&b, "\n[output truncated at %zu of %zu bytes]", n, r->output_total);
    if (rc == 0 && r->status != SYMBI_RUN_SUCCEEDED && r->stderr_text != NULL &&
        r->stderr_text[0] != '\0') {
        size_t el = strlen(r->stderr_text);
        rc = symbi_buf_printf(&b, "\nstderr: %.*s", (int)(el < 2048 ? el : 2048), r->stderr_text);
    }
    if (rc != 0 && rc != SYMBI_ETOOBIG) {
        symbi_buf_cleanup(&b);
        return NULL;
    }
    return symbi_buf_steal(&b);
}

/* Answers the model without running anything. */
static int refuse(json_t *record, const struct symbi_model_call *call, const char *why,
                  char **reply, bool *is_error)
{
    struct symbi_buf b;
    symbi_buf_init(&b, 4096);
    int rc = symbi_buf_printf(&b, "error: %s", why);
    if (rc == 0 || rc == SYMBI_ETOOBIG)
        rc = record_call(record, call, NULL, "not_run", NULL, why, 0);
    *reply = rc == 0 ? symbi_buf_steal(&b) : NULL;
    symbi_buf_cleanup(&b);
    *is_error = true;
    return rc == 0 && *reply != NULL ? 0 : SYMBI_ENOMEM;
}

int symbi_agent__model_tool_call(const struct symbi_agent_request *req, const json_t *tools,
                                 const struct symbi_model_call *call, int64_t deadline_ms,
                                 json_t *record, char **reply, bool *is_error, bool *timed_out)
{
    *reply = NULL;
    *is_error = false;
    *timed_out = false;
    const json_t *tool = json_object_get(tools, call->name);
    char why[512];
    if (!json_is_object(tool)) {
        snprintf(why, sizeof why, "unknown tool \"%.100s\": this agent declares no such tool",
                 call->name);
        return refuse(record, call, why, reply, is_error);
    }
    json_error_t je;
    json_t *args = json_loads(call->arguments, 0, &je);
    if (!json_is_object(args)) {
        json_decref(args);
        snprintf(why, sizeof why, "the arguments of \"%.100s\" are not a JSON object", call->name);
        return refuse(record, call, why, reply, is_error);
    }
    /* the tool runs as its agent does (env, workdir and whatever else the
     * agent's definition confines it with), with the tool's own runner */
    struct symbi_agent_def def = *req->agent;
    const json_t *cmd = json_object_get(tool, "command");
    char *exec_text = NULL;
    if (json_is_string(cmd)) {
        def.runner = SYMBI_RUNNER_COMMAND;
        def.command = (char *)json_string_value(cmd);
    } else {
        def.runner = SYMBI_RUNNER_EXEC;
        exec_text = json_dumps(json_object_get(tool, "exec"), JSON_COMPACT);
        def.exec = exec_text;
    }
    /* the key's variable is blanked for the tool unless the agent's env
     * names it (SYMBI_* variables are never inherited anyway) */
    const char *key_env = req->agent->api_key_env;
    char *env_text = NULL;
    if (key_env != NULL && strncmp(key_env, "SYMBI_", 6) != 0) {
        json_t *env = req->agent->env != NULL ? json_loads(req->agent->env, 0, NULL) : NULL;
        if (!json_is_object(env)) {
            json_decref(env);
            env = json_object();
        }
        if (json_is_object(env) && json_object_get(env, key_env) == NULL &&
            json_object_set_new(env, key_env, json_string("")) == 0)
            env_text = json_dumps(env, JSON_COMPACT);
        json_decref(env);
        if (env_text == NULL) {
            free(exec_text);
            json_decref(args);
            return SYMBI_ENOMEM;
        }
        def.env = env_text;
    }
    /* SPEC §6.5: a tool's own sandbox, else its agent's (else the default) */
    char *sandbox_text = NULL;
    const json_t *own = json_object_get(tool, "sandbox");
    if (own != NULL) {
        if ((sandbox_text = json_dumps(own, JSON_COMPACT)) == NULL) {
            free(exec_text);
            free(env_text);
            json_decref(args);
            return SYMBI_ENOMEM;
        }
        def.sandbox = sandbox_text;
    }
    struct symbi_agent_request sub = *req;
    sub.agent = &def;
    sub.input = call->arguments; /* exactly what the model sent, never a command line */
    sub.context_file = NULL;
    sub.max_output_bytes = SYMBI_MODEL_TOOL_OUTPUT_MAX;
    int64_t t0 = symbi_now_mono_ms();
    sub.max_runtime_ms = deadline_ms - t0 > 0 ? deadline_ms - t0 : 1;
    struct symbi_agent_result r;
    symbi_agent_result_init(&r);
    int rc = exec_text != NULL || def.runner == SYMBI_RUNNER_COMMAND
                 ? symbi_agent__run_process(&sub, &r)
                 : SYMBI_ENOMEM;
    if (rc == 0 && r.output == NULL && (r.output = symbi_strdup("")) == NULL)
        rc = SYMBI_ENOMEM;
    if (rc == 0) {
        int64_t ms = symbi_now_mono_ms() - t0;
        *timed_out = r.status == SYMBI_RUN_TIMED_OUT && symbi_now_mono_ms() >= deadline_ms;
        *is_error = r.status != SYMBI_RUN_SUCCEEDED;
        rc = record_call(record, call, args, symbi_run_status_name(r.status), &r, r.error_message,
                         ms);
        if (rc == 0 && (*reply = reply_text(&r)) == NULL)
            rc = SYMBI_ENOMEM;
    }
    symbi_agent_result_cleanup(&r);
    free(sandbox_text);
    free(exec_text);
    free(env_text);
    json_decref(args);
    return rc;
}
