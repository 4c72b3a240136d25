/* test_agent_model.c - unit tests of the model runner's pure half: request
 * bodies from the agent, the session context and the input (both APIs),
 * answer parsing (text, tool calls, usage), tool results, Retry-After. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "agent/model_int.h"

#include <stdlib.h>
#include <string.h>

/* 2026-03-01T09:00:00Z */
#define T0 1772355600000LL

static void assert_json(const json_t *got, const char *want_text)
{
    json_error_t je;
    json_t *want = json_loads(want_text, 0, &je);
    if (want == NULL)
        fail_msg("bad expected JSON: %s", je.text);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_COMPACT);
        print_error("got:  %s\nwant: %s\n", g, want_text);
        free(g);
        json_decref(want);
        fail();
    }
    json_decref(want);
}

static struct symbi_agent_def mkagent(const char *api)
{
    struct symbi_agent_def a;
    symbi_agent_def_init(&a);
    a.name = symbi_strdup("m");
    a.runner = SYMBI_RUNNER_MODEL;
    a.model = symbi_strdup("gpt-x");
    a.system_prompt = symbi_strdup("You are terse.");
    a.api = api != NULL ? symbi_strdup(api) : NULL;
    return a;
}

static json_t *body_of(const struct symbi_agent_def *a, const char *ctx, const char *input)
{
    enum symbi_model_api api;
    assert_int_equal(symbi_agent__model_api(a->api, &api), 0);
    struct symbi_model_conv c;
    struct symbi_err err;
    assert_int_equal(
        symbi_agent__model_conv_start(&c, api, a->system_prompt, ctx, "job1", input, &err), 0);
    json_t *b = symbi_agent__model_body(&c, a, a->tools);
    symbi_agent__model_conv_cleanup(&c);
    assert_non_null(b);
    return b;
}

static void test_input_text(void **state)
{
    (void)state;
    char *s = symbi_agent__model_input_text("check disk", "job1", T0);
    assert_string_equal(s, "check disk");
    free(s);
    s = symbi_agent__model_input_text(NULL, "job1", T0);
    assert_string_equal(s, "Scheduled run of job1 at 2026-03-01T09:00:00Z");
    free(s);
    s = symbi_agent__model_input_text("", "job1", T0 + 250);
    assert_string_equal(s, "Scheduled run of job1 at 2026-03-01T09:00:00.250Z");
    free(s);
}

static void test_api_names(void **state)
{
    (void)state;
    enum symbi_model_api api = SYMBI_MODEL_ANTHROPIC;
    assert_int_equal(symbi_agent__model_api(NULL, &api), 0);
    assert_int_equal(api, SYMBI_MODEL_OPENAI);
    assert_int_equal(symbi_agent__model_api("anthropic", &api), 0);
    assert_int_equal(api, SYMBI_MODEL_ANTHROPIC);
    assert_int_equal(symbi_agent__model_api("gemini", &api), SYMBI_EINVAL);
}

static void test_openai_no_context(void **state)
{
    (void)state;
    struct symbi_agent_def a = mkagent(NULL);
    a.temperature = 0.5;
    a.max_tokens = 100;
    json_t *b = body_of(&a, NULL, "hello");
    assert_json(b, "{\"model\":\"gpt-x\",\"messages\":[{\"role\":\"system\",\"content\":\"You are "
                   "terse.\"},{\"role\":\"user\",\"content\":\"hello\"}],\"max_tokens\":100,"
                   "\"temperature\":0.5}");
    json_decref(b);
    /* no system prompt, no temperature or max_tokens: none sent */
    free(a.system_prompt);
    a.system_prompt = NULL;
    a.temperature = -1;
    a.max_tokens = 0;
    b = body_of(&a, "{\"mode\":\"fully_ephemeral\",\"summary\":null,\"history\":[]}", "hi");
    assert_json(b, "{\"model\":\"gpt-x\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    json_decref(b);
    symbi_agent_def_cleanup(&a);
}

static void test_anthropic_no_context(void **state)
{
    (void)state;
    struct symbi_agent_def a = mkagent("anthropic");
    json_t *b = body_of(&a, NULL, "hello");
    assert_json(b, "{\"model\":\"gpt-x\",\"max_tokens\":4096,\"system\":\"You are terse.\","
                   "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}");
    json_decref(b);
    a.max_tokens = 50;
    a.temperature = 0;
    free(a.system_prompt);
    a.system_prompt = NULL;
    b = body_of(&a, NULL, "hello");
    assert_json(b, "{\"model\":\"gpt-x\",\"max_tokens\":50,\"temperature\":0.0,"
                   "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}");
    json_decref(b);
    symbi_agent_def_cleanup(&a);
}

static const char summary_ctx[] =
    "{\"mode\":\"ephemeral_with_summary\",\"summary\":\"disk at 91%\",\"history\":[]}";

static void test_summary_as_system_note(void **state)
{
    (void)state;
    struct symbi_agent_def a = mkagent(NULL);
    json_t *b = body_of(&a, summary_ctx, "again");
    assert_json(b, "{\"model\":\"gpt-x\",\"messages\":["
                   "{\"role\":\"system\",\"content\":\"You are terse.\"},"
                   "{\"role\":\"system\",\"content\":\"Summary of the previous run: disk at 91%\"},"
                   "{\"role\":\"user\",\"content\":\"again\"}]}");
    json_decref(b);
    symbi_agent_def_cleanup(&a);
    a = mkagent("anthropic");
    b = body_of(&a, summary_ctx, "again");
    assert_json(b, "{\"model\":\"gpt-x\",\"max_tokens\":4096,\"system\":\"You are terse.\\n\\n"
                   "Summary of the previous run: disk at 91%\",\"messages\":["
                   "{\"role\":\"user\",\"content\":\"again\"}]}");
    json_decref(b);
    symbi_agent_def_cleanup(&a);
}

static const char history_ctx[] =
    "{\"mode\":\"shared_persistent\",\"summary\":null,\"history\":["
    "{\"at\":\"2026-03-01T08:00:00Z\",\"input\":\"first\",\"output\":\"one\"},"
    "{\"at\":\"2026-03-01T08:30:00Z\",\"input\":null,\"output\":\"\"},"
    "42]}";

static void test_history_as_turns(void **state)
{
    (void)state;
    const char *turns = "{\"role\":\"user\",\"content\":\"first\"},"
                        "{\"role\":\"assistant\",\"content\":\"one\"},"
                        "{\"role\":\"user\",\"content\":\"Scheduled run of job1 at "
                        "2026-03-01T08:30:00Z\"},"
                        "{\"role\":\"assistant\",\"content\":\"(no output)\"},"
                        "{\"role\":\"user\",\"content\":\"third\"}";
    char want[2048];
    struct symbi_agent_def a = mkagent(NULL);
    json_t *b = body_of(&a, history_ctx, "third");
    snprintf(want, sizeof want,
             "{\"model\":\"gpt-x\",\"messages\":[{\"role\":\"system\",\"content\":\"You are "
             "terse.\"},%s]}",
             turns);
    assert_json(b, want);
    json_decref(b);
    symbi_agent_def_cleanup(&a);
    a = mkagent("anthropic");
    b = body_of(&a, history_ctx, "third");
    snprintf(want, sizeof want,
             "{\"model\":\"gpt-x\",\"max_tokens\":4096,\"system\":\"You are terse.\","
             "\"messages\":[%s]}",
             turns);
    assert_json(b, want);
    json_decref(b);
    symbi_agent_def_cleanup(&a);
}

/* the mode decides what carries over, whatever else the context holds */
static void test_mode_selects_carry_over(void **state)
{
    (void)state;
    struct symbi_agent_def a = mkagent(NULL);
    json_t *b =
        body_of(&a,
                "{\"mode\":\"shared_persistent\",\"summary\":\"one\",\"history\":"
                "[{\"at\":\"2026-03-01T08:00:00Z\",\"input\":\"first\",\"output\":\"one\"}]}",
                "second");
    assert_json(b,
                "{\"model\":\"gpt-x\",\"messages\":[{\"role\":\"system\",\"content\":\"You "
                "are terse.\"},{\"role\":\"user\",\"content\":\"first\"},{\"role\":"
                "\"assistant\",\"content\":\"one\"},{\"role\":\"user\",\"content\":\"second\"}]}");
    json_decref(b);
    b = body_of(&a,
                "{\"mode\":\"ephemeral_with_summary\",\"summary\":\"one\",\"history\":"
                "[{\"at\":\"2026-03-01T08:00:00Z\",\"input\":\"first\",\"output\":\"one\"}]}",
                "second");
    assert_json(b, "{\"model\":\"gpt-x\",\"messages\":[{\"role\":\"system\",\"content\":\"You "
                   "are terse.\"},{\"role\":\"system\",\"content\":\"Summary of the previous run: "
                   "one\"},{\"role\":\"user\",\"content\":\"second\"}]}");
    json_decref(b);
    b = body_of(&a,
                "{\"mode\":\"fully_ephemeral\",\"summary\":\"one\",\"history\":"
                "[{\"at\":\"2026-03-01T08:00:00Z\",\"input\":\"first\",\"output\":\"one\"}]}",
                "second");
    assert_json(b, "{\"model\":\"gpt-x\",\"messages\":[{\"role\":\"system\",\"content\":\"You "
                   "are terse.\"},{\"role\":\"user\",\"content\":\"second\"}]}");
    json_decref(b);
    symbi_agent_def_cleanup(&a);
}

static void test_bad_context(void **state)
{
    (void)state;
    struct symbi_model_conv c;
    struct symbi_err err;
    const char *bad[] = {"[1,2]", "not json", "{\"history\":\"x\"}"};
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(bad); i++) {
        assert_int_equal(
            symbi_agent__model_conv_start(&c, SYMBI_MODEL_OPENAI, NULL, bad[i], "j", "x", &err),
            SYMBI_EINVAL);
        assert_non_null(strstr(err.msg, "session context"));
    }
}

static const char tools_decl[] =
    "{\"restart_service\":{\"description\":\"Restart one service\",\"exec\":[\"/bin/true\"],"
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}},"
    "\"required\":[\"name\"]}},\"uptime\":{\"command\":\"uptime\"}}";

static void test_tools_in_body(void **state)
{
    (void)state;
    struct symbi_agent_def a = mkagent(NULL);
    a.tools = symbi_strdup(tools_decl);
    json_t *b = body_of(&a, NULL, "x");
    assert_json(json_object_get(b, "tools"),
                "[{\"type\":\"function\",\"function\":{\"name\":\"restart_service\","
                "\"description\":\"Restart one service\",\"parameters\":{\"type\":\"object\","
                "\"properties\":{\"name\":{\"type\":\"string\"}},\"required\":[\"name\"]}}},"
                "{\"type\":\"function\",\"function\":{\"name\":\"uptime\",\"parameters\":"
                "{\"type\":\"object\",\"properties\":{}}}}]");
    json_decref(b);
    symbi_agent_def_cleanup(&a);
    a = mkagent("anthropic");
    a.tools = symbi_strdup(tools_decl);
    b = body_of(&a, NULL, "x");
    assert_json(json_object_get(b, "tools"),
                "[{\"name\":\"restart_service\",\"description\":\"Restart one service\","
                "\"input_schema\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":"
                "\"string\"}},\"required\":[\"name\"]}},{\"name\":\"uptime\",\"input_schema\":"
                "{\"type\":\"object\",\"properties\":{}}}]");
    json_decref(b);
    symbi_agent_def_cleanup(&a);
}

static void parse_ok(enum symbi_model_api api, const char *body, struct symbi_model_reply *r)
{
    struct symbi_err err;
    int rc = symbi_agent__model_parse(api, body, strlen(body), r, &err);
    if (rc != 0)
        fail_msg("parse: %s", err.msg);
}

static void test_parse_openai(void **state)
{
    (void)state;
    struct symbi_model_reply r;
    parse_ok(SYMBI_MODEL_OPENAI,
             "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"all good\\nsleep\","
             "\"refusal\":null}}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3}}",
             &r);
    assert_string_equal(r.text, "all good\nsleep");
    assert_int_equal(r.n_calls, 0);
    assert_int_equal(r.prompt_tokens, 12);
    assert_int_equal(r.completion_tokens, 3);
    assert_json(r.assistant, "{\"role\":\"assistant\",\"content\":\"all good\\nsleep\"}");
    symbi_agent__model_reply_cleanup(&r);

    parse_ok(SYMBI_MODEL_OPENAI,
             "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
             "[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"restart_service\","
             "\"arguments\":\"{\\\"name\\\":\\\"nginx\\\"}\"}}]}}]}",
             &r);
    assert_string_equal(r.text, "");
    assert_int_equal(r.n_calls, 1);
    assert_string_equal(r.calls[0].id, "c1");
    assert_string_equal(r.calls[0].name, "restart_service");
    assert_string_equal(r.calls[0].arguments, "{\"name\":\"nginx\"}");
    assert_int_equal(r.prompt_tokens, -1);
    assert_json(r.assistant,
                "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
                "\"c1\",\"type\":\"function\",\"function\":{\"name\":"
                "\"restart_service\",\"arguments\":\"{\\\"name\\\":\\\"nginx\\\"}\"}}]}");
    symbi_agent__model_reply_cleanup(&r);

    /* content as an array of text parts (some compatible servers) */
    parse_ok(SYMBI_MODEL_OPENAI,
             "{\"choices\":[{\"message\":{\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
             "{\"type\":\"text\",\"text\":\"b\"}]}}]}",
             &r);
    assert_string_equal(r.text, "ab");
    symbi_agent__model_reply_cleanup(&r);

    struct symbi_err err;
    const char *bad[] = {"{\"choices\":[]}", "{\"error\":{\"message\":\"x\"}}", "[]", "nope"};
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(bad); i++)
        assert_int_equal(
            symbi_agent__model_parse(SYMBI_MODEL_OPENAI, bad[i], strlen(bad[i]), &r, &err),
            SYMBI_EINVAL);
}

static void test_parse_anthropic(void **state)
{
    (void)state;
    struct symbi_model_reply r;
    parse_ok(SYMBI_MODEL_ANTHROPIC,
             "{\"type\":\"message\",\"content\":[{\"type\":\"text\",\"text\":\"Restarting.\"},"
             "{\"type\":\"tool_use\",\"id\":\"tu1\",\"name\":\"restart_service\",\"input\":"
             "{\"name\":\"nginx\"}}],\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":30,"
             "\"output_tokens\":6}}",
             &r);
    assert_string_equal(r.text, "Restarting.");
    assert_int_equal(r.n_calls, 1);
    assert_string_equal(r.calls[0].id, "tu1");
    assert_string_equal(r.calls[0].arguments, "{\"name\":\"nginx\"}");
    assert_int_equal(r.prompt_tokens, 30);
    assert_int_equal(r.completion_tokens, 6);
    assert_json(r.assistant, "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":"
                             "\"Restarting.\"},{\"type\":\"tool_use\",\"id\":\"tu1\",\"name\":"
                             "\"restart_service\",\"input\":{\"name\":\"nginx\"}}]}");
    symbi_agent__model_reply_cleanup(&r);
    struct symbi_err err;
    const char *bad = "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}";
    assert_int_equal(symbi_agent__model_parse(SYMBI_MODEL_ANTHROPIC, bad, strlen(bad), &r, &err),
                     SYMBI_EINVAL);
    assert_non_null(strstr(err.msg, "content"));
}

static void test_tool_results(void **state)
{
    (void)state;
    struct symbi_err err;
    for (int api = 0; api < 2; api++) {
        struct symbi_model_conv c;
        assert_int_equal(symbi_agent__model_conv_start(&c, (enum symbi_model_api)api, NULL, NULL,
                                                       "j", "go", &err),
                         0);
        struct symbi_model_reply r;
        parse_ok((enum symbi_model_api)api,
                 api == 0 ? "{\"choices\":[{\"message\":{\"content\":null,\"tool_calls\":[{\"id\":"
                            "\"a\",\"function\":{\"name\":\"t\",\"arguments\":\"{}\"}},{\"id\":"
                            "\"b\",\"function\":{\"name\":\"u\",\"arguments\":\"{}\"}}]}}]}"
                          : "{\"content\":[{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"t\","
                            "\"input\":{}},{\"type\":\"tool_use\",\"id\":\"b\",\"name\":\"u\","
                            "\"input\":{}}]}",
                 &r);
        struct symbi_model_tool_reply res[2] = {{"a", "fine\n", false},
                                                {"b", "error: unknown tool", true}};
        assert_int_equal(symbi_agent__model_add_results(&c, &r, res, 2), 0);
        if (api == 0)
            assert_json(c.messages,
                        "[{\"role\":\"user\",\"content\":\"go\"},{\"role\":\"assistant\","
                        "\"content\":null,\"tool_calls\":[{\"id\":\"a\",\"function\":{\"name\":"
                        "\"t\",\"arguments\":\"{}\"}},{\"id\":\"b\",\"function\":{\"name\":\"u\","
                        "\"arguments\":\"{}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"a\","
                        "\"content\":\"fine\\n\"},{\"role\":\"tool\",\"tool_call_id\":\"b\","
                        "\"content\":\"error: unknown tool\"}]");
        else
            assert_json(c.messages,
                        "[{\"role\":\"user\",\"content\":\"go\"},{\"role\":\"assistant\","
                        "\"content\":[{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"t\","
                        "\"input\":{}},{\"type\":\"tool_use\",\"id\":\"b\",\"name\":\"u\","
                        "\"input\":{}}]},{\"role\":\"user\",\"content\":[{\"type\":"
                        "\"tool_result\",\"tool_use_id\":\"a\",\"content\":\"fine\\n\"},{\"type\":"
                        "\"tool_result\",\"tool_use_id\":\"b\",\"content\":\"error: unknown "
                        "tool\",\"is_error\":true}]}]");
        symbi_agent__model_reply_cleanup(&r);
        symbi_agent__model_conv_cleanup(&c);
    }
}

static void test_retry_after(void **state)
{
    (void)state;
    assert_int_equal(symbi_agent__model_retry_after(" 1\r\n", T0), 1000);
    assert_int_equal(symbi_agent__model_retry_after("0", T0), 0);
    /* 2026-03-01T09:00:30Z as an HTTP date, 30 s after T0 */
    assert_int_equal(symbi_agent__model_retry_after("Sun, 01 Mar 2026 09:00:30 GMT\r\n", T0),
                     30000);
    assert_int_equal(symbi_agent__model_retry_after("Sun, 01 Mar 2026 08:00:00 GMT", T0), 0);
    assert_int_equal(symbi_agent__model_retry_after("soon", T0), -1);
    assert_int_equal(symbi_agent__model_retry_after("-5", T0), -1);
    assert_int_equal(symbi_agent__model_retry_after("", T0), -1);
}

static void test_text_not_utf8(void **state)
{
    (void)state;
    json_t *v = symbi_agent__model_text("ok \xff\xfe end");
    assert_non_null(v);
    assert_string_equal(json_string_value(v), "ok \xEF\xBF\xBD\xEF\xBF\xBD end");
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_input_text),
        cmocka_unit_test(test_api_names),
        cmocka_unit_test(test_openai_no_context),
        cmocka_unit_test(test_anthropic_no_context),
        cmocka_unit_test(test_summary_as_system_note),
        cmocka_unit_test(test_history_as_turns),
        cmocka_unit_test(test_mode_selects_carry_over),
        cmocka_unit_test(test_bad_context),
        cmocka_unit_test(test_tools_in_body),
        cmocka_unit_test(test_parse_openai),
        cmocka_unit_test(test_parse_anthropic),
        cmocka_unit_test(test_tool_results),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_text_not_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
