/* model_answer_fuzz.c - libFuzzer target for the model runner's answer
 * parser (both APIs): any bytes parse or fail with SYMBI_EINVAL, and a
 * parsed answer can be sent back as a conversation turn. */
#include "agent/model_int.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int api = 0; api < 2; api++) {
        struct symbi_model_reply r;
        struct symbi_err err;
        int rc =
            symbi_agent__model_parse((enum symbi_model_api)api, (const char *)data, size, &r, &err);
        if (rc != 0 && rc != SYMBI_EINVAL && rc != SYMBI_ENOMEM)
            abort();
        if (rc != 0)
            continue;
        if (r.text == NULL || r.assistant == NULL)
            abort();
        struct symbi_model_conv c;
        if (symbi_agent__model_conv_start(&c, (enum symbi_model_api)api, "s", NULL, "j", "x",
                                          &err) == 0) {
            struct symbi_model_tool_reply *rs = calloc(r.n_calls + 1, sizeof *rs);
            for (size_t i = 0; rs != NULL && i < r.n_calls; i++) {
                rs[i].id = r.calls[i].id;
                rs[i].text = r.calls[i].arguments;
                rs[i].is_error = i % 2 == 1;
            }
            if (rs != NULL)
                symbi_agent__model_add_results(&c, &r, rs, r.n_calls);
            free(rs);
            symbi_agent__model_conv_cleanup(&c);
        }
        symbi_agent__model_reply_cleanup(&r);
    }
    return 0;
}
