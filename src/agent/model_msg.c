/* model_msg.c - the pure half of the model runner (SPEC §6.2, §6.3): builds
 * OpenAI chat-completions and Anthropic Messages request bodies from the
 * agent, the session context and the input, and parses their answers. */
#include "agent/model_int.h"
#include "symbi/json.h"

#include <stdlib.h>
#include <string.h>

#define HISTORY_MAX_ENTRIES 10000 /* turns taken from one context */

int symbi_agent__model_api(const char *name, enum symbi_model_api *out)
{
    if (name == NULL || strcmp(name, "openai") == 0)
        *out = SYMBI_MODEL_OPENAI;
    else if (strcmp(name, "anthropic") == 0)
        *out = SYMBI_MODEL_ANTHROPIC;
    else
        return SYMBI_EINVAL;
    return 0;
}

void symbi_agent__model_conv_cleanup(struct symbi_model_conv *c)
{
    free(c->system);
    free(c->note);
    json_decref(c->messages);
    memset(c, 0, sizeof *c);
}

char *symbi_agent__model_input_text(const char *input, const char *job, int64_t scheduled_at)
{
    if (input != NULL && input[0] != '\0')
        return symbi_strdup(input);
    char at[SYMBI_TIME_STRLEN];
    symbi_time_fmt(scheduled_at != SYMBI_TIME_NONE ? scheduled_at : symbi_now_wall_ms(), at);
    struct symbi_buf b;
    symbi_buf_init(&b, 0);
    if (symbi_buf_printf(&b, "Scheduled run of %s at %s", job != NULL ? job : "", at) != 0) {
        symbi_buf_cleanup(&b);
        return NULL;
    }
    return symbi_buf_steal(&b);
}

json_t *symbi_agent__model_text(const char *s)
{
    /* not UTF-8 (agent output may hold anything): invalid bytes become U+FFFD */
    return symbi_json_text(s, strlen(s));
}

/* {"role": role, "content": text} appended to arr; 0 or SYMBI_ENOMEM */
static int add_turn(json_t *arr, const char *role, const char *text)
{
    json_t *m = json_pack("{s:s, s:o}", "role", role, "content", symbi_agent__model_text(text));
    if (m == NULL)
        return SYMBI_ENOMEM;
    return json_array_append_new(arr, m) == 0 ? 0 : SYMBI_ENOMEM;
}

/* A history entry's user turn: its input, else what a scheduled run says. */
static char *history_input(const json_t *entry, const char *job)
{
    const char *in = json_string_value(json_object_get(entry, "input"));
    if (in != NULL && in[0] != '\0')
        return symbi_strdup(in);
    const json_t *at = json_object_get(entry, "at");
    int64_t ms = SYMBI_TIME_NONE;
    if (json_is_integer(at))
        ms = json_integer_value(at);
    else if (json_is_string(at) && symbi_time_parse(json_string_value(at), &ms) != 0)
        ms = SYMBI_TIME_NONE;
    if (ms == SYMBI_TIME_NONE) {
        struct symbi_buf b;
        symbi_buf_init(&b, 0);
        if (symbi_buf_printf(&b, "Scheduled run of %s", job != NULL ? job : "") != 0) {
            symbi_buf_cleanup(&b);
            return NULL;
        }
        return symbi_buf_steal(&b);
    }
    return symbi_agent__model_input_text(NULL, job, ms);
}

/* The context's history as user/assistant turns. An empty output becomes
 * "(no output)": the Messages API refuses empty text. */
static int add_history(json_t *msgs, const json_t *history, const char *job)
{
    size_t i, n = 0;
    const json_t *e;
    json_array_foreach(history, i, e)
    {
        if (!json_is_object(e) || n++ >= HISTORY_MAX_ENTRIES)
            continue;
        const char *out = json_string_value(json_object_get(e, "output"));
        char *in = history_input(e, job);
        if (in == NULL)
            return SYMBI_ENOMEM;
        int rc = add_turn(msgs, "user", in);
        free(in);
        if (rc == 0)
            rc = add_turn(msgs, "assistant", out != NULL && out[0] != '\0' ? out : "(no output)");
        if (rc != 0)
            return rc;
    }
    return 0;
}

int symbi_agent__model_conv_start(struct symbi_model_conv *c, enum symbi_model_api api,
                                  const char *system_prompt, const char *context_json,
                                  const char *job, const char *input_text, struct symbi_err *err)
{
    memset(c, 0, sizeof *c);
    c->api = api;
    c->messages = json_array();
    if (c->messages == NULL)
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    if (system_prompt != NULL && system_prompt[0] != '\0' &&
        (c->system = symbi_strdup(system_prompt)) == NULL)
        goto oom;
    if (context_json != NULL && context_json[0] != '\0') {
        json_error_t je;
        json_t *ctx = json_loads(context_json, 0, &je);
        const json_t *hist = json_object_get(ctx, "history");
        if (!json_is_object(ctx) || (hist != NULL && !json_is_array(hist) && !json_is_null(hist))) {
            json_decref(ctx);
            symbi_agent__model_conv_cleanup(c);
            return symbi_err_set(err, SYMBI_EINVAL,
                                 "the session context is not {\"mode\",\"summary\",\"history\"}");
        }
        /* the mode says what carries over (SPEC §6.3): a summary for
         * ephemeral_with_summary, the history for shared_persistent (its
         * summary would repeat the last turn), nothing for fully_ephemeral;
         * a context without a mode gives whatever it holds */
        const char *mode = json_string_value(json_object_get(ctx, "mode"));
        bool use_summary = mode == NULL || strcmp(mode, "ephemeral_with_summary") == 0;
        bool use_history = mode == NULL || strcmp(mode, "shared_persistent") == 0;
        const char *summary = json_string_value(json_object_get(ctx, "summary"));
        int rc = 0;
        if (use_summary && summary != NULL && summary[0] != '\0') {
            struct symbi_buf b;
            symbi_buf_init(&b, 0);
            rc = symbi_buf_printf(&b, "Summary of the previous run: %s", summary);
            c->note = rc == 0 ? symbi_buf_steal(&b) : NULL;
            symbi_buf_cleanup(&b);
            if (c->note == NULL)
                rc = SYMBI_ENOMEM;
        }
        if (rc == 0 && use_history && json_is_array(hist))
            rc = add_history(c->messages, hist, job);
        json_decref(ctx);
        if (rc != 0)
            goto oom;
    }
    if (add_turn(c->messages, "user", input_text != NULL ? input_text : "") == 0)
        return 0;
oom:
    symbi_agent__model_conv_cleanup(c);
    return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
}

/* The declared tools in the API's shape; NULL when none (or OOM). */
static json_t *api_tools(enum symbi_model_api api, const char *tools_json)
{
    json_t *decl = tools_json != NULL ? json_loads(tools_json, 0, NULL) : NULL;
    if (!json_is_object(decl) || json_object_size(decl) == 0) {
        json_decref(decl);
        return NULL;
    }
    json_t *out = json_array();
    const char *name;
    json_t *t;
    json_object_foreach(decl, name, t)
    {
        json_t *params = json_object_get(t, "parameters");
        const char *desc = json_string_value(json_object_get(t, "description"));
        json_t *schema = params != NULL ? json_incref(params)
                                        : json_pack("{s:s, s:{}}", "type", "object", "properties");
        json_t *fn = json_pack("{s:s}", "name", name);
        if (fn != NULL && desc != NULL)
            json_object_set_new(fn, "description", json_string(desc));
        if (fn != NULL)
            json_object_set_new(fn, api == SYMBI_MODEL_ANTHROPIC ? "input_schema" : "parameters",
                                schema);
        else
            json_decref(schema);
        if (api == SYMBI_MODEL_OPENAI && fn != NULL)
            fn = json_pack("{s:s, s:o}", "type", "function", "function", fn);
        if (fn == NULL || json_array_append_new(out, fn) != 0) {
            json_decref(out);
            out = NULL;
            break;
        }
    }
    json_decref(decl);
    return out;
}

/* The Messages API's one system text: the prompt, then the note. */
static char *anthropic_system(const struct symbi_model_conv *c)
{
    if (c->system == NULL && c->note == NULL)
        return NULL;
    struct symbi_buf b;
    symbi_buf_init(&b, 0);
    int rc = symbi_buf_printf(&b, "%s%s%s", c->system ? c->system : "",
                              c->system && c->note ? "\n\n" : "", c->note ? c->note : "");
    if (rc != 0) {
        symbi_buf_cleanup(&b);
        return NULL;
    }
    return symbi_buf_steal(&b);
}

json_t *symbi_agent__model_body(const struct symbi_model_conv *c, const struct symbi_agent_def *a,
                                const char *tools_json)
{
    json_t *body = json_pack("{s:s}", "model", a->model != NULL ? a->model : "");
    if (body == NULL)
        return NULL;
    bool ok = true;
    if (c->api == SYMBI_MODEL_ANTHROPIC) {
        int max_tokens = a->max_tokens > 0 ? a->max_tokens : SYMBI_MODEL_ANTHROPIC_TOKENS;
        ok &= json_object_set_new(body, "max_tokens", json_integer(max_tokens)) == 0;
        char *sys = anthropic_system(c);
        if (sys != NULL)
            ok &= json_object_set_new(body, "system", json_string(sys)) == 0;
        ok &= (sys != NULL) == (c->system != NULL || c->note != NULL);
        free(sys);
        ok &= json_object_set(body, "messages", c->messages) == 0;
    } else {
        json_t *msgs = json_array();
        ok &= msgs != NULL;
        if (ok && c->system != NULL)
            ok &= add_turn(msgs, "system", c->system) == 0;
        if (ok && c->note != NULL)
            ok &= add_turn(msgs, "system", c->note) == 0;
        ok &= json_array_extend(msgs, c->messages) == 0;
        ok &= json_object_set_new(body, "messages", msgs) == 0;
        if (a->max_tokens > 0)
            ok &= json_object_set_new(body, "max_tokens", json_integer(a->max_tokens)) == 0;
    }
    if (a->temperature >= 0)
        ok &= json_object_set_new(body, "temperature", json_real(a->temperature)) == 0;
    if (tools_json != NULL) {
        json_t *tools = api_tools(c->api, tools_json);
        if (tools != NULL)
            ok &= json_object_set_new(body, "tools", tools) == 0;
    }
    if (!ok) {
        json_decref(body);
        return NULL;
    }
    return body;
}

/* ---- answers ---- */

void symbi_agent__model_reply_cleanup(struct symbi_model_reply *r)
{
    free(r->text);
    json_decref(r->assistant);
    for (size_t i = 0; i < r->n_calls; i++) {
        free(r->calls[i].id);
        free(r->calls[i].name);
        free(r->calls[i].arguments);
    }
    free(r->calls);
    memset(r, 0, sizeof *r);
    r->prompt_tokens = r->completion_tokens = -1;
}

static int64_t usage_of(const json_t *usage, const char *key)
{
    const json_t *v = json_object_get(usage, key);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
}

static int add_call(struct symbi_model_reply *r, const char *id, const char *name, char *args)
{
    struct symbi_model_call *c = realloc(r->calls, (r->n_calls + 1) * sizeof *c);
    if (c == NULL) {
        free(args);
        return SYMBI_ENOMEM;
    }
    r->calls = c;
    c = &r->calls[r->n_calls];
    c->id = symbi_strdup(id != NULL ? id : "");
    c->name = symbi_strdup(name != NULL ? name : "");
    c->arguments = args;
    r->n_calls++;
    return c->id != NULL && c->name != NULL && args != NULL ? 0 : SYMBI_ENOMEM;
}

/* Appends the text of content (a string, or an array of text parts). */
static int add_text(struct symbi_buf *b, const json_t *content)
{
    if (json_is_string(content))
        return symbi_buf_append(b, json_string_value(content), json_string_length(content));
    size_t i;
    const json_t *part;
    json_array_foreach(content, i, part)
    {
        const char *type = json_string_value(json_object_get(part, "type"));
        const json_t *t = json_object_get(part, "text");
        if (type != NULL && strcmp(type, "text") == 0 && json_is_string(t)) {
            int rc = symbi_buf_append(b, json_string_value(t), json_string_length(t));
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

static int parse_openai(const json_t *root, struct symbi_model_reply *r, struct symbi_buf *text,
                        struct symbi_err *err)
{
    const json_t *choice = json_array_get(json_object_get(root, "choices"), 0);
    const json_t *msg = json_object_get(choice, "message");
    if (!json_is_object(msg))
        return symbi_err_set(err, SYMBI_EINVAL, "no choices[0].message in the answer");
    const json_t *content = json_object_get(msg, "content");
    int rc = add_text(text, content);
    const json_t *calls = json_object_get(msg, "tool_calls");
    size_t i;
    const json_t *tc;
    json_array_foreach(calls, i, tc)
    {
        if (rc != 0)
            break;
        const json_t *fn = json_object_get(tc, "function");
        const json_t *args = json_object_get(fn, "arguments");
        /* the arguments are a JSON text; some servers send an object */
        char *a = json_is_string(args)   ? symbi_strdup(json_string_value(args))
                  : json_is_object(args) ? json_dumps(args, JSON_COMPACT)
                                         : symbi_strdup("");
        rc = add_call(r, json_string_value(json_object_get(tc, "id")),
                      json_string_value(json_object_get(fn, "name")), a);
    }
    /* the assistant turn sent back: role, content and the calls only */
    r->assistant = json_pack("{s:s, s:O?}", "role", "assistant", "content", content);
    if (r->assistant != NULL && json_is_array(calls))
        json_object_set(r->assistant, "tool_calls", (json_t *)calls);
    const json_t *usage = json_object_get(root, "usage");
    r->prompt_tokens = usage_of(usage, "prompt_tokens");
    r->completion_tokens = usage_of(usage, "completion_tokens");
    return rc != 0 || r->assistant == NULL ? symbi_err_set(err, SYMBI_ENOMEM, "out of memory") : 0;
}

static int parse_anthropic(const json_t *root, struct symbi_model_reply *r, struct symbi_buf *text,
                           struct symbi_err *err)
{
    const json_t *content = json_object_get(root, "content");
    if (!json_is_array(content))
        return symbi_err_set(err, SYMBI_EINVAL, "no content array in the answer");
    int rc = add_text(text, content);
    size_t i;
    const json_t *block;
    json_array_foreach(content, i, block)
    {
        const char *type = json_string_value(json_object_get(block, "type"));
        if (rc != 0 || type == NULL || strcmp(type, "tool_use") != 0)
            continue;
        const json_t *input = json_object_get(block, "input");
        char *a =
            input != NULL ? json_dumps(input, JSON_COMPACT | JSON_ENCODE_ANY) : symbi_strdup("{}");
        rc = add_call(r, json_string_value(json_object_get(block, "id")),
                      json_string_value(json_object_get(block, "name")), a);
    }
    r->assistant = json_pack("{s:s, s:O}", "role", "assistant", "content", content);
    const json_t *usage = json_object_get(root, "usage");
    r->prompt_tokens = usage_of(usage, "input_tokens");
    r->completion_tokens = usage_of(usage, "output_tokens");
    return rc != 0 || r->assistant == NULL ? symbi_err_set(err, SYMBI_ENOMEM, "out of memory") : 0;
}

int symbi_agent__model_parse(enum symbi_model_api api, const char *body, size_t len,
                             struct symbi_model_reply *r, struct symbi_err *err)
{
    memset(r, 0, sizeof *r);
    r->prompt_tokens = r->completion_tokens = -1;
    json_error_t je;
    json_t *root = json_loadb(body, len, 0, &je);
    if (!json_is_object(root)) {
        json_decref(root);
        return symbi_err_set(err, SYMBI_EINVAL, "the answer is not a JSON object (%s)", je.text);
    }
    struct symbi_buf text;
    symbi_buf_init(&text, 0);
    int rc = api == SYMBI_MODEL_ANTHROPIC ? parse_anthropic(root, r, &text, err)
                                          : parse_openai(root, r, &text, err);
    json_decref(root);
    if (rc == 0 && (r->text = symbi_buf_steal(&text)) == NULL)
        rc = symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    symbi_buf_cleanup(&text);
    if (rc != 0)
        symbi_agent__model_reply_cleanup(r);
    return rc;
}

int symbi_agent__model_add_results(struct symbi_model_conv *c, const struct symbi_model_reply *r,
                                   const struct symbi_model_tool_reply *results, size_t n)
{
    if (json_array_append(c->messages, r->assistant) != 0)
        return SYMBI_ENOMEM;
    if (c->api == SYMBI_MODEL_OPENAI) {
        for (size_t i = 0; i < n; i++) {
            json_t *m = json_pack("{s:s, s:s, s:o}", "role", "tool", "tool_call_id", results[i].id,
                                  "content", symbi_agent__model_text(results[i].text));
            if (m == NULL || json_array_append_new(c->messages, m) != 0)
                return SYMBI_ENOMEM;
        }
        return 0;
    }
    json_t *blocks = json_array();
    for (size_t i = 0; blocks != NULL && i < n; i++) {
        json_t *b = json_pack("{s:s, s:s, s:o}", "type", "tool_result", "tool_use_id",
                              results[i].id, "content", symbi_agent__model_text(results[i].text));
        if (b != NULL && results[i].is_error)
            json_object_set_new(b, "is_error", json_true());
        if (b == NULL || json_array_append_new(blocks, b) != 0) {
            json_decref(blocks);
            return SYMBI_ENOMEM;
        }
    }
    json_t *m = blocks != NULL ? json_pack("{s:s, s:o}", "role", "user", "content", blocks) : NULL;
    return m != NULL && json_array_append_new(c->messages, m) == 0 ? 0 : SYMBI_ENOMEM;
}
