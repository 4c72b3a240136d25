/* arena.c - a bump allocator for short-lived work; everything it handed
 * out is released together by symbi_arena_cleanup. */
#include "symbi/core.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK 8192
#define ARENA_ALIGN 16

struct symbi_arena_chunk {
    struct symbi_arena_chunk *next;
    size_t used;
    size_t size;
    _Alignas(ARENA_ALIGN) unsigned char mem[];
};

void symbi_arena_init(struct symbi_arena *a)
{
    a->head = NULL;
    a->total = 0;
}

void *symbi_arena_alloc(struct symbi_arena *a, size_t n)
{
    if (n > SIZE_MAX / 2)
        return NULL;
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need == 0)
        need = ARENA_ALIGN;
    struct symbi_arena_chunk *c = a->head;
    if (c == NULL || c->size - c->used < need) {
        size_t size = need > ARENA_CHUNK ? need : ARENA_CHUNK;
        c = malloc(sizeof *c + size);
        if (c == NULL)
            return NULL;
        c->size = size;
        c->used = 0;
        if (need > ARENA_CHUNK && a->head != NULL) {
            /* a big block goes behind the current chunk, which keeps its room */
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = c->mem + c->used;
    c->used += need;
    a->total += n;
    memset(p, 0, n);
    return p;
}

char *symbi_arena_strndup(struct symbi_arena *a, const char *s, size_t n)
{
    char *p = symbi_arena_alloc(a, n + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *symbi_arena_strdup(struct symbi_arena *a, const char *s)
{
    return s == NULL ? NULL : symbi_arena_strndup(a, s, strlen(s));
}

void symbi_arena_cleanup(struct symbi_arena *a)
{
    struct symbi_arena_chunk *c = a->head;
    while (c != NULL) {
        struct symbi_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->total = 0;
}
