/* build_agent.c - turns parsed `agent` blocks into struct symbi_agent_def:
 * one table row per key (SPEC §2.3), one runner, then the shared validation. */
#include "dsl/build_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- agent keys ---- */
enum agent_key {
    A_NAME,
    A_COMMAND,
    A_EXEC,
    A_MODEL,
    A_BUILTIN,
    A_SYSTEM_PROMPT,
    A_CAPABILITIES,
    A_ENV,
    A_WORKDIR,
    A_TIMEOUT,
    A_ENDPOINT,
    A_API_KEY_ENV,
    A_TEMPERATURE,
    A_MAX_TOKENS,
    A_API,
    A_TOOLS,
    A_MAX_TOOL_CALLS,
    A_SANDBOX,
    A_COUNT
};

static const struct key_def agent_keys[A_COUNT] = {
    [A_NAME] = {"name", K_STRING},
    [A_COMMAND] = {"command", K_STRING},
    [A_EXEC] = {"exec", K_STR_ARRAY},
    [A_MODEL] = {"model", K_STRING},
    [A_BUILTIN] = {"builtin", K_STRING},
    [A_SYSTEM_PROMPT] = {"system_prompt", K_STRING},
    [A_CAPABILITIES] = {"capabilities", K_STR_ARRAY},
    [A_ENV] = {"env", K_STR_MAP},
    [A_WORKDIR] = {"workdir", K_STRING},
    [A_TIMEOUT] = {"timeout", K_DURATION},
    [A_ENDPOINT] = {"endpoint", K_STRING},
    [A_API_KEY_ENV] = {"api_key_env", K_STRING},
    [A_TEMPERATURE] = {"temperature", K_NUMBER},
    [A_MAX_TOKENS] = {"max_tokens", K_INT},
    [A_API] = {"api", K_STRING},
    [A_TOOLS] = {"tools", K_MAP},
    [A_MAX_TOOL_CALLS] = {"max_tool_calls", K_INT},
    [A_SANDBOX] = {"sandbox", K_MAP},
};

void dsl_build_agent(struct dsl_parser *p, const struct dsl_block *b, bool dup)
{
    struct bctx c = {p, b, "agent", b->bad || dup ? 1 : 0};
    struct symbi_agent_def a;
    symbi_agent_def_init(&a);
    const struct dsl_entry *seen[A_COUNT] = {0};
    const struct dsl_entry *runner = NULL;
    for (const struct dsl_entry *e = b->entries; e != NULL && !p->oom; e = e->next) {
        int k = dsl_find_key(&c, e, agent_keys, A_COUNT, "agent");
        if (k < 0 || dsl_dup_key(&c, e, &seen[k], agent_keys[k].name))
            continue;
        const struct key_def *kd = &agent_keys[k];
        struct conv cv;
        if (k == A_COMMAND || k == A_EXEC || k == A_MODEL || k == A_BUILTIN) {
            if (runner != NULL) {
                dsl_berr(&c, e->line, e->col,
                         "the agent names two runners (`%s` and `%s`); give exactly one",
                         dsl_key_text(&c, runner->key, runner->klen), kd->name);
                continue;
            }
            runner = e;
        }
        if (!dsl_convert(&c, e, kd->name, kd->type, &cv))
            continue;
        switch ((enum agent_key)k) {
        case A_NAME:
            a.name = cv.str;
            break;
        case A_COMMAND:
            a.command = cv.str;
            a.runner = SYMBI_RUNNER_COMMAND;
            break;
        case A_EXEC:
            a.exec = cv.str;
            a.runner = SYMBI_RUNNER_EXEC;
            break;
        case A_MODEL:
            a.model = cv.str;
            a.runner = SYMBI_RUNNER_MODEL;
            break;
        case A_BUILTIN:
            a.builtin = cv.str;
            a.runner = SYMBI_RUNNER_BUILTIN;
            break;
        case A_SYSTEM_PROMPT:
            a.system_prompt = cv.str;
            break;
        case A_CAPABILITIES:
            a.capabilities = cv.str;
            break;
        case A_ENV:
            a.env = cv.str;
            break;
        case A_WORKDIR:
            a.workdir = cv.str;
            break;
        case A_TIMEOUT:
            a.timeout_ms = cv.i;
            break;
        case A_ENDPOINT:
            a.endpoint = cv.str;
            break;
        case A_API_KEY_ENV:
            a.api_key_env = cv.str;
            break;
        case A_TEMPERATURE:
            if (cv.d < 0 || cv.d > 2)
                dsl_berr(&c, e->value->line, e->value->col, "temperature: must be between 0 and 2");
            a.temperature = cv.d;
            break;
        case A_MAX_TOKENS:
            if (cv.i < 1)
                dsl_berr(&c, e->value->line, e->value->col, "max_tokens: must be at least 1");
            a.max_tokens = (int)cv.i;
            break;
        case A_API:
            a.api = cv.str;
            break;
        case A_TOOLS:
            a.tools = cv.str;
            break;
        case A_MAX_TOOL_CALLS:
            if (cv.i < 1 || cv.i > SYMBI_AGENT_MAX_TOOL_CALLS)
                dsl_berr(&c, e->value->line, e->value->col,
                         "max_tool_calls: must be between 1 and %d", SYMBI_AGENT_MAX_TOOL_CALLS);
            a.max_tool_calls = (int)cv.i;
            break;
        case A_SANDBOX:
            a.sandbox = cv.str;
            break;
        case A_COUNT:
            free(cv.str);
            break;
        }
    }
    if (b->name != NULL) {
        if (seen[A_NAME] != NULL)
            dsl_berr(&c, seen[A_NAME]->line, seen[A_NAME]->col,
                     "the agent is named twice: `agent %.*s` and `name`", (int)b->nlen, b->name);
        else if ((a.name = symbi_strndup(b->name, b->nlen)) == NULL)
            p->oom = true;
    } else if (seen[A_NAME] == NULL && c.errors == 0) {
        dsl_berr(&c, b->line, b->col, "agent has no name: write `agent NAME {`");
    }
    if (c.errors == 0 && !p->oom && runner == NULL && !b->upstream)
        dsl_berr(&c, b->line, b->col,
                 "agent `%s` names no runner: give one of `command`, `exec`, `model` or `builtin`",
                 a.name);
    if (c.errors == 0 && !p->oom) {
        struct symbi_err err;
        int vrc = symbi_agent_def_validate(&a, b->upstream, &err);
        if (vrc == SYMBI_ENOMEM) {
            p->oom = true; /* not the file's fault: SYMBI_ENOMEM, no diagnostic */
        } else if (vrc != 0) {
            /* the message starts with the field name */
            char field[32];
            size_t n = strcspn(err.msg, ":");
            snprintf(field, sizeof field, "%.*s", (int)(n < 31 ? n : 31), err.msg);
            int line, col;
            dsl_field_pos(b, field, &line, &col);
            dsl_berr(&c, line, col, "%s", err.msg);
        }
    }
    if (c.errors == 0 && !p->oom && (a.source = dsl_source_of(p)) != NULL &&
        dsl_push_agent(p->out, &a) == 0)
        return;
    if (c.errors == 0)
        p->oom = true;
    symbi_agent_def_cleanup(&a);
}
