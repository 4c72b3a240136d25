/* ctxjson.c - the session context as JSON text, written directly: the same
 * compact bytes Jansson would dump ({"mode","summary","history":[{"at",
 * "input","output"}]}), at memcpy speed for the 256 KiB histories a run
 * loads and saves; bytes that are not UTF-8 become U+FFFD. */
#include "exec/exec_int.h"

#include <string.h>

int exec_json_string(struct symbi_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    int rc = symbi_buf_putc(b, '"');
    size_t i = 0;
    while (rc == 0 && i < len) {
        size_t run = i;
        while (run < len && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
            run++;
        if (run > i) {
            rc = symbi_buf_append(b, p + i, run - i);
            i = run;
            continue;
        }
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t n = symbi_utf8_seq(p + i, len - i);
            if (n == 0) {
                rc = symbi_buf_append(b, "\xEF\xBF\xBD", 3);
                i++;
            } else {
                rc = symbi_buf_append(b, p + i, n);
                i += n;
            }
            continue;
        }
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char)c;
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
            break;
        }
        rc = symbi_buf_append(b, esc, n);
        i++;
    }
    return rc != 0 ? rc : symbi_buf_putc(b, '"');
}

static int opt_string(struct symbi_buf *b, const char *s)
{
    return s != NULL ? exec_json_string(b, s, strlen(s)) : symbi_buf_puts(b, "null");
}

int exec_json_entry(struct symbi_buf *b, const struct symbi_context_entry *e)
{
    char at[SYMBI_TIME_STRLEN];
    int rc = symbi_buf_puts(b, "{\"at\":");
    if (rc == 0 && e->at != SYMBI_TIME_NONE) {
        symbi_time_fmt(e->at, at);
        rc = exec_json_string(b, at, strlen(at));
    } else if (rc == 0) {
        rc = symbi_buf_puts(b, "null");
    }
    if (rc == 0)
        rc = symbi_buf_puts(b, ",\"input\":");
    if (rc == 0)
        rc = opt_string(b, e->input);
    if (rc == 0)
        rc = symbi_buf_puts(b, ",\"output\":");
    if (rc == 0)
        rc = opt_string(b, e->output);
    return rc != 0 ? rc : symbi_buf_putc(b, '}');
}

char *exec_json_context(const char *mode, const char *summary, bool with_history,
                        const struct symbi_context_entry *v, size_t n)
{
    struct symbi_buf b;
    symbi_buf_init(&b, 0);
    int rc = symbi_buf_puts(&b, "{\"mode\":");
    if (rc == 0)
        rc = opt_string(&b, mode);
    if (rc == 0)
        rc = symbi_buf_puts(&b, ",\"summary\":");
    if (rc == 0)
        rc = opt_string(&b, summary);
    if (rc == 0 && with_history) {
        rc = symbi_buf_puts(&b, ",\"history\":[");
        for (size_t i = 0; rc == 0 && i < n; i++) {
            if (i > 0)
                rc = symbi_buf_putc(&b, ',');
            if (rc == 0)
                rc = exec_json_entry(&b, &v[i]);
        }
        if (rc == 0)
            rc = symbi_buf_putc(&b, ']');
    }
    if (rc == 0)
        rc = symbi_buf_putc(&b, '}');
    if (rc != 0) {
        symbi_buf_cleanup(&b);
        return NULL;
    }
    return symbi_buf_steal(&b);
}
