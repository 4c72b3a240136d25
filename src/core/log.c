/* log.c - one line per event, `time level component message k=v...`, to
 * stderr and to a size-rotated file; safe to call from any thread. */
#include "symbi/core.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    enum symbi_log_level level;
    bool to_stderr;
    char *path;
    FILE *file;
    size_t file_bytes;
    size_t max_bytes;
    int keep;
} log_state = {SYMBI_LOG_INFO, true, NULL, NULL, 0, 0, 0};

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR", "OFF"};

const char *symbi_log_level_name(enum symbi_log_level level)
{
    if ((unsigned)level >= SYMBI_ARRAY_LEN(level_names))
        return "?";
    return level_names[level];
}

int symbi_log_level_parse(const char *s, enum symbi_log_level *out)
{
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(level_names); i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum symbi_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = SYMBI_LOG_WARN;
        return 0;
    }
    return SYMBI_EINVAL;
}

int symbi_log_open(const struct symbi_log_config *cfg)
{
    pthread_mutex_lock(&log_lock);
    log_state.level = cfg->level;
    log_state.to_stderr = cfg->to_stderr;
    log_state.max_bytes = cfg->max_file_bytes ? cfg->max_file_bytes : 10u * 1024 * 1024;
    log_state.keep = cfg->keep_files > 0 ? cfg->keep_files : 3;
    if (log_state.file != NULL)
        fclose(log_state.file);
    log_state.file = NULL;
    free(log_state.path);
    log_state.path = NULL;
    int rc = 0;
    if (cfg->file != NULL) {
        log_state.path = symbi_strdup(cfg->file);
        log_state.file = fopen(cfg->file, "a");
        if (log_state.file == NULL) {
            rc = SYMBI_EIO;
        } else {
            struct stat st;
            log_state.file_bytes = fstat(fileno(log_state.file), &st) == 0 ? (size_t)st.st_size : 0;
        }
    }
    pthread_mutex_unlock(&log_lock);
    return rc;
}

void symbi_log_close(void)
{
    pthread_mutex_lock(&log_lock);
    if (log_state.file != NULL)
        fclose(log_state.file);
    log_state.file = NULL;
    free(log_state.path);
    log_state.path = NULL;
    pthread_mutex_unlock(&log_lock);
}

void symbi_log_set_level(enum symbi_log_level level)
{
    pthread_mutex_lock(&log_lock);
    log_state.level = level;
    pthread_mutex_unlock(&log_lock);
}

bool symbi_log_enabled(enum symbi_log_level level)
{
    return level >= log_state.level && level < SYMBI_LOG_OFF;
}

/* Called with the lock held: symbi.log -> symbi.log.1 -> ... */
static void log_rotate(void)
{
    fclose(log_state.file);
    log_state.file = NULL;
    size_t n = strlen(log_state.path) + 16;
    char *from = malloc(n), *to = malloc(n);
    if (from != NULL && to != NULL) {
        for (int i = log_state.keep - 1; i >= 1; i--) {
            snprintf(from, n, "%s.%d", log_state.path, i);
            snprintf(to, n, "%s.%d", log_state.path, i + 1);
            rename(from, to);
        }
        snprintf(to, n, "%s.1", log_state.path);
        rename(log_state.path, to);
    }
    free(from);
    free(to);
    log_state.file = fopen(log_state.path, "a");
    log_state.file_bytes = 0;
}

void symbi_log(enum symbi_log_level level, const char *component, const char *fmt, ...)
{
    if (!symbi_log_enabled(level))
        return;
    char line[2048];
    char ts[SYMBI_TIME_STRLEN];
    int64_t now = symbi_now_wall_ms();
    /* always three fractional digits so that lines align and sort */
    symbi_time_fmt(now - now % 1000, ts);
    size_t tl = strlen(ts);
    if (tl > 0)
        snprintf(ts + tl - 1, sizeof ts - (tl - 1), ".%03dZ", (int)(now % 1000));
    int n = snprintf(line, sizeof line, "%s %s %s ", ts, symbi_log_level_name(level), component);
    if (n < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    for (size_t i = (size_t)n; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[len++] = '\n';
    line[len] = '\0';
    pthread_mutex_lock(&log_lock);
    if (log_state.to_stderr)
        fwrite(line, 1, len, stderr);
    if (log_state.file != NULL) {
        fwrite(line, 1, len, log_state.file);
        fflush(log_state.file);
        log_state.file_bytes += len;
        if (log_state.file_bytes >= log_state.max_bytes)
            log_rotate();
    }
    pthread_mutex_unlock(&log_lock);
}
