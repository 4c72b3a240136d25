/* value_json.c - a parsed DSL value as compact JSON text (arrays, maps,
 * strings with their escapes), the form the store keeps them in. */
#include "dsl/dsl_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *dsl_vkind_name(enum dsl_vkind k)
{
    static const char *const names[] = {
        [V_STRING] = "a string",     [V_NUMBER] = "a number",     [V_BOOL] = "a boolean",
        [V_IDENT] = "an identifier", [V_DURATION] = "a duration", [V_ARRAY] = "an array",
        [V_MAP] = "a map",
    };
    return names[k];
}

int dsl_json_string(struct symbi_buf *b, const char *s, size_t n)
{
    int rc = symbi_buf_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\') {
            run++;
            continue;
        }
        rc = symbi_buf_append(b, s + i - run, run);
        run = 0;
        if (rc != 0)
            break;
        switch (ch) {
        case '"':
            rc = symbi_buf_puts(b, "\\\"");
            break;
        case '\\':
            rc = symbi_buf_puts(b, "\\\\");
            break;
        case '\n':
            rc = symbi_buf_puts(b, "\\n");
            break;
        case '\t':
            rc = symbi_buf_puts(b, "\\t");
            break;
        case '\r':
            rc = symbi_buf_puts(b, "\\r");
            break;
        default:
            rc = symbi_buf_printf(b, "\\u%04x", ch);
            break;
        }
    }
    if (rc == 0)
        rc = symbi_buf_append(b, s + n - run, run);
    return rc == 0 ? symbi_buf_putc(b, '"') : rc;
}

/* A number's text as valid JSON: no '_', no leading zeros. */
static int json_number(struct symbi_buf *b, const char *s, size_t n)
{
    size_t i = 0;
    int rc = 0;
    if (i < n && s[i] == '-')
        rc = symbi_buf_putc(b, s[i++]);
    while (i + 1 < n && (s[i] == '0' || s[i] == '_') && s[i + 1] != '.')
        i++;
    for (; i < n && rc == 0; i++)
        if (s[i] != '_')
            rc = symbi_buf_putc(b, s[i]);
    return rc;
}

int dsl_value_json(struct symbi_buf *b, const struct dsl_value *v)
{
    int rc = 0;
    switch (v->kind) {
    case V_STRING:
    case V_IDENT:
    case V_DURATION:
        return dsl_json_string(b, v->s, v->len);
    case V_NUMBER:
        return json_number(b, v->s, v->len);
    case V_BOOL:
        return symbi_buf_puts(b, v->b ? "true" : "false");
    case V_ARRAY:
        rc = symbi_buf_putc(b, '[');
        for (const struct dsl_value *it = v->items; it != NULL && rc == 0; it = it->next) {
            if (it != v->items)
                rc = symbi_buf_putc(b, ',');
            if (rc == 0)
                rc = dsl_value_json(b, it);
        }
        return rc == 0 ? symbi_buf_putc(b, ']') : rc;
    case V_MAP:
        rc = symbi_buf_putc(b, '{');
        for (const struct dsl_entry *e = v->entries; e != NULL && rc == 0; e = e->next) {
            if (e != v->entries)
                rc = symbi_buf_putc(b, ',');
            if (rc == 0)
                rc = dsl_json_string(b, e->key, e->klen);
            if (rc == 0)
                rc = symbi_buf_putc(b, ':');
            if (rc == 0)
                rc = dsl_value_json(b, e->value);
        }
        return rc == 0 ? symbi_buf_putc(b, '}') : rc;
    }
    return SYMBI_EINVAL;
}
