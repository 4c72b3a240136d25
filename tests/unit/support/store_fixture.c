/* store_fixture.c - a fresh store in a temporary directory for unit tests,
 * and job builders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "support/store_fixture.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fixture_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (unlink(p) != 0)
            fixture_rmtree(p);
    }
    closedir(d);
    rmdir(dir);
}

struct store_fixture *store_fixture_new(void)
{
    struct store_fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/symbi-test-store-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof fx->path, "%s/symbi.db", fx->dir);
    struct symbi_err err = {0};
    int rc = symbi_store_open(fx->path, &fx->st, &err);
    if (rc != 0)
        fail_msg("open: %s", err.msg);
    return fx;
}

void store_fixture_free(struct store_fixture *fx)
{
    if (fx == NULL)
        return;
    symbi_store_close(fx->st);
    fixture_rmtree(fx->dir);
    free(fx);
}

void fixture_at_job(struct symbi_job *job, const char *name, int64_t at)
{
    symbi_job_init(job);
    assert_int_equal(symbi_set_str(&job->name, name), 0);
    assert_int_equal(symbi_set_str(&job->agent, "agent-1"), 0);
    job->at = at;
}

void fixture_cron_job(struct symbi_job *job, const char *name, const char *expr)
{
    symbi_job_init(job);
    assert_int_equal(symbi_set_str(&job->name, name), 0);
    assert_int_equal(symbi_set_str(&job->agent, "agent-1"), 0);
    assert_int_equal(symbi_set_str(&job->cron_expr, expr), 0);
}
