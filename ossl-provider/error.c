/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSL errors for the provider: one table maps core's devid_rc onto our reason codes; the
 * detail text is core's devid_last_error(), so the message says what failed. */
#include "provider.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>

/* OSSL_ITEM.ptr is a plain void *: OpenSSL only reads the strings. */
const OSSL_ITEM dp_reason_strings[] = {
    { DP_R_NO_TPM, (void *)"no TPM reachable" },
    { DP_R_TPM, (void *)"TPM error" },
    { DP_R_RETRY, (void *)"TPM busy, try again" },
    { DP_R_NOT_FOUND, (void *)"no such key, certificate or object" },
    { DP_R_ARG, (void *)"invalid argument" },
    { DP_R_CONFIG, (void *)"invalid devid configuration" },
    { DP_R_AUTH, (void *)"wrong auth value or password" },
    { DP_R_LOCKOUT, (void *)"TPM dictionary-attack lockout active" },
    { DP_R_UNSUPPORTED, (void *)"algorithm, scheme or feature not supported" },
    { DP_R_KEY_USAGE, (void *)"key attributes forbid this operation" },
    { DP_R_BUFFER, (void *)"output buffer too small" },
    { DP_R_MEMORY, (void *)"out of memory" },
    { DP_R_IO, (void *)"file system error" },
    { DP_R_FORMAT, (void *)"malformed input data" },
    { DP_R_PROHIBITED, (void *)"object is read-only" },
    { DP_R_INTERNAL, (void *)"internal error" },
    { DP_R_BAD_URI, (void *)"malformed devid URI" },
    { DP_R_OPENSSL, (void *)"libcrypto operation failed" },
    { DP_R_NOT_INITIALISED, (void *)"devid provider not initialised" },
    { 0, NULL },
};

/* The one table: core result → reason. */
static int reason_of(devid_rc rc)
{
    static const int map[DEVID_RC_COUNT] = {
        [DEVID_OK] = DP_R_INTERNAL, /* never raised */
        [DEVID_ERR_NO_TPM] = DP_R_NO_TPM,
        [DEVID_ERR_TPM] = DP_R_TPM,
        [DEVID_ERR_RETRY] = DP_R_RETRY,
        [DEVID_ERR_NOT_FOUND] = DP_R_NOT_FOUND,
        [DEVID_ERR_ARG] = DP_R_ARG,
        [DEVID_ERR_CONFIG] = DP_R_CONFIG,
        [DEVID_ERR_AUTH] = DP_R_AUTH,
        [DEVID_ERR_LOCKOUT] = DP_R_LOCKOUT,
        [DEVID_ERR_UNSUPPORTED] = DP_R_UNSUPPORTED,
        [DEVID_ERR_KEY_USAGE] = DP_R_KEY_USAGE,
        [DEVID_ERR_BUFFER] = DP_R_BUFFER,
        [DEVID_ERR_MEMORY] = DP_R_MEMORY,
        [DEVID_ERR_IO] = DP_R_IO,
        [DEVID_ERR_FORMAT] = DP_R_FORMAT,
        [DEVID_ERR_PROHIBITED] = DP_R_PROHIBITED,
        [DEVID_ERR_INTERNAL] = DP_R_INTERNAL,
    };
    if ((unsigned)rc >= DEVID_RC_COUNT || map[rc] == 0)
        return DP_R_INTERNAL;
    return map[rc];
}

static void raise_v(const dp_ctx *ctx, const char *file, int line, const char *func, int reason,
                    const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));

static void raise_v(const dp_ctx *ctx, const char *file, int line, const char *func, int reason,
                    const char *fmt, va_list ap)
{
    if (ctx && ctx->new_error && ctx->vset_error) {
        ctx->new_error(ctx->handle);
        if (ctx->set_error_debug)
            ctx->set_error_debug(ctx->handle, file, line, func);
        ctx->vset_error(ctx->handle, (uint32_t)reason, fmt, ap);
        return;
    }
    /* No core handle (cannot happen once initialised): fall back to a plain library error. */
    char buf[512];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    ERR_new();
    ERR_set_debug(file, line, func);
    ERR_set_error(ERR_LIB_PROV, ERR_R_INTERNAL_ERROR, "devid: %s", buf);
}

void dp_raise_at(const dp_ctx *ctx, const char *file, int line, const char *func, int reason,
                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    raise_v(ctx, file, line, func, reason, fmt, ap);
    va_end(ap);
}

void dp_raise_rc_at(const dp_ctx *ctx, const char *file, int line, const char *func, devid_rc rc,
                    const char *what)
{
    const char *detail = devid_last_error();
    if (!detail || !*detail)
        detail = devid_rc_text(rc);
    dp_raise_at(ctx, file, line, func, reason_of(rc), "%s: %s", what, detail);
}

bool dp_core_ready(const dp_ctx *ctx)
{
    if (ctx->core_ok)
        return true;
    dp_raise(ctx, DP_R_NOT_INITIALISED, "devid core did not start: %s", ctx->core_error);
    return false;
}
