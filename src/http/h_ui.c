/* h_ui.c - the dashboard's files at /ui (SPEC §16): compiled in from ui/
 * by the build, served with a strict Content-Security-Policy, and the
 * `X-Symbi-Client: ui` marker that records the dashboard's calls as actor
 * "ui". The files need no key; every data call they make does. */
#include "http/http_internal.h"

#include <stdlib.h>
#include <string.h>

/* no inline script or style, nothing from another origin, no framing */
#define UI_CSP                                                                                     \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "                    \
    "form-action 'self'; frame-ancestors 'none'"

void http_ui_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Content-Security-Policy", UI_CSP);
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
    MHD_add_response_header(resp, "Permissions-Policy", "camera=(), microphone=(), geolocation=()");
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
}

const char *http_ui_actor(const char *client, const char *actor, char *buf, size_t cap)
{
    if (client == NULL || strcmp(client, "ui") != 0)
        return actor;
    if (actor == NULL || strcmp(actor, "api") == 0) /* protected mode */
        return "ui";
    int n = snprintf(buf, cap, "ui:%s", actor);
    return n > 0 && (size_t)n < cap ? buf : actor;
}

void http_h_ui(struct http_req *r)
{
    const char *name = r->n_params > 0 ? r->params[0] : "index.html";
    for (size_t i = 0; i < http_ui_n_files; i++) {
        const struct http_ui_file *f = &http_ui_files[i];
        if (strcmp(f->name, name) != 0)
            continue;
        char *text = malloc(f->len + 1);
        if (text == NULL) {
            http_reply_error(r, 500, "INTERNAL", NULL, "out of memory");
            return;
        }
        memcpy(text, f->data, f->len);
        text[f->len] = '\0';
        r->ui_page = true;
        http_reply_text(r, 200, f->ctype, text);
        return;
    }
    http_reply_error(r, 404, "NOT_FOUND", json_pack("{s:s}", "file", name),
                     "no dashboard file \"%.100s\"", name);
}
