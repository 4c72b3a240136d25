/* up_http.c - starts the HTTP API for `symbi up`: the server's settings
 * from the configuration, the environment and the --listen flag. */
#include "cli/cli.h"
#include "symbi/config.h"
#include "symbi/http.h"

#include <stdlib.h>

int symbi_cli_http_start(const struct symbi_cli *cli, const struct symbi_config *cfg,
                         const char *listen, const char *store_url,
                         const struct symbi_http_hooks *hooks, struct symbi_http_server **out,
                         struct symbi_err *err)
{
    struct symbi_http_config hc = {0};
    hc.listen = listen;
    if (hc.listen == NULL && cfg != NULL)
        hc.listen = cfg->listen;
    hc.max_body_bytes = cfg != NULL ? cfg->max_body_bytes : 0;
    hc.protect_health = cfg != NULL && cfg->protect_health;
    hc.upstream_health = cfg != NULL && cfg->upstream_health;
    hc.max_concurrent = cfg != NULL ? cfg->max_concurrent_jobs : 0;
    if (cfg != NULL) {
        hc.header_timeout_ms = cfg->header_timeout_ms;
        hc.max_connections = cfg->max_connections;
        hc.max_connections_per_ip = cfg->max_connections_per_ip;
    }
    hc.approval_timeout_ms = cfg != NULL ? cfg->approval_timeout_ms : 0;
    hc.api_key = cfg != NULL && cfg->api_key != NULL ? cfg->api_key : getenv("SYMBI_API_KEY");
    hc.hooks = hooks;
    /* benchmarking knobs: the server's threading mode and pool size */
    const char *mode = getenv("SYMBI_HTTP_MODE");
    if (mode != NULL && *mode != '\0' && symbi_http_mode_parse(mode, &hc.mode) != 0)
        return symbi_err_set(err, SYMBI_EINVAL, "SYMBI_HTTP_MODE: want pool, epoll or thread");
    const char *threads = getenv("SYMBI_HTTP_THREADS");
    if (threads != NULL && *threads != '\0' && symbi_parse_int(threads, 1, 256, &hc.threads) != 0)
        return symbi_err_set(err, SYMBI_EINVAL, "SYMBI_HTTP_THREADS: want 1..256");
    char *url;
    if (store_url != NULL)
        url = symbi_strdup(store_url);
    else if (cfg != NULL && cfg->store_url != NULL)
        url = symbi_strdup(cfg->store_url);
    else
        url = symbi_cli_store_url(cli);
    if (url == NULL)
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    hc.store_url = url;
    int rc = symbi_http_start(&hc, out, err);
    free(url);
    return rc;
}
