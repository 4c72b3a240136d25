/* cli_out.h - internal helpers of the store-backed commands: output formats
 * (aligned tables, RFC 4180 CSV, JSON), time display (UTC or --local), and
 * option parsing shared by `symbi cron ...` and `symbi audit ...`. */
#ifndef SYMBI_CLI_OUT_H
#define SYMBI_CLI_OUT_H

#include "cli/cli.h"
#include "symbi/model.h"

#include <jansson.h>

enum symbi_cli_format {
    SYMBI_FMT_TABLE = 0,
    SYMBI_FMT_JSON,
    SYMBI_FMT_CSV,
};

/* "table", "json" or "csv"; SYMBI_EINVAL otherwise. */
int symbi_cli_format_parse(const char *s, enum symbi_cli_format *out);

/* Rows of string cells, printed as an aligned table or as CSV. Cells are
 * copied. */
struct symbi_cli_table {
    size_t ncols;
    char **cells; /* rows * ncols, row 0 the header */
    size_t rows;
    size_t cap;
};
void symbi_cli_table_init(struct symbi_cli_table *t, size_t ncols, const char *const *header);
/* Appends a row of ncols cells (NULL prints as empty). SYMBI_ENOMEM. */
int symbi_cli_table_add(struct symbi_cli_table *t, const char *const *cells);
/* Aligned columns; control characters in cells print as spaces. */
void symbi_cli_table_print(const struct symbi_cli_table *t, FILE *out);
/* RFC 4180: header row, fields quoted when they hold a comma, quote, CR/LF
 * or edge spaces, quotes doubled, CRLF line ends. */
void symbi_cli_table_csv(const struct symbi_cli_table *t, FILE *out);
void symbi_cli_table_cleanup(struct symbi_cli_table *t);

/* Prints a JSON value (indented) and a newline; takes the reference. */
int symbi_cli_print_json(json_t *v);

/* A JSON array printed element by element (so 100,000 jobs never exist as
 * one tree): begin, then item for each element (takes the reference; NULL
 * means out of memory), then end, which returns the exit code. The text is
 * the same as printing the whole array with symbi_cli_print_json. */
struct symbi_cli_json_stream {
    size_t n;
    bool failed;
};
void symbi_cli_json_begin(struct symbi_cli_json_stream *js);
void symbi_cli_json_item(struct symbi_cli_json_stream *js, json_t *v);
int symbi_cli_json_end(struct symbi_cli_json_stream *js);

/* A time for tables: RFC 3339 UTC, or with local=true the local time with
 * its offset ("2026-03-29 03:30:00 +02:00"); "-" for SYMBI_TIME_NONE. */
char *symbi_cli_time(int64_t ms, bool local, char out[40]);
/* A duration in ms for tables ("1.25s", "250ms", "-" when < 0). */
char *symbi_cli_duration(int64_t ms, char out[32]);
/* A time argument: RFC 3339, a date, "now", or a duration meaning that
 * long ago ("90m", "2d"). SYMBI_EINVAL otherwise. */
int symbi_cli_time_arg(const char *s, int64_t now, int64_t *out);

/* The job's schedule for tables: its cron expression or "at <time>". */
const char *symbi_cli_job_schedule(const struct symbi_job *job, char *buf, size_t size);

/* The long options shared by the store commands are parsed with getopt_long;
 * this prints a usage error for the option getopt rejected. */
int symbi_cli_bad_option(const struct symbi_cli_cmd *self, int argc, char **argv);

/* Maps a store error to an exit code after printing it. */
int symbi_cli_store_fail(const struct symbi_err *err);

#endif
