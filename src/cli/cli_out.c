/* cli_out.c - output helpers of the store-backed commands: aligned tables,
 * RFC 4180 CSV, indented JSON, UTC or local times, time arguments; and
 * symbi_cli_open_store. */
#include "cli/cli_out.h"

#include "symbi/store.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int symbi_cli_open_store(const struct symbi_cli *cli, struct symbi_store **out)
{
    char *url = symbi_cli_store_url(cli);
    if (url == NULL)
        return symbi_cli_store_url_fail();
    struct symbi_err err = {0};
    int rc = symbi_store_open(url, out, &err);
    free(url);
    if (rc != 0)
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", err.msg);
    return SYMBI_EXIT_OK;
}

int symbi_cli_store_fail(const struct symbi_err *err)
{
    return symbi_cli_fail(SYMBI_EXIT_ERROR, "%s",
                          err->msg[0] ? err->msg : symbi_strerror(err->code));
}

int symbi_cli_format_parse(const char *s, enum symbi_cli_format *out)
{
    static const char *const names[] = {"table", "json", "csv"};
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(names); i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum symbi_cli_format)i;
            return 0;
        }
    }
    return SYMBI_EINVAL;
}

void symbi_cli_table_init(struct symbi_cli_table *t, size_t ncols, const char *const *header)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
    symbi_cli_table_add(t, header);
}

int symbi_cli_table_add(struct symbi_cli_table *t, const char *const *cells)
{
    if (t->rows == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 16;
        char **p = realloc(t->cells, nc * t->ncols * sizeof *p);
        if (p == NULL)
            return SYMBI_ENOMEM;
        t->cells = p;
        t->cap = nc;
    }
    char **row = t->cells + t->rows * t->ncols;
    for (size_t i = 0; i < t->ncols; i++) {
        row[i] = symbi_strdup(cells[i] ? cells[i] : "");
        if (row[i] == NULL) {
            for (size_t k = 0; k < i; k++)
                free(row[k]);
            return SYMBI_ENOMEM;
        }
    }
    t->rows++;
    return 0;
}

/* Display width of a UTF-8 string: code points, not bytes. */
static size_t width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

void symbi_cli_table_print(const struct symbi_cli_table *t, FILE *out)
{
    size_t *w = calloc(t->ncols, sizeof *w);
    if (w == NULL)
        return;
    for (size_t r = 0; r < t->rows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t cw = width(t->cells[r * t->ncols + c]);
            if (cw > w[c])
                w[c] = cw;
        }
    for (size_t r = 0; r < t->rows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            for (const char *p = cell; *p; p++)
                fputc((unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p, out);
            if (c + 1 < t->ncols)
                for (size_t pad = width(cell); pad < w[c] + 2; pad++)
                    fputc(' ', out);
        }
        fputc('\n', out);
    }
    free(w);
}

static void csv_field(const char *s, FILE *out)
{
    size_t n = strlen(s);
    bool quote = n > 0 && (s[0] == ' ' || s[n - 1] == ' ');
    for (const char *p = s; *p && !quote; p++)
        quote = *p == ',' || *p == '"' || *p == '\n' || *p == '\r';
    if (!quote) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            fputc('"', out);
        fputc(*p, out);
    }
    fputc('"', out);
}

void symbi_cli_table_csv(const struct symbi_cli_table *t, FILE *out)
{
    for (size_t r = 0; r < t->rows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            if (c > 0)
                fputc(',', out);
            csv_field(t->cells[r * t->ncols + c], out);
        }
        fputs("\r\n", out);
    }
}

void symbi_cli_table_cleanup(struct symbi_cli_table *t)
{
    for (size_t i = 0; i < t->rows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

int symbi_cli_print_json(json_t *v)
{
    if (v == NULL)
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "out of memory");
    int rc = json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    fputc('\n', stdout);
    json_decref(v);
    return rc == 0 ? SYMBI_EXIT_OK : symbi_cli_fail(SYMBI_EXIT_ERROR, "cannot write output");
}

void symbi_cli_json_begin(struct symbi_cli_json_stream *js)
{
    js->n = 0;
    js->failed = false;
    fputc('[', stdout);
}

void symbi_cli_json_item(struct symbi_cli_json_stream *js, json_t *v)
{
    char *text = v != NULL ? json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                               JSON_ENSURE_ASCII | JSON_ENCODE_ANY)
                           : NULL;
    json_decref(v);
    if (text == NULL) {
        js->failed = true;
        return;
    }
    /* one level deeper than on its own: every line indented by two */
    fputs(js->n++ ? ",\n  " : "\n  ", stdout);
    for (const char *p = text, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        if (nl == NULL) {
            fputs(p, stdout);
            break;
        }
        fwrite(p, 1, (size_t)(nl - p), stdout);
        fputs("\n  ", stdout);
    }
    free(text);
}

int symbi_cli_json_end(struct symbi_cli_json_stream *js)
{
    fputs(js->n ? "\n]\n" : "]\n", stdout);
    if (fflush(stdout) != 0)
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "cannot write output");
    return js->failed ? symbi_cli_fail(SYMBI_EXIT_ERROR, "out of memory") : SYMBI_EXIT_OK;
}

char *symbi_cli_time(int64_t ms, bool local, char out[40])
{
    if (ms == SYMBI_TIME_NONE) {
        snprintf(out, 2, "-");
        return out;
    }
    if (!local)
        return symbi_time_fmt(ms, out);
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    if (localtime_r(&secs, &tm) == NULL)
        return symbi_time_fmt(ms, out);
    long off = tm.tm_gmtoff;
    int a = (int)((off < 0 ? -off : off) % 86400);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(out, 40, "%.20s %c%02d:%02d", base, off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
    return out;
}

char *symbi_cli_duration(int64_t ms, char out[32])
{
    if (ms < 0)
        snprintf(out, 2, "-");
    else if (ms < 1000)
        snprintf(out, 32, "%lldms", (long long)ms);
    else if (ms < 60000)
        snprintf(out, 32, "%.2fs", (double)ms / 1000.0);
    else
        symbi_duration_fmt(ms / 1000 * 1000, out);
    return out;
}

int symbi_cli_time_arg(const char *s, int64_t now, int64_t *out)
{
    if (strcmp(s, "now") == 0) {
        *out = now;
        return 0;
    }
    if (symbi_time_parse(s, out) == 0)
        return 0;
    int64_t ago;
    if (symbi_parse_duration_ms(s, &ago) == 0) {
        *out = now - ago;
        return 0;
    }
    return SYMBI_EINVAL;
}

const char *symbi_cli_job_schedule(const struct symbi_job *job, char *buf, size_t size)
{
    if (job->cron_expr != NULL)
        return job->cron_expr;
    char t[SYMBI_TIME_STRLEN];
    snprintf(buf, size, "at %s", symbi_time_fmt(job->at, t));
    return buf;
}

int symbi_cli_bad_option(const struct symbi_cli_cmd *self, int argc, char **argv)
{
    int i = optind - 1;
    const char *opt = i > 0 && i < argc ? argv[i] : "?";
    return symbi_cli_usage(self, "bad option '%s' for '%s'", opt, self->name);
}
