/* SPDX-License-Identifier: Apache-2.0 */
/* Reading and writing whole buffers through the core's BIO upcalls. */
#include "provider.h"

#include <openssl/crypto.h>
#include <stdlib.h>

bool dp_bio_read_all(const dp_ctx *ctx, OSSL_CORE_BIO *in, size_t max, unsigned char **data,
                     size_t *len)
{
    if (!ctx->bio_read_ex) {
        dp_raise(ctx, DP_R_INTERNAL, "no BIO read upcall");
        return false;
    }
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap + 1);
    if (!buf) {
        dp_raise(ctx, DP_R_MEMORY, "input buffer");
        return false;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= max) {
                free(buf);
                dp_raise(ctx, DP_R_FORMAT, "input larger than %zu bytes", max);
                return false;
            }
            cap *= 2;
            unsigned char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                dp_raise(ctx, DP_R_MEMORY, "input buffer");
                return false;
            }
            buf = nb;
        }
        size_t got = 0;
        if (!ctx->bio_read_ex(in, buf + n, cap - n, &got) || got == 0)
            break;
        n += got;
    }
    buf[n] = '\0'; /* convenient for text formats */
    *data = buf;
    *len = n;
    return true;
}

bool dp_bio_write_all(const dp_ctx *ctx, OSSL_CORE_BIO *out, const void *data, size_t len)
{
    const unsigned char *p = data;
    while (len > 0) {
        size_t done = 0;
        if (!ctx->bio_write_ex || !ctx->bio_write_ex(out, p, len, &done) || done == 0) {
            dp_raise(ctx, DP_R_IO, "writing output");
            return false;
        }
        p += done;
        len -= done;
    }
    return true;
}
