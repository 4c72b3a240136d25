/* config_parse_fuzz.c - libFuzzer target for the symbi.toml reader: any
 * bytes must load or fail with a FILE:LINE message, without crashing or
 * leaking, and a loaded configuration must clean up. */
#include "symbi/config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct symbi_config cfg;
    symbi_config_init(&cfg);
    struct symbi_err err;
    symbi_err_clear(&err);
    int rc = symbi_config_load_buffer(&cfg, "fuzz.toml", (const char *)data, size, &err);
    if (rc != 0 && rc != SYMBI_EINVAL && rc != SYMBI_ENOMEM)
        abort();
    if (rc == SYMBI_EINVAL && strncmp(err.msg, "fuzz.toml:", 10) != 0)
        abort();
    if (rc == 0) {
        char *s = symbi_config_expand(cfg.slack_api_token);
        free(s);
        s = symbi_config_store_url(&cfg);
        free(s);
    }
    symbi_config_cleanup(&cfg);
    return 0;
}
