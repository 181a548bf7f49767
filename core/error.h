/* SPDX-License-Identifier: Apache-2.0 */
/* devid core errors.
 *
 * Every core entry point returns a devid_rc. Front-ends map these onto their own codes
 * (CK_RV, OpenSSL reason codes, exit codes) in one table each. The human-readable detail of
 * the most recent failure in this thread is kept in devid_last_error(), so messages can say
 * *what* failed without each layer re-formatting it.
 */
#ifndef DEVID_ERROR_H
#define DEVID_ERROR_H

#include <stdarg.h>

typedef enum devid_rc {
    DEVID_OK = 0,
    DEVID_ERR_NO_TPM,      /* no TPM reachable (device absent, swtpm down, connection lost) */
    DEVID_ERR_TPM,         /* the TPM answered with an error we do not classify further */
    DEVID_ERR_RETRY,       /* transient TPM condition (TPM_RC_RETRY/YIELDED/TESTING): try later */
    DEVID_ERR_NOT_FOUND,   /* no such key, certificate, NV index or object */
    DEVID_ERR_ARG,         /* a caller passed something invalid */
    DEVID_ERR_CONFIG,      /* the configuration is invalid */
    DEVID_ERR_AUTH,        /* wrong auth value / PIN */
    DEVID_ERR_LOCKOUT,     /* the TPM's dictionary-attack lockout is active */
    DEVID_ERR_UNSUPPORTED, /* algorithm, scheme or feature not available */
    DEVID_ERR_KEY_USAGE,   /* the key's attributes forbid this operation */
    DEVID_ERR_BUFFER,      /* output buffer too small; the needed size was reported */
    DEVID_ERR_MEMORY,
    DEVID_ERR_IO,         /* file system error */
    DEVID_ERR_FORMAT,     /* malformed input data (PEM, DER, URI, ...) */
    DEVID_ERR_PROHIBITED, /* the object is read-only (factory identity) */
    DEVID_ERR_INTERNAL,
    DEVID_RC_COUNT
} devid_rc;

/* Stable symbolic name, e.g. "DEVID_ERR_NO_TPM". */
const char *devid_rc_name(devid_rc rc);
/* Short description of the class, e.g. "no TPM reachable". */
const char *devid_rc_text(devid_rc rc);

/* Detail of the last failure recorded in this thread ("" if none). */
const char *devid_last_error(void);
void devid_clear_error(void);

/* Records rc with a printf-style detail, logs it at debug level and returns rc, so failure
 * sites read `return devid_fail(DEVID_ERR_ARG, "digest length %zu", n);`. Never pass secrets. */
devid_rc devid_fail(devid_rc rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* core-internal (not exported) */
devid_rc devid__failv(devid_rc rc, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#endif
