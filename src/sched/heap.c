/* heap.c - the scheduler's in-memory structures: a min-heap of run entries
 * by (due_at, claim order) whose elements remember their index, and an
 * open-addressing table of per-job counters. */
#include "sched/sched_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sched_heap_init(struct sched_heap *h)
{
    memset(h, 0, sizeof *h);
}

void sched_heap_cleanup(struct sched_heap *h)
{
    free(h->v);
    memset(h, 0, sizeof *h);
}

static bool before(const struct sched_entry *a, const struct sched_entry *b)
{
    if (a->run.due_at != b->run.due_at)
        return a->run.due_at < b->run.due_at;
    return a->seq < b->seq;
}

static void place(struct sched_heap *h, size_t i, struct sched_entry *e)
{
    h->v[i] = e;
    e->heap_idx = i;
}

static void sift_up(struct sched_heap *h, size_t i)
{
    struct sched_entry *e = h->v[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(e, h->v[parent]))
            break;
        place(h, i, h->v[parent]);
        i = parent;
    }
    place(h, i, e);
}

static void sift_down(struct sched_heap *h, size_t i)
{
    struct sched_entry *e = h->v[i];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct sched_entry *best = e;
        if (l < h->n && before(h->v[l], best)) {
            m = l;
            best = h->v[l];
        }
        if (r < h->n && before(h->v[r], best))
            m = r;
        if (m == i)
            break;
        place(h, i, h->v[m]);
        i = m;
    }
    place(h, i, e);
}

int sched_heap_push(struct sched_heap *h, struct sched_entry *e)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        struct sched_entry **v = realloc(h->v, cap * sizeof *v);
        if (v == NULL)
            return SYMBI_ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    place(h, h->n++, e);
    sift_up(h, h->n - 1);
    return 0;
}

struct sched_entry *sched_heap_top(const struct sched_heap *h)
{
    return h->n > 0 ? h->v[0] : NULL;
}

struct sched_entry *sched_heap_pop(struct sched_heap *h)
{
    if (h->n == 0)
        return NULL;
    struct sched_entry *top = h->v[0];
    h->n--;
    if (h->n > 0) {
        place(h, 0, h->v[h->n]);
        sift_down(h, 0);
    }
    top->heap_idx = SIZE_MAX;
    return top;
}

/* ---- per-job counters: linear probing, backward-shift deletion ---- */

static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)h;
}

void sched_counts_init(struct sched_counts *c)
{
    memset(c, 0, sizeof *c);
}

void sched_counts_cleanup(struct sched_counts *c)
{
    free(c->v);
    memset(c, 0, sizeof *c);
}

static int grow(struct sched_counts *c)
{
    size_t cap = c->cap ? c->cap * 2 : 64;
    struct sched_count *v = calloc(cap, sizeof *v);
    if (v == NULL)
        return SYMBI_ENOMEM;
    for (size_t i = 0; i < c->cap; i++) {
        if (c->v[i].job_id[0] == '\0')
            continue;
        size_t j = hash(c->v[i].job_id) & (cap - 1);
        while (v[j].job_id[0] != '\0')
            j = (j + 1) & (cap - 1);
        v[j] = c->v[i];
    }
    free(c->v);
    c->v = v;
    c->cap = cap;
    return 0;
}

struct sched_count *sched_counts_get(struct sched_counts *c, const char *job_id, bool create)
{
    if (job_id == NULL || job_id[0] == '\0')
        return NULL;
    if (c->cap > 0) {
        for (size_t j = hash(job_id) & (c->cap - 1);; j = (j + 1) & (c->cap - 1)) {
            if (c->v[j].job_id[0] == '\0')
                break;
            if (strcmp(c->v[j].job_id, job_id) == 0)
                return &c->v[j];
        }
    }
    if (!create)
        return NULL;
    if ((c->n + 1) * 2 > c->cap && grow(c) != 0)
        return NULL;
    size_t j = hash(job_id) & (c->cap - 1);
    while (c->v[j].job_id[0] != '\0')
        j = (j + 1) & (c->cap - 1);
    snprintf(c->v[j].job_id, sizeof c->v[j].job_id, "%s", job_id);
    c->v[j].in_flight = c->v[j].running = 0;
    c->n++;
    return &c->v[j];
}

void sched_counts_release(struct sched_counts *c, const char *job_id)
{
    struct sched_count *e = sched_counts_get(c, job_id, false);
    if (e == NULL || e->in_flight > 0 || e->running > 0)
        return;
    size_t mask = c->cap - 1, i = (size_t)(e - c->v);
    c->v[i].job_id[0] = '\0';
    c->n--;
    /* shift back the entries that probed past the hole */
    for (size_t j = (i + 1) & mask; c->v[j].job_id[0] != '\0'; j = (j + 1) & mask) {
        size_t home = hash(c->v[j].job_id) & mask;
        bool movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            c->v[i] = c->v[j];
            c->v[j].job_id[0] = '\0';
            i = j;
        }
    }
}
