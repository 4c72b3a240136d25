/* h_openapi.c - GET /api/v1/openapi.json: the OpenAPI 3.1 document of this
 * API (docs/openapi.yaml, converted to JSON and compiled in by the build). */
#include "http/http_internal.h"

#include <stdlib.h>

void http_h_openapi(struct http_req *r)
{
    char *text = symbi_strndup(http_openapi_json, http_openapi_json_len);
    if (text == NULL) {
        http_reply_error(r, 500, "INTERNAL", NULL, "out of memory");
        return;
    }
    http_reply_text(r, 200, "application/json", text);
}
