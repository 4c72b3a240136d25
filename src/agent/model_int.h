/* model_int.h - private interface between the model runner's files: the pure
 * request building and answer parsing (model_msg.c), HTTP (model_http.c) and
 * tool calls (model_tools.c). */
#ifndef SYMBI_AGENT_MODEL_INT_H
#define SYMBI_AGENT_MODEL_INT_H

#include "agent/agent_int.h"

#include <jansson.h>

#define SYMBI_MODEL_RESPONSE_MAX      (4 * 1024 * 1024) /* bytes of one HTTP answer */
#define SYMBI_MODEL_EXCERPT_MAX       512               /* of an error body */
#define SYMBI_MODEL_TOOL_OUTPUT_MAX   (64 * 1024)       /* a tool's stdout kept */
#define SYMBI_MODEL_TOOL_REPLY_MAX    (16 * 1024)       /* of it sent to the model */
#define SYMBI_MODEL_TOOL_RECORD_MAX   2048              /* of it kept in the run record */
#define SYMBI_MODEL_DEFAULT_TIMEOUT   (10 * 60 * 1000)  /* ms, without max_runtime */
#define SYMBI_MODEL_ANTHROPIC_TOKENS  4096              /* max_tokens when unset (required) */
#define SYMBI_MODEL_ANTHROPIC_VERSION "2023-06-01"
#define SYMBI_MODEL_MAX_ATTEMPTS      4     /* one try and three retries on 429/5xx */
#define SYMBI_MODEL_RETRY_WAIT_MAX    60000 /* ms: a longer Retry-After is not waited for */

enum symbi_model_api {
    SYMBI_MODEL_OPENAI = 0, /* POST {endpoint}/chat/completions */
    SYMBI_MODEL_ANTHROPIC,  /* POST {endpoint}/v1/messages */
};

/* The model runner (model.c), registered by symbi_agent_model_install. */
int symbi_agent__model_run(const struct symbi_agent_request *req, struct symbi_agent_result *res,
                           struct symbi_err *err);

/* A JSON string of s; bytes that are not UTF-8 become U+FFFD. NULL: OOM. */
json_t *symbi_agent__model_text(const char *s);

/* "openai" (or NULL) / "anthropic"; SYMBI_EINVAL otherwise. */
int symbi_agent__model_api(const char *name, enum symbi_model_api *out);

/* A conversation: the system text and summary note (placed per API) and
 * the messages that follow them. */
struct symbi_model_conv {
    enum symbi_model_api api;
    char *system; /* the system prompt; NULL: none */
    char *note;   /* the session summary as a system note; NULL: none */
    json_t *messages;
};
void symbi_agent__model_conv_cleanup(struct symbi_model_conv *c);

/* The user turn of an invocation: the input, or "Scheduled run of <job> at
 * <time>" when there is none. Heap; NULL on OOM. */
char *symbi_agent__model_input_text(const char *input, const char *job, int64_t scheduled_at);

/* Starts a conversation (SPEC §6.3): the system prompt, the context's
 * summary as a system note (mode ephemeral_with_summary), its history as
 * alternating user/assistant turns (mode shared_persistent; a context
 * without a mode gives both), then the user turn `input_text`. context_json may be NULL; a
 * context that is not the documented JSON is SYMBI_EINVAL with err. */
int symbi_agent__model_conv_start(struct symbi_model_conv *c, enum symbi_model_api api,
                                  const char *system_prompt, const char *context_json,
                                  const char *job, const char *input_text, struct symbi_err *err);

/* The request body for the conversation so far: model, messages (and
 * system), temperature, max_tokens, tools (tools_json: the agent's
 * declared tools, NULL: none). New reference; NULL on OOM. */
json_t *symbi_agent__model_body(const struct symbi_model_conv *c, const struct symbi_agent_def *a,
                                const char *tools_json);

/* One tool call the model asked for. */
struct symbi_model_call {
    char *id;
    char *name;
    char *arguments; /* JSON text as the model sent it (OpenAI) or compact (Anthropic) */
};

/* A parsed answer. */
struct symbi_model_reply {
    char *text;        /* the answer's text (never NULL after a parse) */
    json_t *assistant; /* the assistant turn to send back with tool results */
    struct symbi_model_call *calls;
    size_t n_calls;
    int64_t prompt_tokens; /* -1: not reported */
    int64_t completion_tokens;
};
void symbi_agent__model_reply_cleanup(struct symbi_model_reply *r);

/* Parses an answer body of the API; SYMBI_EINVAL with err ("no choices in
 * the answer", ...) when it is not a usable answer. */
int symbi_agent__model_parse(enum symbi_model_api api, const char *body, size_t len,
                             struct symbi_model_reply *r, struct symbi_err *err);

/* What a tool call gave, for the model. */
struct symbi_model_tool_reply {
    const char *id;
    const char *text;
    bool is_error;
};

/* Appends the reply's assistant turn and the tool results to the
 * conversation. 0 or SYMBI_ENOMEM. */
int symbi_agent__model_add_results(struct symbi_model_conv *c, const struct symbi_model_reply *r,
                                   const struct symbi_model_tool_reply *results, size_t n);

/* ---- HTTP (model_http.c) ---- */
enum symbi_model_http_outcome {
    SYMBI_MODEL_HTTP_OK = 0,    /* an answer (any status) was read */
    SYMBI_MODEL_HTTP_TIMEOUT,   /* the deadline passed */
    SYMBI_MODEL_HTTP_TOO_BIG,   /* the answer passed SYMBI_MODEL_RESPONSE_MAX */
    SYMBI_MODEL_HTTP_CANCELLED, /* the scheduler's cancel token fired */
    SYMBI_MODEL_HTTP_ERROR,     /* connection or protocol error (msg) */
};

struct symbi_model_http {
    void *curl;    /* CURL *, reused across the calls of one invocation */
    void *headers; /* struct curl_slist * */
    struct symbi_agent_cancel *cancel;
    struct symbi_buf body;  /* the last answer */
    long status;            /* its HTTP status */
    int64_t retry_after_ms; /* its Retry-After, -1: none */
    char msg[256];          /* SYMBI_MODEL_HTTP_ERROR: what happened */
};

/* Prepares a client with the API's headers; the key (may be NULL) is
 * copied into the header list only and wiped at cleanup. 0 or
 * SYMBI_ENOMEM. */
int symbi_agent__model_http_init(struct symbi_model_http *h, enum symbi_model_api api,
                                 const char *key, struct symbi_agent_cancel *cancel);
void symbi_agent__model_http_cleanup(struct symbi_model_http *h);
/* POSTs body to url, the whole exchange bounded by the monotonic
 * deadline_ms. */
enum symbi_model_http_outcome symbi_agent__model_http_post(struct symbi_model_http *h,
                                                           const char *url, const char *body,
                                                           size_t len, int64_t deadline_ms);
/* Parses a Retry-After value (seconds, or an HTTP date against now_wall);
 * -1 when it is neither. */
int64_t symbi_agent__model_retry_after(const char *value, int64_t now_wall_ms);

/* ---- tools (model_tools.c) ---- */
/* Runs the call against the agent's declared tools (a JSON object text;
 * NULL: none): a declared one through the process runner with the
 * arguments on stdin, bounded by the monotonic deadline; an undeclared
 * name or arguments that are not a JSON object run nothing. Appends the
 * record entry to `record` and sets *reply (heap) and *is_error for the
 * model; *timed_out when the deadline ended the tool. 0 or SYMBI_ENOMEM. */
int symbi_agent__model_tool_call(const struct symbi_agent_request *req, const json_t *tools,
                                 const struct symbi_model_call *call, int64_t deadline_ms,
                                 json_t *record, char **reply, bool *is_error, bool *timed_out);

#endif
