/* SPDX-License-Identifier: Apache-2.0 */
#include "cert.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

devid_rc devid__cert_from_der(const unsigned char *der, size_t len, X509 **out)
{
    const unsigned char *p = der;
    X509 *cert = d2i_X509(NULL, &p, (long)len);
    if (!cert) {
        ERR_clear_error();
        return devid_fail(DEVID_ERR_FORMAT, "not a DER X.509 certificate");
    }
    for (const unsigned char *q = p; q < der + len; q++) {
        if (*q != 0x00 && *q != 0xff) {
            X509_free(cert);
            return devid_fail(DEVID_ERR_FORMAT, "%zu unexpected bytes after the certificate",
                              (size_t)(der + len - p));
        }
    }
    *out = cert;
    return DEVID_OK;
}

static devid_rc parse_bio(BIO *bio, const char *origin, X509 **leaf, STACK_OF(X509) **chain)
{
    STACK_OF(X509) *all = sk_X509_new_null();
    devid_rc rc = all ? DEVID_OK : devid_fail(DEVID_ERR_MEMORY, "%s: out of memory", origin);
    for (;;) {
        if (rc != DEVID_OK)
            break;
        char *name = NULL, *header = NULL;
        unsigned char *data = NULL;
        long len = 0;
        if (!PEM_read_bio(bio, &name, &header, &data, &len)) {
            unsigned long e = ERR_peek_last_error();
            if (ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
                rc = devid_fail(DEVID_ERR_FORMAT, "%s: malformed PEM", origin);
            ERR_clear_error();
            break;
        }
        X509 *cert = NULL;
        if (strcmp(name, PEM_STRING_X509) && strcmp(name, PEM_STRING_X509_OLD) &&
            strcmp(name, PEM_STRING_X509_TRUSTED))
            rc = devid_fail(DEVID_ERR_FORMAT, "%s: unexpected PEM block '%s'", origin, name);
        else if ((rc = devid__cert_from_der(data, (size_t)len, &cert)) != DEVID_OK)
            rc = devid_fail(rc, "%s: certificate %d: %s", origin, sk_X509_num(all) + 1,
                            devid_last_error());
        else if (!sk_X509_push(all, cert)) {
            X509_free(cert);
            rc = devid_fail(DEVID_ERR_MEMORY, "%s: out of memory", origin);
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
    }
    if (rc == DEVID_OK && sk_X509_num(all) == 0)
        rc = devid_fail(DEVID_ERR_FORMAT, "%s: no certificate", origin);
    if (rc != DEVID_OK) {
        sk_X509_pop_free(all, X509_free);
        return rc;
    }
    if (leaf)
        *leaf = sk_X509_shift(all);
    if (chain)
        *chain = all;
    else
        sk_X509_pop_free(all, X509_free);
    return DEVID_OK;
}

devid_rc devid__cert_parse_pem(const char *pem, size_t len, const char *origin, X509 **leaf,
                               STACK_OF(X509) **chain)
{
    if (len > INT32_MAX)
        return devid_fail(DEVID_ERR_FORMAT, "%s: too large", origin);
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio)
        return devid_fail(DEVID_ERR_MEMORY, "%s: out of memory", origin);
    devid_rc rc = parse_bio(bio, origin, leaf, chain);
    BIO_free(bio);
    return rc;
}

devid_rc devid_cert_read_pem(const char *path, X509 **leaf, STACK_OF(X509) **chain)
{
    BIO *bio = BIO_new_file(path, "r");
    if (!bio) {
        int err = errno;
        ERR_clear_error();
        return devid_fail(err == ENOENT ? DEVID_ERR_NOT_FOUND : DEVID_ERR_IO, "%s: %s", path,
                          strerror(err));
    }
    devid_rc rc = parse_bio(bio, path, leaf, chain);
    BIO_free(bio);
    return rc;
}
