/* fetch.h - a bounded HTTPS GET for modules that may not link libcurl
 * themselves (the policy module's AgentPin discovery, SPEC §8.2). It lives
 * in src/deliver, where libcurl is allowed; the CLI wires it in. */
#ifndef SYMBI_FETCH_H
#define SYMBI_FETCH_H

#include "symbi/core.h"

/* GETs url (https:// only, no redirects, TLS always verified: against
 * ca_file when not NULL, else the system's CAs) within 10 s, with resolve
 * ("host:port:address", libcurl's CURLOPT_RESOLVE form; NULL: none)
 * applied: the connection to host goes to address:port (CURLOPT_CONNECT_TO,
 * so a test server need not listen on 443) and the certificate is checked
 * for host. A 200 answer of at most max bytes goes to *body (heap,
 * NUL-terminated) and *len. Errors: SYMBI_EINVAL (not https), SYMBI_EIO
 * (connection, TLS, status; err says which), SYMBI_ETOOBIG. The signature
 * is symbi_agentpin_fetch_fn's; ud is unused. */
int symbi_fetch_https(void *ud, const char *url, const char *ca_file, const char *resolve,
                      size_t max, char **body, size_t *len, struct symbi_err *err);

#endif
