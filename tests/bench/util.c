/* SPDX-License-Identifier: Apache-2.0 */
/* devid-bench helpers on OpenSSL: the reference public key, signature checks. */
#include "bench.h"
#include "ecdsa_der.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bench_ossl_err(char *buf, size_t len, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char detail[256] = "no OpenSSL error";
    if (e)
        ERR_error_string_n(e, detail, sizeof(detail));
    snprintf(buf, len, "%s: %s", what, detail);
    ERR_clear_error();
}

void *bench_ldevid_pub(char *err, size_t errlen)
{
    const char *dir = getenv("DEVID_FIXTURE");
    char path[4096];
    if (!dir) {
        snprintf(err, errlen, "DEVID_FIXTURE is not set (run under tests/fixture/with-swtpm)");
        return NULL;
    }
    snprintf(path, sizeof(path), "%s/pki/ldevid.pem", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open %s", path);
        return NULL;
    }
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    EVP_PKEY *pub = x ? X509_get_pubkey(x) : NULL;
    X509_free(x);
    if (!pub)
        bench_ossl_err(err, errlen, path);
    return pub;
}

void *bench_pub_from_point(const unsigned char *point, size_t len)
{
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY *pub = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (b && ctx && OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) &&
        OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, point, len) &&
        (params = OSSL_PARAM_BLD_to_param(b)) && EVP_PKEY_fromdata_init(ctx) == 1)
        EVP_PKEY_fromdata(ctx, &pub, EVP_PKEY_PUBLIC_KEY, params);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return pub;
}

bool bench_verify(void *pubv, bench_sig_format fmt, const unsigned char *dgst,
                  const unsigned char *sig, size_t sig_len)
{
    EVP_PKEY *pub = pubv;
    unsigned char der[160];
    const unsigned char *use = sig;
    size_t use_len = sig_len;
    if (fmt == SIG_RAW_RS) {
        use_len = devid_ecdsa_rs_to_der(sig, sig_len, der, sizeof(der));
        if (!use_len)
            return false;
        use = der;
    }
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
    bool ok = ctx && EVP_PKEY_verify_init(ctx) == 1 &&
              EVP_PKEY_verify(ctx, use, use_len, dgst, 32) == 1;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}
