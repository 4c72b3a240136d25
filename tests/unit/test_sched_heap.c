/* test_sched_heap.c - unit tests of the scheduler's in-memory structures:
 * the run heap (due order, claim order for equal instants, indices) and
 * the per-job counter table (growth, deletion with backward shift). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sched/sched_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_heap_order(void **state)
{
    (void)state;
    struct sched_heap h;
    sched_heap_init(&h);
    enum { N = 500 };
    struct sched_entry *e = calloc(N, sizeof *e);
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        e[i].run.due_at = (int64_t)(x % 50); /* many equal instants */
        e[i].seq = (uint64_t)i;
        assert_int_equal(sched_heap_push(&h, &e[i]), 0);
    }
    for (size_t i = 0; i < h.n; i++)
        assert_int_equal(h.v[i]->heap_idx, i);
    int64_t last_due = -1;
    uint64_t last_seq = 0;
    for (int i = 0; i < N; i++) {
        struct sched_entry *top = sched_heap_top(&h);
        assert_ptr_equal(sched_heap_pop(&h), top);
        assert_int_equal(top->heap_idx, SIZE_MAX);
        assert_true(top->run.due_at >= last_due);
        if (top->run.due_at == last_due)
            assert_true(top->seq > last_seq); /* equal instants in claim order */
        last_due = top->run.due_at;
        last_seq = top->seq;
    }
    assert_null(sched_heap_pop(&h));
    assert_null(sched_heap_top(&h));
    sched_heap_cleanup(&h);
    free(e);
}

static void test_counts(void **state)
{
    (void)state;
    struct sched_counts c;
    sched_counts_init(&c);
    char id[64];
    assert_null(sched_counts_get(&c, "", true));
    assert_null(sched_counts_get(&c, "nope", false));
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof id, "job-%04d", i);
        struct sched_count *k = sched_counts_get(&c, id, true);
        assert_non_null(k);
        k->in_flight = i + 1;
    }
    assert_int_equal(c.n, 1000);
    /* release the odd ones (counters zero), keep the even ones */
    for (int i = 1; i < 1000; i += 2) {
        snprintf(id, sizeof id, "job-%04d", i);
        struct sched_count *k = sched_counts_get(&c, id, false);
        k->in_flight = 0;
        sched_counts_release(&c, id);
        assert_null(sched_counts_get(&c, id, false));
    }
    assert_int_equal(c.n, 500);
    for (int i = 0; i < 1000; i += 2) {
        snprintf(id, sizeof id, "job-%04d", i);
        struct sched_count *k = sched_counts_get(&c, id, false);
        assert_non_null(k);
        assert_int_equal(k->in_flight, i + 1);
        /* a counter still in use is not released */
        sched_counts_release(&c, id);
        assert_non_null(sched_counts_get(&c, id, false));
    }
    sched_counts_cleanup(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heap_order),
        cmocka_unit_test(test_counts),
    };
    return cmocka_run_group_tests_name("sched_heap", tests, NULL, NULL);
}
