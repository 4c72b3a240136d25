/* store_roundtrip_fuzz.c - libFuzzer target for the store's row mapping:
 * any bytes, read as an API job body, that pass symbi_job_apply_json and
 * symbi_job_validate must store and read back as the same job (every §9.1
 * field but the store-assigned ones), and any bytes used as a job or run
 * reference must resolve cleanly (found, not found, ambiguous), never
 * crash. Runs in an in-memory store, each input in a rolled-back
 * transaction. */
#include "symbi/dsl.h"
#include "symbi/json.h"
#include "symbi/store.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct symbi_store *store(void)
{
    static struct symbi_store *st;
    if (st == NULL) {
        struct symbi_err err;
        if (symbi_store_open(":memory:", &st, &err) != 0)
            abort();
        /* a job to look up by prefix and name */
        struct symbi_job j;
        symbi_job_init(&j);
        j.name = strdup("abcdef01");
        j.agent = strdup("a");
        j.at = 1774000000000LL;
        memcpy(j.id, "abcdef01-0000-4000-8000-000000000001", SYMBI_UUID_LEN + 1);
        if (symbi_store_job_create(st, &j, 1774000000000LL, "fuzz", &err) != 0)
            abort();
        symbi_job_cleanup(&j);
    }
    return st;
}

static void drop_volatile(json_t *o)
{
    static const char *const keys[] = {"id",       "created_at", "updated_at",    "next_run",
                                       "last_run", "run_count",  "failure_count", "status"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        json_object_del(o, keys[i]);
}

static void check_ref(struct symbi_store *st, const char *ref)
{
    struct symbi_job j;
    struct symbi_err err;
    int rc = symbi_store_job_get(st, ref, &j, &err);
    if (rc == 0)
        symbi_job_cleanup(&j);
    else if (rc != SYMBI_ENOTFOUND && rc != SYMBI_EAMBIGUOUS && rc != SYMBI_EINVAL)
        abort();
    struct symbi_run r;
    rc = symbi_store_run_get(st, ref, &r, &err);
    if (rc == 0)
        symbi_run_cleanup(&r);
    else if (rc != SYMBI_ENOTFOUND && rc != SYMBI_EAMBIGUOUS && rc != SYMBI_EINVAL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct symbi_store *st = store();
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    check_ref(st, text);

    json_error_t jerr;
    json_t *obj = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    struct symbi_job job;
    symbi_job_init(&job);
    struct symbi_err err;
    const char *bad = NULL;
    if (obj != NULL && json_is_object(obj) && symbi_job_apply_json(&job, obj, &bad, &err) == 0 &&
        symbi_job_validate(&job, &err) == 0) {
        if (symbi_store_begin(st, &err) != 0)
            abort();
        int rc = symbi_store_job_create(st, &job, 1774000000000LL, "fuzz", &err);
        if (rc == 0) {
            struct symbi_job back;
            if (symbi_store_job_get(st, job.id, &back, &err) != 0)
                abort();
            json_t *a = symbi_job_to_json(&job, false);
            json_t *b = symbi_job_to_json(&back, false);
            if (a == NULL || b == NULL)
                abort();
            drop_volatile(a);
            drop_volatile(b);
            if (!json_equal(a, b))
                abort(); /* the store lost or changed a field */
            json_decref(a);
            json_decref(b);
            symbi_job_cleanup(&back);
        } else if (rc != SYMBI_EEXIST && rc != SYMBI_ENOTFOUND && rc != SYMBI_EINVAL) {
            abort();
        }
        symbi_store_rollback(st);
    }
    symbi_job_cleanup(&job);
    json_decref(obj);
    free(text);
    return 0;
}
