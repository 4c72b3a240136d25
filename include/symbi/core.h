/* core.h - symbi's foundation: error codes, bounded buffers, arenas, clocks,
 * time formatting, checked number parsing, UUIDs and logging. */
#ifndef SYMBI_CORE_H
#define SYMBI_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYMBI_VERSION "0.1.0"

/* ---- errors ------------------------------------------------------------
 * Functions return 0 on success or one of these negative codes. Codes are
 * added last and never renumbered. */
enum {
    SYMBI_OK = 0,
    SYMBI_ENOMEM = -1,        /* out of memory */
    SYMBI_EINVAL = -2,        /* invalid argument or input */
    SYMBI_ERANGE = -3,        /* value out of range */
    SYMBI_ENOTFOUND = -4,     /* no such object */
    SYMBI_EEXIST = -5,        /* already exists (name taken) */
    SYMBI_EAMBIGUOUS = -6,    /* a prefix names several objects */
    SYMBI_EIO = -7,           /* system or file I/O failure */
    SYMBI_ETOOBIG = -8,       /* a bound was exceeded */
    SYMBI_ESTORE = -9,        /* the store failed */
    SYMBI_EBUSY = -10,        /* busy, try again */
    SYMBI_ETIMEOUT = -11,     /* timed out */
    SYMBI_EPARSE = -12,       /* syntax error */
    SYMBI_EDENIED = -13,      /* refused by policy or authentication */
    SYMBI_EFULL = -14,        /* concurrency limit reached */
    SYMBI_ESTATE = -15,       /* not allowed in the object's current state */
    SYMBI_EUNSUPPORTED = -16, /* not supported by this build or backend */
    SYMBI_EAUTH = -17,        /* missing or bad credentials */
    SYMBI_ENOSCHED = -18,     /* no live scheduler */
};

/* A static English description of an error code; never NULL. */
const char *symbi_strerror(int code);

/* An error with a message for the user. Every function that takes a
 * `struct symbi_err *` accepts NULL. */
struct symbi_err {
    int code;
    char msg[512];
};

/* Sets e's code and formatted message; returns code, so that
 * `return symbi_err_set(err, SYMBI_EINVAL, "bad %s", x);` reads well. */
int symbi_err_set(struct symbi_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void symbi_err_clear(struct symbi_err *e);
/* A validation error of one field: *field = f (when field is not NULL), the
 * message "f: <formatted>", and SYMBI_EINVAL returned. */
int symbi_err_field(const char **field, const char *f, struct symbi_err *e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- memory ------------------------------------------------------------ */

/* Allocation wrappers: NULL on failure (callers check). symbi_strdup(NULL)
 * returns NULL. */
char *symbi_strdup(const char *s);
char *symbi_strndup(const char *s, size_t n);

/* A growable byte buffer, always NUL-terminated, that refuses to grow past
 * `max` bytes (SYMBI_ETOOBIG) and leaves its content intact when it does. */
struct symbi_buf {
    char *data; /* NULL until the first append */
    size_t len;
    size_t cap;
    size_t max;
};

void symbi_buf_init(struct symbi_buf *b, size_t max);
int symbi_buf_append(struct symbi_buf *b, const void *p, size_t n);
int symbi_buf_puts(struct symbi_buf *b, const char *s);
int symbi_buf_putc(struct symbi_buf *b, char c);
int symbi_buf_printf(struct symbi_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int symbi_buf_vprintf(struct symbi_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
void symbi_buf_reset(struct symbi_buf *b); /* len = 0, keeps memory */
/* Gives the caller the heap string (never NULL: "" when empty) and resets b. */
char *symbi_buf_steal(struct symbi_buf *b);
void symbi_buf_cleanup(struct symbi_buf *b);
/* The content as a C string ("" when empty). */
const char *symbi_buf_str(const struct symbi_buf *b);

/* A bump allocator for short-lived work (a parse, a request): everything it
 * handed out is freed at once by symbi_arena_cleanup. */
struct symbi_arena_chunk;
struct symbi_arena {
    struct symbi_arena_chunk *head;
    size_t total; /* bytes handed out */
};

void symbi_arena_init(struct symbi_arena *a);
void *symbi_arena_alloc(struct symbi_arena *a, size_t n); /* 16-aligned, zeroed */
char *symbi_arena_strdup(struct symbi_arena *a, const char *s);
char *symbi_arena_strndup(struct symbi_arena *a, const char *s, size_t n);
void symbi_arena_cleanup(struct symbi_arena *a);

/* ---- clocks and time ---------------------------------------------------
 * Two clocks: wall (UTC milliseconds since the epoch) for schedules and what
 * is stored; monotonic milliseconds for timeouts, leases and sleeps. Code
 * that decides takes a clock (or `now`) so tests can use a fake one. */
struct symbi_clock {
    int64_t (*wall_ms)(const struct symbi_clock *c);
    int64_t (*mono_ms)(const struct symbi_clock *c);
    void *ud;
};

extern const struct symbi_clock symbi_clock_system;

/* A clock that only moves when the test moves it. */
struct symbi_fake_clock {
    struct symbi_clock base;
    int64_t wall;
    int64_t mono;
};
void symbi_fake_clock_init(struct symbi_fake_clock *fc, int64_t wall_ms);
void symbi_fake_clock_advance(struct symbi_fake_clock *fc, int64_t ms);

int64_t symbi_now_wall_ms(void);
int64_t symbi_now_mono_ms(void);
/* Sets *out to the monotonic instant ms from now: the deadline of a
 * pthread_cond_timedwait on a condition variable made with
 * pthread_condattr_setclock(CLOCK_MONOTONIC), so a wall step never
 * stretches or cuts the wait. */
struct timespec;
void symbi_mono_deadline(int64_t ms, struct timespec *out);

/* "no time" in int64 time fields */
#define SYMBI_TIME_NONE INT64_MIN

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t symbi_days_from_civil(int64_t y, unsigned m, unsigned d);
void symbi_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

#define SYMBI_TIME_STRLEN 32
/* RFC 3339 UTC: "2026-03-29T01:30:00Z", or with ".123" before the Z when the
 * milliseconds are not zero. Writes "" for SYMBI_TIME_NONE. Returns out. */
char *symbi_time_fmt(int64_t ms, char out[SYMBI_TIME_STRLEN]);
/* Parses RFC 3339 ("2026-03-29T01:30:00Z", "...+02:00", fractional seconds,
 * space for T), a date "2026-03-29" (midnight UTC), or "YYYY-MM-DDTHH:MM[:SS]"
 * without offset (taken as UTC). SYMBI_EINVAL on anything else. */
int symbi_time_parse(const char *s, int64_t *out_ms);

/* ---- checked parsing --------------------------------------------------- */

/* The whole of s as a decimal integer in [min, max] ('_' between digits is
 * allowed). SYMBI_EINVAL when not a number, SYMBI_ERANGE when outside. */
int symbi_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
int symbi_parse_int(const char *s, int min, int max, int *out);
/* A duration: "30s" "5m" "2h" "1d" "1w" "500ms" "1h30m" "90" (seconds),
 * "1.5h", "5.minutes" / "5 minutes" / "2.hours" style. Bounded to 100 years. */
int symbi_parse_duration_ms(const char *s, int64_t *out_ms);
/* Formats a duration compactly ("1h30m", "45s", "250ms"). */
char *symbi_duration_fmt(int64_t ms, char out[32]);
/* true/false/yes/no/on/off/1/0 (any case). */
int symbi_parse_bool(const char *s, bool *out);
/* The value 0-15 of one hexadecimal digit (either case), -1 for any other byte. */
int symbi_hex_value(int c);

/* ---- UTF-8 ------------------------------------------------------------- */
/* The length (1-4) of the valid UTF-8 sequence at s with `left` bytes
 * available, or 0 when it is not valid (overlong, surrogate, > U+10FFFF,
 * truncated). */
size_t symbi_utf8_seq(const unsigned char *s, size_t left);
/* Encodes code point cp (<= U+10FFFF) at o; returns the bytes written (1-4). */
size_t symbi_utf8_put(char *o, uint32_t cp);

/* ---- identifiers ------------------------------------------------------- */
#define SYMBI_UUID_LEN 36
/* A random (v4) UUID in lowercase text form. SYMBI_EIO if no randomness. */
int symbi_uuid_v4(char out[SYMBI_UUID_LEN + 1]);
/* Random bytes from the kernel. */
int symbi_random_bytes(void *p, size_t n);

/* ---- logging -----------------------------------------------------------
 * One line per event: `time level component message key=value...`. Lines go
 * to stderr (when enabled) and to a log file rotated by size. Thread-safe. */
enum symbi_log_level {
    SYMBI_LOG_DEBUG = 0,
    SYMBI_LOG_INFO = 1,
    SYMBI_LOG_WARN = 2,
    SYMBI_LOG_ERROR = 3,
    SYMBI_LOG_OFF = 4,
};

struct symbi_log_config {
    enum symbi_log_level level;
    bool to_stderr;
    const char *file;      /* NULL: no file */
    size_t max_file_bytes; /* rotate past this (0: 10 MiB) */
    int keep_files;        /* rotated files kept (0: 3) */
};

int symbi_log_open(const struct symbi_log_config *cfg);
void symbi_log_close(void);
void symbi_log_set_level(enum symbi_log_level level);
bool symbi_log_enabled(enum symbi_log_level level);
const char *symbi_log_level_name(enum symbi_log_level level);
int symbi_log_level_parse(const char *s, enum symbi_log_level *out);
/* msg is a printf format; by convention its tail is `key=value` pairs. */
void symbi_log(enum symbi_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define SYMBI_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
