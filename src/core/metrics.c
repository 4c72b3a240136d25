/* metrics.c - process-wide Prometheus metrics (SPEC §12): labelled series
 * in a small hash table under one mutex, rendered in the text format. */
#include "symbi/metrics.h"

#include "symbi/model.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum metric_id {
    M_RUNS_TOTAL,
    M_DURATION,
    M_IN_FLIGHT,
    M_DEAD_LETTER,
    M_LAG,
    M_JOBS,
    M_DELIVERIES,
    M_MODEL_TOKENS,
    M_COUNT
};

enum metric_type { T_COUNTER, T_GAUGE, T_HISTOGRAM };

static const double duration_buckets[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1,   2.5,  5,
                                          10,   30,   60,  120,  300, 900, 1800, 3600};
static const double lag_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05,
                                     0.1,   0.25,   0.5,   1,    2.5,   5,     10};
#define MAX_BUCKETS 16

static const struct {
    const char *name;
    enum metric_type type;
    const char *help;
    const char *labels[2]; /* label names, NULL-terminated */
    const double *buckets;
    size_t n_buckets;
} metric_defs[M_COUNT] = {
    [M_RUNS_TOTAL] = {"symbiont_cron_runs_total",
                      T_COUNTER,
                      "Finished runs by job and status.",
                      {"job_name", "status"},
                      NULL,
                      0},
    [M_DURATION] = {"symbiont_cron_execution_duration_seconds",
                    T_HISTOGRAM,
                    "Run execution time in seconds.",
                    {"job_name", NULL},
                    duration_buckets,
                    SYMBI_ARRAY_LEN(duration_buckets)},
    [M_IN_FLIGHT] =
        {"symbiont_cron_in_flight_jobs", T_GAUGE, "Runs executing now.", {NULL, NULL}, NULL, 0},
    [M_DEAD_LETTER] = {"symbiont_cron_dead_letter_total",
                       T_COUNTER,
                       "Jobs moved to dead letter.",
                       {"job_name", NULL},
                       NULL,
                       0},
    [M_LAG] = {"symbiont_cron_schedule_lag_seconds",
               T_HISTOGRAM,
               "Start time minus scheduled time, minus jitter, in seconds.",
               {NULL, NULL},
               lag_buckets,
               SYMBI_ARRAY_LEN(lag_buckets)},
    [M_JOBS] = {"symbiont_cron_jobs", T_GAUGE, "Jobs by status.", {"status", NULL}, NULL, 0},
    [M_DELIVERIES] = {"symbiont_cron_deliveries_total",
                      T_COUNTER,
                      "Deliveries by channel and result.",
                      {"channel", "result"},
                      NULL,
                      0},
    [M_MODEL_TOKENS] = {"symbiont_cron_model_tokens_total",
                        T_COUNTER,
                        "Model tokens used by job and kind (prompt, completion).",
                        {"job_name", "kind"},
                        NULL,
                        0},
};

struct series {
    enum metric_id metric;
    char *labels[2];
    double value; /* counter or gauge; histogram sum */
    uint64_t count;
    uint64_t buckets[MAX_BUCKETS];
};

/* Label values come from job names: bound how many series exist. */
#define MAX_SERIES 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct series *series;
static size_t n_series, cap_series;
static size_t *index_table; /* open addressing: index + 1, 0 = empty */
static size_t index_cap;

static uint64_t hash_key(enum metric_id m, const char *a, const char *b)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)m;
    for (const char *s = a ? a : ""; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    h = (h ^ 0x1f) * 1099511628211ULL;
    for (const char *s = b ? b : ""; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static bool same(const char *x, const char *y)
{
    return (x == NULL && y == NULL) || (x != NULL && y != NULL && strcmp(x, y) == 0);
}

static int rehash(size_t cap)
{
    size_t *t = calloc(cap, sizeof *t);
    if (t == NULL)
        return -1;
    for (size_t i = 0; i < n_series; i++) {
        uint64_t h = hash_key(series[i].metric, series[i].labels[0], series[i].labels[1]);
        size_t j = h & (cap - 1);
        while (t[j] != 0)
            j = (j + 1) & (cap - 1);
        t[j] = i + 1;
    }
    free(index_table);
    index_table = t;
    index_cap = cap;
    return 0;
}

/* The series of metric m with these label values, created on first use;
 * NULL when out of memory or past MAX_SERIES. Called with the lock held. */
static struct series *find(enum metric_id m, const char *a, const char *b)
{
    if (index_cap == 0 && rehash(256) != 0)
        return NULL;
    uint64_t h = hash_key(m, a, b);
    size_t j = h & (index_cap - 1);
    while (index_table[j] != 0) {
        struct series *s = &series[index_table[j] - 1];
        if (s->metric == m && same(s->labels[0], a) && same(s->labels[1], b))
            return s;
        j = (j + 1) & (index_cap - 1);
    }
    if (n_series >= MAX_SERIES)
        return NULL;
    if (n_series == cap_series) {
        size_t cap = cap_series ? cap_series * 2 : 64;
        struct series *p = realloc(series, cap * sizeof *p);
        if (p == NULL)
            return NULL;
        series = p;
        cap_series = cap;
    }
    struct series *s = &series[n_series];
    memset(s, 0, sizeof *s);
    s->metric = m;
    s->labels[0] = symbi_strdup(a);
    s->labels[1] = symbi_strdup(b);
    if ((a != NULL && s->labels[0] == NULL) || (b != NULL && s->labels[1] == NULL)) {
        free(s->labels[0]);
        free(s->labels[1]);
        return NULL;
    }
    n_series++;
    index_table[j] = n_series;
    if (n_series * 2 > index_cap && rehash(index_cap * 2) != 0)
        return s; /* still found by the old table */
    return s;
}

static void add(enum metric_id m, const char *a, const char *b, double v)
{
    pthread_mutex_lock(&lock);
    struct series *s = find(m, a, b);
    if (s != NULL)
        s->value += v;
    pthread_mutex_unlock(&lock);
}

static void set(enum metric_id m, const char *a, double v)
{
    pthread_mutex_lock(&lock);
    struct series *s = find(m, a, NULL);
    if (s != NULL)
        s->value = v;
    pthread_mutex_unlock(&lock);
}

static void observe(enum metric_id m, const char *a, double v)
{
    pthread_mutex_lock(&lock);
    struct series *s = find(m, a, NULL);
    if (s != NULL) {
        s->value += v;
        s->count++;
        for (size_t i = 0; i < metric_defs[m].n_buckets; i++)
            if (v <= metric_defs[m].buckets[i])
                s->buckets[i]++;
    }
    pthread_mutex_unlock(&lock);
}

void symbi_metrics_run_finished(const char *job_name, const char *status, double seconds)
{
    add(M_RUNS_TOTAL, job_name, status, 1);
    if (seconds >= 0)
        observe(M_DURATION, job_name, seconds);
}

void symbi_metrics_dead_lettered(const char *job_name)
{
    add(M_DEAD_LETTER, job_name, NULL, 1);
}

void symbi_metrics_delivery(const char *channel, bool ok)
{
    add(M_DELIVERIES, channel, ok ? "success" : "failure", 1);
}

void symbi_metrics_model_tokens(const char *job_name, const char *kind, int64_t n)
{
    if (n > 0)
        add(M_MODEL_TOKENS, job_name, kind, (double)n);
}

void symbi_metrics_schedule_lag(double seconds)
{
    observe(M_LAG, NULL, seconds < 0 ? 0 : seconds);
}

void symbi_metrics_set_in_flight(int64_t n)
{
    set(M_IN_FLIGHT, NULL, (double)n);
}

void symbi_metrics_set_jobs(const int64_t counts[5])
{
    for (int i = 0; i < 5; i++)
        set(M_JOBS, symbi_job_status_name((enum symbi_job_status)i), (double)counts[i]);
}

/* label="value" with \\, \" and \n escaped */
static int put_label(struct symbi_buf *b, const char *name, const char *value, bool first)
{
    int rc = symbi_buf_printf(b, "%s%s=\"", first ? "" : ",", name);
    for (const char *p = value; rc == 0 && *p; p++) {
        if (*p == '\\')
            rc = symbi_buf_puts(b, "\\\\");
        else if (*p == '"')
            rc = symbi_buf_puts(b, "\\\"");
        else if (*p == '\n')
            rc = symbi_buf_puts(b, "\\n");
        else
            rc = symbi_buf_putc(b, *p);
    }
    return rc ? rc : symbi_buf_putc(b, '"');
}

/* `{a="x",b="y"` (open, no closing brace) for s's labels; extra appended. */
static int put_labels(struct symbi_buf *b, const struct series *s, const char *extra_name,
                      const char *extra_value)
{
    int rc = 0;
    bool first = true;
    rc |= symbi_buf_putc(b, '{');
    for (int i = 0; i < 2 && metric_defs[s->metric].labels[i] != NULL; i++) {
        rc |=
            put_label(b, metric_defs[s->metric].labels[i], s->labels[i] ? s->labels[i] : "", first);
        first = false;
    }
    if (extra_name != NULL)
        rc |= put_label(b, extra_name, extra_value, first);
    rc |= symbi_buf_putc(b, '}');
    return rc;
}

static bool has_labels(const struct series *s)
{
    return metric_defs[s->metric].labels[0] != NULL;
}

static int render_series(struct symbi_buf *b, const struct series *s)
{
    const char *name = metric_defs[s->metric].name;
    int rc = 0;
    if (metric_defs[s->metric].type != T_HISTOGRAM) {
        rc |= symbi_buf_puts(b, name);
        if (has_labels(s))
            rc |= put_labels(b, s, NULL, NULL);
        return rc | symbi_buf_printf(b, " %.17g\n", s->value);
    }
    for (size_t i = 0; i < metric_defs[s->metric].n_buckets; i++) {
        char le[32];
        snprintf(le, sizeof le, "%g", metric_defs[s->metric].buckets[i]);
        rc |= symbi_buf_printf(b, "%s_bucket", name);
        rc |= put_labels(b, s, "le", le);
        rc |= symbi_buf_printf(b, " %llu\n", (unsigned long long)s->buckets[i]);
    }
    rc |= symbi_buf_printf(b, "%s_bucket", name);
    rc |= put_labels(b, s, "le", "+Inf");
    rc |= symbi_buf_printf(b, " %llu\n", (unsigned long long)s->count);
    rc |= symbi_buf_printf(b, "%s_sum", name);
    if (has_labels(s))
        rc |= put_labels(b, s, NULL, NULL);
    rc |= symbi_buf_printf(b, " %.17g\n", s->value);
    rc |= symbi_buf_printf(b, "%s_count", name);
    if (has_labels(s))
        rc |= put_labels(b, s, NULL, NULL);
    rc |= symbi_buf_printf(b, " %llu\n", (unsigned long long)s->count);
    return rc;
}

int symbi_metrics_render(struct symbi_buf *b)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    int rc = 0;
    pthread_mutex_lock(&lock);
    for (int m = 0; m < M_COUNT && rc == 0; m++) {
        rc |= symbi_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", metric_defs[m].name,
                               metric_defs[m].help, metric_defs[m].name,
                               type_names[metric_defs[m].type]);
        bool any = false;
        for (size_t i = 0; i < n_series && rc == 0; i++) {
            if (series[i].metric == (enum metric_id)m) {
                rc |= render_series(b, &series[i]);
                any = true;
            }
        }
        /* unlabelled series always exist, at zero */
        if (!any && metric_defs[m].labels[0] == NULL) {
            struct series zero = {.metric = (enum metric_id)m};
            rc |= render_series(b, &zero);
        }
    }
    pthread_mutex_unlock(&lock);
    return rc == 0 ? 0 : SYMBI_ETOOBIG;
}

void symbi_metrics_reset(void)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < n_series; i++) {
        free(series[i].labels[0]);
        free(series[i].labels[1]);
    }
    free(series);
    free(index_table);
    series = NULL;
    index_table = NULL;
    n_series = cap_series = index_cap = 0;
    pthread_mutex_unlock(&lock);
}
