/* test_http_server.c - the HTTP server in-process on an ephemeral loopback
 * port: the route table, health states (healthy, degraded when the
 * scheduler lags, unhealthy when the store is gone), scheduler hooks,
 * protected mode and the SYMBI_API_KEY path, driven with libcurl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http/http_internal.h"
#include "symbi/policy.h"
#include "symbi/store.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
    char dir[64];
    char url[128];
    struct symbi_http_server *srv;
    int wakes;
};

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
    symbi_buf_append(ud, p, sz * n);
    return sz * n;
}

/* Performs a request; returns the status and the parsed JSON body in *out. */
static long request(struct fixture *f, const char *method, const char *path, const char *body,
                    const char *auth, json_t **out)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", symbi_http_port(f->srv), path);
    CURL *c = curl_easy_init();
    struct symbi_buf b;
    symbi_buf_init(&b, 0);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    char authh[300];
    if (auth != NULL) {
        snprintf(authh, sizeof authh, "Authorization: Bearer %s", auth);
        h = curl_slist_append(h, authh);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body != NULL)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    long status = 0;
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (out != NULL)
        *out = json_loads(symbi_buf_str(&b), 0, NULL);
    symbi_buf_cleanup(&b);
    return status;
}

static void wake(void *ud)
{
    ((struct fixture *)ud)->wakes++;
}

static int start(struct fixture *f, const char *listen, const char *key,
                 const struct symbi_http_hooks *hooks, struct symbi_err *err)
{
    struct symbi_http_config cfg = {
        .listen = listen, .store_url = f->url, .api_key = key, .threads = 2, .hooks = hooks};
    return symbi_http_start(&cfg, &f->srv, err);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/symbi-http-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->url, sizeof f->url, "%s/symbi.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    symbi_http_stop(f->srv);
    char path[160];
    const char *files[] = {"symbi.db", "symbi.db-wal", "symbi.db-shm"};
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(files); i++) {
        snprintf(path, sizeof path, "%s/%s", f->dir, files[i]);
        unlink(path);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static void test_route_table_is_sane(void **state)
{
    (void)state;
    char scratch[HTTP_MAX_URL + HTTP_MAX_PARAMS];
    for (size_t i = 0; i < http_n_routes; i++) {
        char path[256];
        const char *src = http_routes[i].pattern;
        size_t k = 0;
        for (size_t j = 0; src[j] != '\0' && k < sizeof path - 4; j++) {
            if (src[j] == '{' && src[j + 1] == '}') {
                memcpy(path + k, "x1", 2);
                k += 2;
                j++;
            } else {
                path[k++] = src[j];
            }
        }
        path[k] = '\0';
        const char *p[HTTP_MAX_PARAMS];
        size_t n;
        assert_true(http_route_match(src, path, scratch, sizeof scratch, p, &n));
        assert_non_null(http_routes[i].fn);
        /* only health, metrics and the dashboard's files are public */
        assert_int_equal(http_routes[i].is_public, strstr(src, "/health") != NULL ||
                                                       strcmp(src, "/metrics") == 0 ||
                                                       http_routes[i].fn == http_h_ui);
        assert_int_equal(http_routes[i].fn == http_h_ui, strncmp(src, "/ui", 3) == 0);
        /* the scope a key needs: none for public routes, read for GETs,
         * run for manual runs and backfills, approve for decisions, write
         * otherwise */
        unsigned want = SYMBI_SCOPE_WRITE;
        size_t sl = strlen(src);
        if (http_routes[i].is_public)
            want = 0;
        else if (strcmp(http_routes[i].method, "GET") == 0)
            want = SYMBI_SCOPE_READ;
        else if ((sl > 4 && strcmp(src + sl - 4, "/run") == 0) || strstr(src, "/trigger") != NULL ||
                 strstr(src, "/backfill") != NULL)
            want = SYMBI_SCOPE_RUN;
        else if (strstr(src, "/approve") != NULL || strstr(src, "/deny") != NULL)
            want = SYMBI_SCOPE_APPROVE;
        assert_int_equal(http_routes[i].scope, want);
        for (size_t j = i + 1; j < http_n_routes; j++)
            assert_false(strcmp(http_routes[i].method, http_routes[j].method) == 0 &&
                         strcmp(http_routes[i].pattern, http_routes[j].pattern) == 0);
    }
}

static void test_health_states(void **state)
{
    struct fixture *f = *state;
    struct symbi_http_hooks hooks = {.wake = wake, .ud = f};
    struct symbi_err err = {0};
    assert_int_equal(start(f, "127.0.0.1:0", NULL, &hooks, &err), 0);
    assert_true(symbi_http_port(f->srv) > 0);
    assert_true(symbi_http_protected_mode(f->srv));
    json_t *j = NULL;
    assert_int_equal(request(f, "GET", "/api/v1/health/scheduler", NULL, NULL, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "healthy");
    json_decref(j);

    /* a job due 10 s ago that nobody ran: the scheduler lags */
    struct symbi_store *st = NULL;
    assert_int_equal(symbi_store_open(f->url, &st, &err), 0);
    struct symbi_job job;
    symbi_job_init(&job);
    job.name = symbi_strdup("late");
    job.agent = symbi_strdup("a");
    job.cron_expr = symbi_strdup("* * * * *");
    int64_t now = symbi_now_wall_ms();
    job.next_run = now - 10000;
    assert_int_equal(symbi_store_job_create(st, &job, now - 60000, "test", &err), 0);
    symbi_job_cleanup(&job);
    symbi_store_close(st);
    assert_int_equal(request(f, "GET", "/api/v1/health/scheduler", NULL, NULL, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "degraded");
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "reasons"), 0)),
                        "scheduler lagging");
    assert_true(json_real_value(json_object_get(j, "scheduler_lag_seconds")) >= 9.0);
    json_decref(j);

    /* changes wake the scheduler */
    int before = f->wakes;
    assert_int_equal(request(f, "POST", "/api/v1/schedule/late/pause", NULL, NULL, NULL), 200);
    assert_int_equal(f->wakes, before + 1);
    assert_int_equal(request(f, "GET", "/api/v1/schedule/late", NULL, NULL, NULL), 200);
    assert_int_equal(f->wakes, before + 1);
    symbi_http_stop(f->srv);

    /* the store gone: unhealthy (503), and routes that need it say so */
    char path[160];
    snprintf(path, sizeof path, "%s/symbi.db", f->dir);
    assert_int_equal(start(f, "127.0.0.1:0", NULL, &hooks, &err), 0);
    const char *files[] = {"symbi.db", "symbi.db-wal", "symbi.db-shm"};
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(files); i++) {
        snprintf(path, sizeof path, "%s/%s", f->dir, files[i]);
        unlink(path);
    }
    assert_int_equal(rmdir(f->dir), 0);
    assert_int_equal(request(f, "GET", "/api/v1/health/scheduler", NULL, NULL, &j), 503);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "unhealthy");
    json_decref(j);
    assert_int_equal(request(f, "GET", "/api/v1/health", NULL, NULL, NULL), 200);
    assert_int_equal(mkdir(f->dir, 0700), 0);
}

#define KEY "s3cret-0123456789abcdef0123456789"

static void test_protected_mode_and_env_key(void **state)
{
    struct fixture *f = *state;
    struct symbi_err err = {0};
    assert_int_equal(start(f, "0.0.0.0:0", NULL, NULL, &err), SYMBI_EDENIED);
    assert_non_null(strstr(err.msg, "no API key"));
    assert_null(f->srv);
    /* a key under 32 characters is refused, never a way off protected mode */
    char short_key[SYMBI_HTTP_KEY_MIN_LEN];
    memset(short_key, 'k', sizeof short_key - 1);
    short_key[sizeof short_key - 1] = '\0';
    assert_int_equal(start(f, "0.0.0.0:0", short_key, NULL, &err), SYMBI_EINVAL);
    assert_non_null(strstr(err.msg, "at least 32"));
    assert_null(f->srv);
    assert_int_equal(start(f, "127.0.0.1:0", "a", NULL, &err), SYMBI_EINVAL);
    assert_null(f->srv);
    assert_true(strlen(KEY) >= SYMBI_HTTP_KEY_MIN_LEN);
    assert_int_equal(start(f, "127.0.0.1:0", KEY, NULL, &err), 0);
    assert_false(symbi_http_protected_mode(f->srv));
    json_t *j = NULL;
    assert_int_equal(request(f, "GET", "/api/v1/schedule", NULL, NULL, &j), 401);
    assert_string_equal(json_string_value(json_object_get(j, "code")), "UNAUTHORIZED");
    json_decref(j);
    assert_int_equal(
        request(f, "GET", "/api/v1/schedule", NULL, "s3cret-0123456789abcdef012345678", NULL), 401);
    assert_int_equal(request(f, "GET", "/api/v1/schedule", NULL, KEY, NULL), 200);
    /* 405 with Allow, 404 after auth */
    assert_int_equal(request(f, "DELETE", "/api/v1/schedule", NULL, KEY, &j), 405);
    assert_string_equal(json_string_value(json_object_get(j, "code")), "METHOD_NOT_ALLOWED");
    json_decref(j);
    assert_int_equal(request(f, "GET", "/nope", NULL, KEY, NULL), 404);
    assert_int_equal(request(f, "GET", "/nope", NULL, NULL, NULL), 401);
    symbi_http_stop(f->srv);
    f->srv = NULL;
    assert_int_equal(start(f, "0.0.0.0:0", KEY, NULL, &err), 0);
}

/* Inserts a run of job `ref` in `status`; returns its id in id. */
static void insert_run(struct fixture *f, const char *ref, enum symbi_run_status status,
                       char id[SYMBI_UUID_LEN + 1])
{
    struct symbi_store *st = NULL;
    struct symbi_err err = {0};
    assert_int_equal(symbi_store_open(f->url, &st, &err), 0);
    struct symbi_job job;
    assert_int_equal(symbi_store_job_get(st, ref, &job, &err), 0);
    struct symbi_run run;
    symbi_run_init(&run);
    memcpy(run.job_id, job.id, sizeof run.job_id);
    run.job_name = symbi_strdup(job.name);
    run.agent = symbi_strdup(job.agent);
    run.status = status;
    run.attempt = 1;
    run.scheduled_at = run.due_at = run.created_at = symbi_now_wall_ms();
    assert_int_equal(symbi_store_run_insert(st, &run, &err), 0);
    memcpy(id, run.id, SYMBI_UUID_LEN + 1);
    symbi_run_cleanup(&run);
    symbi_job_cleanup(&job);
    symbi_store_close(st);
}

/* Stores an API key named name; its text goes to key. */
static void add_key(struct fixture *f, const char *name, char key[SYMBI_API_KEY_STRLEN + 1])
{
    struct symbi_store *st = NULL;
    struct symbi_err err = {0};
    assert_int_equal(symbi_store_open(f->url, &st, &err), 0);
    char salt[SYMBI_KEY_SALT_HEXLEN + 1], hash[SYMBI_KEY_HASH_HEXLEN + 1];
    assert_int_equal(symbi_policy_key_generate(key), 0);
    assert_int_equal(symbi_policy_key_salt(salt), 0);
    assert_int_equal(symbi_policy_key_hash(key, salt, hash), 0);
    struct symbi_api_key k = {.name = (char *)name, .salt = salt, .hash = hash};
    k.created_at = symbi_now_wall_ms();
    k.revoked_at = SYMBI_TIME_NONE;
    assert_int_equal(symbi_store_api_key_insert(st, &k, &err), 0);
    symbi_store_close(st);
}

static void test_approve_and_deny(void **state)
{
    struct fixture *f = *state;
    struct symbi_err err = {0};
    char alice[SYMBI_API_KEY_STRLEN + 1], bob[SYMBI_API_KEY_STRLEN + 1];
    add_key(f, "alice", alice);
    add_key(f, "bob", bob);
    assert_int_equal(start(f, "127.0.0.1:0", NULL, NULL, &err), 0);
    assert_int_equal(request(f, "POST", "/api/v1/schedule",
                             "{\"name\":\"gated\",\"agent_id\":\"a\",\"cron_expr\":\"@daily\","
                             "\"policy\":{\"require_approval\":true,\"approvers\":[\"alice\"]}}",
                             alice, NULL),
                     201);
    char id[SYMBI_UUID_LEN + 1], id2[SYMBI_UUID_LEN + 1], path[128];
    insert_run(f, "gated", SYMBI_RUN_PENDING_APPROVAL, id);
    json_t *j = NULL;
    /* only a listed approver decides, named by its key, whatever the body claims */
    snprintf(path, sizeof path, "/api/v1/runs/%s/approve", id);
    assert_int_equal(request(f, "POST", path, NULL, bob, &j), 403);
    json_decref(j);
    assert_int_equal(request(f, "POST", path, "{\"approver\":\"alice\"}", bob, &j), 403);
    json_decref(j);
    assert_int_equal(request(f, "POST", path, "{\"approver\":5}", alice, NULL), 400);
    assert_int_equal(request(f, "POST", path, "{\"approver\":\"alice\"}", alice, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "queued");
    assert_string_equal(json_string_value(json_object_get(j, "approver")), "alice");
    json_decref(j);
    /* decided once: a second decision is refused */
    assert_int_equal(request(f, "POST", path, NULL, alice, NULL), 409);
    insert_run(f, "gated", SYMBI_RUN_PENDING_APPROVAL, id2);
    snprintf(path, sizeof path, "/api/v1/runs/%.8s/deny", id2);
    assert_int_equal(request(f, "POST", path, NULL, bob, NULL), 403);
    assert_int_equal(request(f, "POST", path, "{\"reason\":\"not today\"}", alice, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "denied");
    assert_string_equal(json_string_value(json_object_get(j, "error_message")),
                        "denied by alice: not today");
    json_decref(j);
    assert_int_equal(request(f, "GET", "/api/v1/audit?type=CronRunDenied", NULL, alice, &j), 200);
    assert_int_equal(json_array_size(j), 1);
    json_decref(j);
    assert_int_equal(request(f, "POST", "/api/v1/runs/nonexistent/approve", NULL, alice, NULL),
                     404);

    /* a manual run while max_concurrent (1) runs are running: 409, nothing queued */
    char running[SYMBI_UUID_LEN + 1];
    insert_run(f, "gated", SYMBI_RUN_RUNNING, running);
    assert_int_equal(request(f, "POST", "/api/v1/schedule/gated/run", NULL, alice, &j), 409);
    assert_string_equal(json_string_value(json_object_get(j, "code")), "CONCURRENCY_LIMIT");
    json_decref(j);
    assert_int_equal(
        request(f, "GET", "/api/v1/schedule/gated/history?status=queued", NULL, alice, &j), 200);
    assert_int_equal(json_array_size(j), 1); /* the approved one only */
    json_decref(j);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_table_is_sane),
        cmocka_unit_test_setup_teardown(test_health_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protected_mode_and_env_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_approve_and_deny, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
