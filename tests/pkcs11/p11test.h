/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the C tests of the PKCS#11 module: loading it like a consumer does
 * (dlopen + C_GetFunctionList only), finding objects, and checking signatures with OpenSSL. */
#ifndef DEVID_P11TEST_H
#define DEVID_P11TEST_H

#include "devid_test.h"
#include "ecdsa_der.h"

#include <dlfcn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_RV(expr, want)                                                                       \
    do {                                                                                           \
        CK_RV rv_ = (expr);                                                                        \
        CHECK(rv_ == (CK_RV)(want), "%s returned 0x%lx, expected 0x%lx (%s)", #expr,               \
              (unsigned long)rv_, (unsigned long)(want), #want);                                   \
    } while (0)

typedef struct {
    void *dl;
    CK_FUNCTION_LIST *f;
} p11_mod;

/* In sanitizer builds the module (and the libraries it pulls in) stays mapped after dlclose:
 * LeakSanitizer symbolizes leak stacks at exit, and frames in unloaded libraries become
 * "<unknown module>", unreadable and unmatched by tests/lsan.supp (tpm2-tss 4.1.3's leak in
 * pkcs11-api-no-tpm). The normal build and valgrind still unload it for real. */
#if defined(__SANITIZE_ADDRESS__)
#define P11TEST_DLOPEN_FLAGS (RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define P11TEST_DLOPEN_FLAGS (RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)
#endif
#endif
#ifndef P11TEST_DLOPEN_FLAGS
#define P11TEST_DLOPEN_FLAGS (RTLD_NOW | RTLD_LOCAL)
#endif

/* dlopen + dlsym("C_GetFunctionList") only, as keyd resolves the module. */
static inline bool mod_load(p11_mod *m, const char *path)
{
    m->dl = dlopen(path, P11TEST_DLOPEN_FLAGS);
    if (!m->dl) {
        fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
        return false;
    }
    CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(m->dl, "C_GetFunctionList");
    if (!gfl || gfl(&m->f) != CKR_OK || !m->f) {
        dlclose(m->dl);
        return false;
    }
    return true;
}

static inline void mod_unload(p11_mod *m)
{
    if (m->dl)
        dlclose(m->dl);
    m->dl = NULL;
    m->f = NULL;
}

/* Objects of class cls (and label, if not NULL): up to max handles, the count returned. */
static inline CK_ULONG find(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
                            const char *label, CK_OBJECT_HANDLE *out, CK_ULONG max)
{
    CK_ATTRIBUTE t[2] = { { CKA_CLASS, &cls, sizeof(cls) },
                          { CKA_LABEL, (void *)label, label ? strlen(label) : 0 } };
    CK_ULONG n = 0;
    if (f->C_FindObjectsInit(s, t, label ? 2 : 1) != CKR_OK)
        return 0;
    if (f->C_FindObjects(s, out, max, &n) != CKR_OK)
        n = 0;
    f->C_FindObjectsFinal(s);
    return n;
}

/* An attribute read two-call style (NULL → length, then the value); malloc'd, NULL on error. */
static inline unsigned char *attr(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                                  CK_ATTRIBUTE_TYPE type, CK_ULONG *len)
{
    CK_ATTRIBUTE a = { type, NULL, 0 };
    if (f->C_GetAttributeValue(s, o, &a, 1) != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
        return NULL;
    a.pValue = malloc(a.ulValueLen ? a.ulValueLen : 1);
    if (!a.pValue || f->C_GetAttributeValue(s, o, &a, 1) != CKR_OK) {
        free(a.pValue);
        return NULL;
    }
    *len = a.ulValueLen;
    return a.pValue;
}

static inline CK_ULONG attr_ulong(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                                  CK_ATTRIBUTE_TYPE type)
{
    CK_ULONG v = CK_UNAVAILABLE_INFORMATION;
    CK_ATTRIBUTE a = { type, &v, sizeof(v) };
    f->C_GetAttributeValue(s, o, &a, 1);
    return v;
}

/* The public key as a consumer rebuilds it from the public-key object's attributes (what keyd
 * does before every signature): EC_PARAMS + EC_POINT, or MODULUS + PUBLIC_EXPONENT. */
static inline EVP_PKEY *pub_from_attrs(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s,
                                       CK_OBJECT_HANDLE pub)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    CK_ULONG l1 = 0, l2 = 0;
    CK_KEY_TYPE kt = attr_ulong(f, s, pub, CKA_KEY_TYPE);
    unsigned char *a1 = attr(f, s, pub, kt == CKK_EC ? CKA_EC_PARAMS : CKA_MODULUS, &l1);
    unsigned char *a2 = attr(f, s, pub, kt == CKK_EC ? CKA_EC_POINT : CKA_PUBLIC_EXPONENT, &l2);
    BIGNUM *n = NULL, *e = NULL;
    bool ok = bld && a1 && a2;
    if (ok && kt == CKK_EC) {
        const unsigned char *p = a1;
        ASN1_OBJECT *oid = d2i_ASN1_OBJECT(NULL, &p, (long)l1);
        const char *curve = oid ? OBJ_nid2sn(OBJ_obj2nid(oid)) : NULL;
        /* EC_POINT: DER OCTET STRING (04 len ...) around the uncompressed point */
        size_t hdr = l2 > 2 && a2[1] == 0x81 ? 3 : 2;
        ok = curve && l2 > hdr && a2[0] == 0x04 && a2[hdr] == 0x04 &&
             OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curve, 0) &&
             OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, a2 + hdr, l2 - hdr);
        ASN1_OBJECT_free(oid);
    } else if (ok) {
        n = BN_bin2bn(a1, (int)l1, NULL);
        e = BN_bin2bn(a2, (int)l2, NULL);
        ok = n && e && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
             OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
    }
    EVP_PKEY_CTX *ctx = ok ? EVP_PKEY_CTX_new_from_name(NULL, kt == CKK_EC ? "EC" : "RSA", NULL)
                           : NULL;
    if (ctx && (params = OSSL_PARAM_BLD_to_param(bld)) && EVP_PKEY_fromdata_init(ctx) == 1 &&
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    free(a1);
    free(a2);
    return pkey;
}

/* r||s over a digest (any length, as ECDSA truncates). */
static inline bool verify_rs(EVP_PKEY *pub, const unsigned char *dg, size_t dlen,
                             const unsigned char *sig, size_t siglen)
{
    unsigned char der[160];
    size_t n = devid_ecdsa_rs_to_der(sig, siglen, der, sizeof(der));
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
    bool ok = n && ctx && EVP_PKEY_verify_init(ctx) == 1 &&
              EVP_PKEY_verify(ctx, der, n, dg, dlen) == 1;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

/* PKCS#1 v1.5 (md given: over that digest) or PSS (salt = digest length) verification. */
static inline bool verify_rsa(EVP_PKEY *pub, int padding, const EVP_MD *md, const unsigned char *dg,
                              size_t dlen, const unsigned char *sig, size_t siglen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
    bool ok = ctx && EVP_PKEY_verify_init(ctx) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(ctx, padding) == 1 &&
              EVP_PKEY_CTX_set_signature_md(ctx, md) == 1 &&
              (padding != RSA_PKCS1_PSS_PADDING ||
               EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) == 1) &&
              EVP_PKEY_verify(ctx, sig, siglen, dg, dlen) == 1;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

static inline X509 *read_cert(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/pki/%s.pem", dir, name);
    FILE *fp = fopen(path, "r");
    X509 *x = fp ? PEM_read_X509(fp, NULL, NULL, NULL) : NULL;
    if (fp)
        fclose(fp);
    return x;
}

#endif
