/* store_fixture.h - helpers shared by the store's unit tests: a fresh
 * store in a temporary directory, and job builders. */
#ifndef SYMBI_TEST_STORE_FIXTURE_H
#define SYMBI_TEST_STORE_FIXTURE_H

#include "symbi/store.h"

struct store_fixture {
    char dir[64];
    char path[128];
    struct symbi_store *st;
};

/* Creates the directory and opens the store (asserts on failure). */
struct store_fixture *store_fixture_new(void);
/* Closes the store and removes the directory. */
void store_fixture_free(struct store_fixture *fx);
/* A job named name running agent "agent-1" once at `at`. */
void fixture_at_job(struct symbi_job *job, const char *name, int64_t at);
/* A job named name on cron expression expr. */
void fixture_cron_job(struct symbi_job *job, const char *name, const char *expr);
/* Removes a directory tree (test data only). */
void fixture_rmtree(const char *dir);

#endif
