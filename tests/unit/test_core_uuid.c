/* test_core_uuid.c - random (v4) UUIDs from the per-thread pool: the
 * format, no repeats across pool refills and threads, and a forked child
 * that never hands out the ids its parent will. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "symbi/core.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define N_IDS 2000 /* several refills of the 256-id pool */

static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void check_format(const char *u)
{
    assert_int_equal(strlen(u), SYMBI_UUID_LEN);
    for (int i = 0; i < SYMBI_UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(u[i], '-');
        else
            assert_non_null(strchr("0123456789abcdef", u[i]));
    }
    assert_int_equal(u[14], '4');
    assert_non_null(strchr("89ab", u[19]));
}

static void test_many_unique(void **state)
{
    (void)state;
    char(*ids)[SYMBI_UUID_LEN + 1] = calloc(N_IDS, sizeof *ids);
    assert_non_null(ids);
    for (int i = 0; i < N_IDS; i++) {
        assert_int_equal(symbi_uuid_v4(ids[i]), 0);
        check_format(ids[i]);
    }
    qsort(ids, N_IDS, sizeof *ids, cmp_id);
    for (int i = 1; i < N_IDS; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
    free(ids);
}

static void *make_ids(void *arg)
{
    char(*ids)[SYMBI_UUID_LEN + 1] = arg;
    for (int i = 0; i < N_IDS / 2; i++)
        if (symbi_uuid_v4(ids[i]) != 0)
            return arg;
    return NULL;
}

static void test_threads_unique(void **state)
{
    (void)state;
    char(*ids)[SYMBI_UUID_LEN + 1] = calloc(N_IDS, sizeof *ids);
    assert_non_null(ids);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, make_ids, ids + N_IDS / 2), 0);
    assert_null(make_ids(ids));
    void *res = ids;
    assert_int_equal(pthread_join(t, &res), 0);
    assert_null(res);
    qsort(ids, N_IDS, sizeof *ids, cmp_id);
    for (int i = 1; i < N_IDS; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
    free(ids);
}

/* The parent's pool is part-used when it forks: the child must not
 * produce what the parent produces next. */
static void test_fork_does_not_repeat(void **state)
{
    (void)state;
    char first[SYMBI_UUID_LEN + 1];
    assert_int_equal(symbi_uuid_v4(first), 0);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char c[SYMBI_UUID_LEN + 1];
        ssize_t w = symbi_uuid_v4(c) == 0 ? write(fds[1], c, SYMBI_UUID_LEN) : -1;
        _exit(w == SYMBI_UUID_LEN ? 0 : 1);
    }
    close(fds[1]);
    char mine[SYMBI_UUID_LEN + 1], child[SYMBI_UUID_LEN + 1] = {0};
    assert_int_equal(symbi_uuid_v4(mine), 0);
    size_t got = 0;
    while (got < SYMBI_UUID_LEN) {
        ssize_t r = read(fds[0], child + got, SYMBI_UUID_LEN - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(got, SYMBI_UUID_LEN);
    check_format(child);
    assert_string_not_equal(child, mine);
    assert_string_not_equal(child, first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_unique),
        cmocka_unit_test(test_threads_unique),
        cmocka_unit_test(test_fork_does_not_repeat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
