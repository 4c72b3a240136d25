/* random.c - kernel randomness and random (v4) UUIDs. */
#include "symbi/core.h"

#include <errno.h>
#include <stdio.h>
#include <sys/random.h>

int symbi_random_bytes(void *p, size_t n)
{
    unsigned char *b = p;
    while (n > 0) {
        ssize_t r = getrandom(b, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return SYMBI_EIO;
        }
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

int symbi_uuid_v4(char out[SYMBI_UUID_LEN + 1])
{
    unsigned char u[16];
    if (symbi_random_bytes(u, sizeof u) != 0)
        return SYMBI_EIO;
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
    snprintf(out, SYMBI_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
             u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
             u[15]);
    return 0;
}
