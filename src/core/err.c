/* err.c - error codes, their descriptions, and error values carrying a
 * message for the user. */
#include "symbi/core.h"

#include <stdio.h>
#include <string.h>

static const char *const error_names[] = {
    "success",
    "out of memory",
    "invalid argument",
    "value out of range",
    "not found",
    "already exists",
    "ambiguous reference",
    "input/output error",
    "too large",
    "store error",
    "busy",
    "timed out",
    "syntax error",
    "denied",
    "concurrency limit reached",
    "not allowed in the current state",
    "not supported",
    "authentication required",
    "no live scheduler",
};

const char *symbi_strerror(int code)
{
    if (code > 0 || (size_t)-code >= SYMBI_ARRAY_LEN(error_names))
        return "unknown error";
    return error_names[-code];
}

int symbi_err_set(struct symbi_err *e, int code, const char *fmt, ...)
{
    if (e == NULL)
        return code;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return code;
}

int symbi_err_field(const char **field, const char *f, struct symbi_err *e, const char *fmt, ...)
{
    if (field != NULL)
        *field = f;
    if (e != NULL) {
        va_list ap;
        va_start(ap, fmt);
        char msg[sizeof e->msg];
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        symbi_err_set(e, SYMBI_EINVAL, "%s: %s", f, msg);
    }
    return SYMBI_EINVAL;
}

void symbi_err_clear(struct symbi_err *e)
{
    if (e == NULL)
        return;
    e->code = 0;
    e->msg[0] = '\0';
}
