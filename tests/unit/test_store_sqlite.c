/* test_store_sqlite.c - what only the SQLite backend has, whatever
 * SYMBI_TEST_STORE says: file paths and sqlite: URLs, a file that is no
 * database, and crash safety on the file (a child inserting batches of 10,000
 * jobs is killed with SIGKILL mid-batch; the file must pass PRAGMA
 * integrity_check, hold whole batches only, each job with its audit event,
 * and stay writable). The backend-neutral tests: test_store.c, _claim.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "support/store_fixture.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BATCH 10000
#define T0    1774000000000LL

/* The child: inserts batches until killed, writing one byte to fd after
 * each commit. */
static void child_insert(const char *path, int fd, int round)
{
    struct symbi_store *st = NULL;
    struct symbi_err err = {0};
    if (symbi_store_open(path, &st, &err) != 0)
        _exit(2);
    struct symbi_job *jobs = calloc(BATCH, sizeof *jobs);
    if (jobs == NULL)
        _exit(3);
    for (int b = 0; b < 1000; b++) {
        for (int i = 0; i < BATCH; i++) {
            char name[64];
            snprintf(name, sizeof name, "r%d-b%d-j%d", round, b, i);
            symbi_job_init(&jobs[i]);
            jobs[i].name = strdup(name);
            jobs[i].agent = strdup("a");
            jobs[i].at = T0 + i;
        }
        if (symbi_store_job_create_many(st, jobs, BATCH, T0, "crash-test", &err) != 0)
            _exit(4);
        for (int i = 0; i < BATCH; i++)
            symbi_job_cleanup(&jobs[i]);
        if (write(fd, "x", 1) != 1)
            _exit(5);
    }
    _exit(0);
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    nanosleep(&ts, NULL);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void test_sigkill_mid_batch(void **state)
{
    (void)state;
    struct store_fixture *fx = store_fixture_new_sqlite();
    /* the fixture's handle is closed so only the child writes */
    symbi_store_close(fx->st);
    fx->st = NULL;
    const double fractions[] = {0.2, 0.5, 0.85};
    int64_t committed_batches = 0;
    for (int round = 0; round < 3; round++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        int64_t start = mono_ns();
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            child_insert(fx->path, fds[1], round);
        }
        close(fds[1]);
        /* one whole batch commits; its duration times the kill inside the
         * next one */
        char c;
        assert_int_equal(read(fds[0], &c, 1), 1);
        int64_t batch_ns = mono_ns() - start;
        sleep_ns((int64_t)(batch_ns * fractions[round]));
        assert_int_equal(kill(pid, SIGKILL), 0);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        int64_t seen = 1;
        while (read(fds[0], &c, 1) == 1)
            seen++;
        close(fds[0]);

        struct symbi_store *st = NULL;
        struct symbi_err err = {0};
        if (symbi_store_open(fx->path, &st, &err) != 0)
            fail_msg("reopen after SIGKILL: %s", err.msg);
        if (symbi_store_check(st, &err) != 0)
            fail_msg("integrity after SIGKILL: %s", err.msg);
        int64_t counts[5];
        assert_int_equal(symbi_store_job_counts(st, counts, &err), 0);
        int64_t jobs = counts[SYMBI_JOB_ACTIVE];
        /* whole batches only: the batches reported, or one more whose
         * commit raced the kill */
        assert_int_equal(jobs % BATCH, 0);
        int64_t batches = jobs / BATCH - committed_batches;
        assert_true(batches == seen || batches == seen + 1);
        committed_batches += batches;
        struct symbi_audit_filter f = {"CronJobCreated", NULL, SYMBI_TIME_NONE, SYMBI_TIME_NONE,
                                       10 * BATCH * 1000};
        struct symbi_audit_event *ev = NULL;
        size_t n = 0;
        assert_int_equal(symbi_store_audit_query(st, &f, &ev, &n, &err), 0);
        symbi_audit_list_free(ev, n);
        /* each job with its event (plus those of the probe jobs of earlier
         * rounds, created and deleted below) */
        assert_int_equal((int64_t)n, jobs + round);
        /* and it is writable at once: no stale lock */
        struct symbi_job j;
        fixture_at_job(&j, "after-crash", T0);
        char name[32];
        snprintf(name, sizeof name, "after-crash-%d", round);
        assert_int_equal(symbi_set_str(&j.name, name), 0);
        if (symbi_store_job_create(st, &j, T0, "test", &err) != 0)
            fail_msg("write after SIGKILL: %s", err.msg);
        assert_int_equal(symbi_store_job_delete(st, j.id, "test", &err), 0);
        symbi_job_cleanup(&j);
        symbi_store_close(st);
    }
    store_fixture_free(fx);
}

static int setup(void **state)
{
    *state = store_fixture_new_sqlite();
    return 0;
}

static int teardown(void **state)
{
    store_fixture_free(*state);
    return 0;
}

static void test_paths_and_urls(void **state)
{
    struct store_fixture *fx = *state;
    struct symbi_err err = {0};
    assert_string_equal(symbi_store_backend(fx->st), "sqlite");
    struct symbi_job j;
    fixture_at_job(&j, "one", T0 + 1000);
    assert_int_equal(symbi_store_job_create(fx->st, &j, T0, "test", &err), 0);
    /* "sqlite:" and "sqlite://" URLs name the same file as the path */
    const char *forms[] = {"sqlite:", "sqlite://"};
    for (size_t i = 0; i < 2; i++) {
        char url[200];
        snprintf(url, sizeof url, "%s%s", forms[i], fx->path);
        struct symbi_store *b = NULL;
        assert_int_equal(symbi_store_open(url, &b, &err), 0);
        struct symbi_job got;
        assert_int_equal(symbi_store_job_get(b, "one", &got, &err), 0);
        assert_string_equal(got.id, j.id);
        symbi_job_cleanup(&got);
        symbi_store_close(b);
    }
    symbi_job_cleanup(&j);
    struct symbi_store *b = NULL;
    assert_int_equal(symbi_store_open("sqlite:", &b, &err), SYMBI_EINVAL);
    assert_int_equal(symbi_store_open("", &b, &err), SYMBI_EINVAL);
    /* PostgreSQL URLs go to that backend, never taken for a file name: an
     * unreachable server is an I/O error naming the cause */
    assert_int_equal(symbi_store_open("postgres://127.0.0.1:1/y", &b, &err), SYMBI_EIO);
    assert_non_null(strstr(err.msg, "cannot connect to PostgreSQL"));
    assert_null(b);
    assert_int_equal(symbi_store_open("/nonexistent/dir/x.db", &b, &err), SYMBI_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/dir/x.db"));
    assert_null(b);
}

static void test_open_rejects_garbage(void **state)
{
    struct store_fixture *fx = *state;
    char path[200];
    snprintf(path, sizeof path, "%s/garbage.db", fx->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        fputs("this is not a database file at all\n", f);
    fclose(f);
    struct symbi_store *b = NULL;
    struct symbi_err err = {0};
    assert_int_not_equal(symbi_store_open(path, &b, &err), 0);
    assert_null(b);
    assert_non_null(strstr(err.msg, "garbage.db"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_paths_and_urls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_rejects_garbage, setup, teardown),
        cmocka_unit_test(test_sigkill_mid_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
