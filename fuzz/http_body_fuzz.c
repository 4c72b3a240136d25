/* http_body_fuzz.c - fuzzes every JSON body the HTTP API decodes: each
 * route of the table that takes a body (job create and update, guide's and
 * upstream's; pause, resume, reset; run and trigger; backfill; approve and
 * deny) runs its real handler on the input's body, as server.c's dispatch
 * does after its depth scan and parse, against a real SQLite store seeded
 * with a job that needs approval and a run awaiting it. Each input runs
 * inside a store transaction that is rolled back, so inputs do not see one
 * another. Invariants: every request gets exactly one answer, never a 5xx,
 * and a JSON answer serialises.
 * Input: byte 0 picks the route (modulo the body routes), byte 1 the
 * target (bit 0: an unknown id instead of the seeded one; bit 1: the
 * job's name instead of its id) and the caller (bit 2: an API key's actor
 * instead of the protected-mode "local"); the rest is the body (empty: no
 * body, as a request without one). */
#include "http/http_internal.h"
#include "symbi/json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW 1767225600000LL /* 2026-01-01T00:00:00Z */

static struct symbi_http_server *srv;
static struct symbi_store *st;
static char dir[64] = "/tmp/symbi-body-fuzz-XXXXXX", db[96];
static char job_id[SYMBI_UUID_LEN + 1], run_id[SYMBI_UUID_LEN + 1];
static const struct http_route *body_routes[64];
static size_t n_body_routes;

static void teardown(void)
{
    symbi_http_stop(srv); /* closes this thread's store handle too */
    char path[128];
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(suffix); i++) {
        snprintf(path, sizeof path, "%s%s", db, suffix[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void run_handler(const struct http_route *rt, const char *param, const char *actor,
                        json_t *body, struct http_req *r)
{
    memset(r, 0, sizeof *r);
    r->srv = srv;
    r->method = rt->method;
    r->url = rt->pattern;
    r->params[0] = param;
    r->n_params = strstr(rt->pattern, "{}") != NULL ? 1 : 0;
    r->json = body;
    r->actor = actor;
    r->now = FUZZ_NOW;
    rt->fn(r);
}

static void end_request(struct http_req *r)
{
    json_decref(r->out);
    json_decref(r->json);
    free(r->text);
}

static void setup(void)
{
    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(db, sizeof db, "%s/store.db", dir);
    struct symbi_http_config cfg = {
        .listen = "127.0.0.1:0", .store_url = db, .mode = SYMBI_HTTP_EPOLL, .threads = 1};
    struct symbi_err err = {0};
    if (symbi_http_start(&cfg, &srv, &err) != 0) {
        fprintf(stderr, "http_body_fuzz: %s\n", err.msg);
        abort();
    }
    atexit(teardown);
    for (size_t i = 0; i < http_n_routes && n_body_routes < SYMBI_ARRAY_LEN(body_routes); i++)
        if (http_routes[i].has_body)
            body_routes[n_body_routes++] = &http_routes[i];
    /* the seeded job, created through the API's own route */
    const struct http_route *create = NULL;
    for (size_t i = 0; i < http_n_routes; i++)
        if (http_routes[i].fn == http_h_schedule_create)
            create = &http_routes[i];
    struct http_req r;
    json_t *j = json_loads("{\"name\":\"fz\",\"agent_id\":\"a\",\"cron_expr\":\"*/5 * * * *\","
                           "\"policy\":{\"require_approval\":true,\"approvers\":[\"local\"]}}",
                           0, NULL);
    run_handler(create, NULL, "local", j, &r);
    const char *id = json_string_value(json_object_get(r.out, "id"));
    if (r.status != 201 || id == NULL || strlen(id) != SYMBI_UUID_LEN)
        abort();
    memcpy(job_id, id, sizeof job_id);
    end_request(&r);
    st = http_store(&r, false);
    struct symbi_run run;
    symbi_run_init(&run);
    memcpy(run.job_id, job_id, sizeof run.job_id);
    run.job_name = symbi_strdup("fz");
    run.agent = symbi_strdup("a");
    run.status = SYMBI_RUN_PENDING_APPROVAL;
    run.attempt = 1;
    run.scheduled_at = run.due_at = run.created_at = FUZZ_NOW - 60000;
    if (st == NULL || symbi_store_run_insert(st, &run, &err) != 0)
        abort();
    memcpy(run_id, run.id, sizeof run_id);
    symbi_run_cleanup(&run);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (srv == NULL)
        setup();
    if (size < 2)
        return 0;
    const struct http_route *rt = body_routes[data[0] % n_body_routes];
    bool is_run = strncmp(rt->pattern, "/api/v1/runs/", 13) == 0;
    const char *param = (data[1] & 1)   ? "0b7d0f4e-unknown"
                        : (data[1] & 2) ? (is_run ? "nope" : "fz")
                                        : (is_run ? run_id : job_id);
    const char *actor = (data[1] & 4) ? "api-key:fuzz" : "local";
    const char *body = (const char *)data + 2;
    size_t blen = size - 2;
    json_t *j = NULL;
    if (blen > 0) { /* as dispatch (server.c): a depth scan, then one JSON object */
        if (http_json_depth_check(body, blen, HTTP_MAX_JSON_DEPTH) != 0)
            return 0;
        json_error_t je;
        j = json_loadb(body, blen, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(j)) {
            json_decref(j);
            return 0;
        }
    }
    struct symbi_err err = {0};
    if (symbi_store_begin(st, &err) != 0)
        abort();
    struct http_req r;
    run_handler(rt, param, actor, j, &r);
    symbi_store_rollback(st);
    /* one answer, JSON (these routes answer nothing else), and no 5xx */
    if (r.status < 200 || r.status >= 500 || r.out == NULL || r.text != NULL) {
        fprintf(stderr, "%s %s -> %u\n", rt->method, rt->pattern, r.status);
        abort();
    }
    char *text = json_dumps(r.out, JSON_COMPACT);
    if (text == NULL)
        abort();
#ifdef HTTP_BODY_FUZZ_TRACE /* -DHTTP_BODY_FUZZ_TRACE: what each input was answered */
    fprintf(stderr, "%s %s %s -> %u %.200s\n", rt->method, rt->pattern, param, r.status, text);
#endif
    free(text);
    end_request(&r);
    return 0;
}
