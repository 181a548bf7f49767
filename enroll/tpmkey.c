/* SPDX-License-Identifier: Apache-2.0 */
#include "tpmkey.h"
#include "store.h" /* DEVID_LABEL_MAX */

#include <openssl/err.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static devid_rc load_rc = DEVID_OK;
static char load_err[256];
static OSSL_PROVIDER *loaded[2]; /* what we loaded (not what openssl.cnf had) */

static void load_once(void)
{
    if (!OSSL_PROVIDER_available(NULL, "devid") &&
        !(loaded[0] = OSSL_PROVIDER_load(NULL, "devid"))) {
        unsigned long e = ERR_peek_last_error();
        snprintf(load_err, sizeof(load_err),
                 "cannot load the devid OpenSSL provider (%s); set "
                 "OPENSSL_MODULES to its directory",
                 e ? ERR_reason_error_string(e) : "?");
        load_rc = DEVID_ERR_CONFIG;
    } else if (!OSSL_PROVIDER_available(NULL, "default") &&
               !(loaded[1] = OSSL_PROVIDER_load(NULL, "default"))) {
        snprintf(load_err, sizeof(load_err), "cannot load OpenSSL's default provider");
        load_rc = DEVID_ERR_CONFIG;
    }
    ERR_clear_error();
}

void enroll_providers_unload(void)
{
    for (int i = 0; i < 2; i++) {
        if (loaded[i])
            OSSL_PROVIDER_unload(loaded[i]);
        loaded[i] = NULL;
    }
}

devid_rc enroll_providers_load(void)
{
    pthread_once(&once, load_once);
    return load_rc == DEVID_OK ? DEVID_OK : devid_fail(load_rc, "%s", load_err);
}

static devid_rc load_uri(const char *uri, EVP_PKEY **out)
{
    devid_rc rc = enroll_providers_load();
    if (rc != DEVID_OK)
        return rc;
    *out = NULL;
    OSSL_STORE_CTX *st = OSSL_STORE_open_ex(uri, NULL, "provider=devid", NULL, NULL, NULL, NULL,
                                            NULL);
    while (st && !*out && !OSSL_STORE_eof(st)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(st);
        if (info && OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
            *out = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
        if (!info && OSSL_STORE_error(st))
            break;
    }
    /* the provider's detail says why (a refused PIN names its pin_file): more than its
     * reason code does */
    const char *data = NULL;
    int flags = 0;
    unsigned long e = ERR_peek_last_error_data(&data, &flags);
    char why[768] = "";
    if (e && data && *data && (flags & ERR_TXT_STRING))
        snprintf(why, sizeof(why), "%s: %s",
                 ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "error", data);
    else if (e)
        ERR_error_string_n(e, why, sizeof(why));
    OSSL_STORE_close(st);
    ERR_clear_error();
    if (!*out)
        return devid_fail(DEVID_ERR_NOT_FOUND, "cannot open the TPM key at %s%s%s", uri,
                          e ? ": " : "", why);
    return DEVID_OK;
}

devid_rc enroll_key_by_handle(uint32_t handle, EVP_PKEY **out)
{
    char uri[64];
    snprintf(uri, sizeof(uri), "devid:handle=0x%08x;type=private", handle);
    return load_uri(uri, out);
}

/* ASCII letters and digits as they are, every other byte percent-encoded. */
static void append_escaped(char *uri, size_t size, size_t *n, const unsigned char *v, size_t len)
{
    for (size_t i = 0; i < len && *n + 4 < size; i++) {
        bool plain = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
                     (v[i] >= '0' && v[i] <= '9');
        *n += (size_t)snprintf(uri + *n, size - *n, plain ? "%c" : "%%%02X", v[i]);
    }
}

devid_rc enroll_store_key(const char *label, const unsigned char *id, size_t id_len, EVP_PKEY **out)
{
    char uri[64 + 3 * DEVID_LABEL_MAX + 3 * 64];
    size_t n = (size_t)snprintf(uri, sizeof(uri), "devid:type=private;object=");
    append_escaped(uri, sizeof(uri), &n, (const unsigned char *)label, strlen(label));
    n += (size_t)snprintf(uri + n, sizeof(uri) - n, ";id=");
    append_escaped(uri, sizeof(uri), &n, id, id_len);
    return load_uri(uri, out);
}
