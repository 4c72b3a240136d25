/* deliver_answer_fuzz.c - libFuzzer target for what delivery decodes from
 * outside: a Slack Web API answer (untrusted JSON), and a ${VAR} template
 * expanded with a secret then scrubbed from an error text holding the
 * answer. Input: a template line, then the answer body. */
#include "deliver/deliver_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET "s3cr3t-value"

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        setenv("SYMBI_FUZZ_SECRET", SECRET, 1);
        setenv("SYMBI_FUZZ_EMPTY", "", 1);
        ready = 1;
    }
    if (size > 65536)
        size = 65536;
    const char *nl = memchr(data, '\n', size);
    size_t tlen = nl ? (size_t)(nl - (const char *)data) : size;
    if (tlen > 1024)
        tlen = 1024;
    char tmpl[1025];
    memcpy(tmpl, data, tlen);
    tmpl[tlen] = '\0';
    const char *body = nl ? nl + 1 : (const char *)data + size;
    size_t blen = size - (size_t)(body - (const char *)data);

    char why[160];
    memset(why, 'x', sizeof why);
    if (symbi_dlv_slack_ok(body, blen, why, sizeof why)) {
        why[0] = '\0'; /* why is only written for a refusal */
    } else {
        size_t n = strnlen(why, sizeof why);
        check(n < sizeof why, "reason bounded");
        check(n == 0 || ((unsigned char)why[n - 1] & 0xC0) != 0xC0, "reason not cut in a sequence");
    }
    struct dlv_secrets sec;
    symbi_dlv_secrets_init(&sec);
    char *v = symbi_dlv_expand(&sec, tmpl, true);
    if (v != NULL) {
        char text[512];
        snprintf(text, sizeof text, "post to %s failed: %s", v, why);
        symbi_dlv_redact(&sec, text, sizeof text);
        /* every remembered value is gone (one holding '*' could be made
         * again by an earlier "***"; a value written out in the input, or
         * formed around an empty ${VAR}, is no secret) */
        for (size_t i = 0; i < sec.n; i++)
            if (strchr(sec.v[i], '*') == NULL)
                check(strstr(text, sec.v[i]) == NULL, "a secret is scrubbed");
        check(symbi_dlv_cut(v, strlen(v), 7) <= 7, "cut bound");
        free(v);
    }
    symbi_dlv_secrets_cleanup(&sec);
    return 0;
}
