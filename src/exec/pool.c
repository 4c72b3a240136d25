/* pool.c - a few store handles shared by the threads that run agents: a
 * run holds one only while it loads or saves its context, never while
 * its agent runs, so many workers need few connections. */
#include "symbi/exec.h"
#include "symbi/store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define POOL_MAX 16

struct symbi_exec_pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char *url;
    struct symbi_store *idle[POOL_MAX];
    int n_idle;
    int n_open; /* idle + lent */
    int max;
};

int symbi_exec_pool_new(const char *url, int max, struct symbi_exec_pool **out,
                        struct symbi_err *err)
{
    struct symbi_exec_pool *p = calloc(1, sizeof *p);
    if (p == NULL || (p->url = symbi_strdup(url)) == NULL) {
        free(p);
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    }
    p->max = max < 1 ? 1 : max > POOL_MAX ? POOL_MAX : max;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    *out = p;
    return 0;
}

void symbi_exec_pool_free(struct symbi_exec_pool *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < p->n_idle; i++)
        symbi_store_close(p->idle[i]);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p->url);
    free(p);
}

struct symbi_store *symbi_exec_pool_get(struct symbi_exec_pool *p, struct symbi_err *err)
{
    pthread_mutex_lock(&p->lock);
    while (p->n_idle == 0 && p->n_open >= p->max)
        pthread_cond_wait(&p->cond, &p->lock);
    if (p->n_idle > 0) {
        struct symbi_store *st = p->idle[--p->n_idle];
        pthread_mutex_unlock(&p->lock);
        return st;
    }
    p->n_open++; /* opened outside the lock */
    pthread_mutex_unlock(&p->lock);
    struct symbi_store *st = NULL;
    if (symbi_store_open(p->url, &st, err) != 0) {
        pthread_mutex_lock(&p->lock);
        p->n_open--;
        pthread_cond_signal(&p->cond);
        pthread_mutex_unlock(&p->lock);
        return NULL;
    }
    return st;
}

void symbi_exec_pool_put(struct symbi_exec_pool *p, struct symbi_store *st)
{
    if (st == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->idle[p->n_idle++] = st;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}
