/* SPDX-License-Identifier: Apache-2.0 */
/* The keyd replay: keyd's building blocks (keyd.h), and its signatures checked with OpenSSL. */
#define OPENSSL_SUPPRESS_DEPRECATED /* RSA_padding_add_PKCS1_PSS_mgf1: keyd's own PSS path */
#include "keyd.h"

#include <pthread.h>

/* ---- keyd's C_Initialize: all four mutex callbacks plus both flags --------------------------- */

static CK_RV mx_create(void **m)
{
    pthread_mutex_t *p = malloc(sizeof(*p));
    if (!p || pthread_mutex_init(p, NULL) != 0) {
        free(p);
        return CKR_HOST_MEMORY;
    }
    *m = p;
    return CKR_OK;
}
static CK_RV mx_destroy(void *m)
{
    pthread_mutex_destroy(m);
    free(m);
    return CKR_OK;
}
static CK_RV mx_lock(void *m)
{
    return pthread_mutex_lock(m) == 0 ? CKR_OK : CKR_GENERAL_ERROR;
}
static CK_RV mx_unlock(void *m)
{
    return pthread_mutex_unlock(m) == 0 ? CKR_OK : CKR_GENERAL_ERROR;
}

CK_C_INITIALIZE_ARGS keyd_args = {
    mx_create,
    mx_destroy,
    mx_lock,
    mx_unlock,
    CKF_LIBRARY_CANT_CREATE_OS_THREADS | CKF_OS_LOCKING_OK,
    NULL,
};

CK_SESSION_HANDLE keyd_open(p11_mod *mod, CK_SLOT_ID slot)
{
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    CHECK(mod_load(mod, module_path), "dlopen %s", module_path);
    if (!mod->f)
        exit(check_summary("keyd-replay"));
    CHECK_RV(mod->f->C_Initialize(&keyd_args), CKR_OK);
    CHECK_RV(mod->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s),
             CKR_OK);
    return s;
}

void keyd_close(p11_mod *mod)
{
    CHECK_RV(mod->f->C_Finalize(NULL), CKR_OK);
    mod_unload(mod);
}

/* ---- login and lookups ------------------------------------------------------------------- */

void keyd_login(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s)
{
    CK_SESSION_INFO si;
    CHECK_RV(f->C_GetSessionInfo(s, &si), CKR_OK);
    if (!pin_set)
        return; /* no PIN known: keyd does not log in */
    if (si.state != CKS_RW_USER_FUNCTIONS && si.state != CKS_RO_USER_FUNCTIONS) {
        CK_RV rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)"1234", 4);
        CHECK(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN, "C_Login: 0x%lx",
              (unsigned long)rv);
    }
}

bool keyd_find(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *label,
               CK_OBJECT_HANDLE *h)
{
    return find(f, s, cls, label, h, 1) == 1;
}

bool keyd_key_pair(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *label,
                   CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
    return keyd_find(f, s, CKO_PUBLIC_KEY, label, pub) &&
           keyd_find(f, s, CKO_PRIVATE_KEY, label, priv);
}

void keyd_delete_pair(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *label)
{
    CK_OBJECT_CLASS classes[] = { CKO_PUBLIC_KEY, CKO_PRIVATE_KEY };
    for (int i = 0; i < 2; i++) {
        CK_OBJECT_HANDLE h;
        if (keyd_find(f, s, classes[i], label, &h))
            CHECK_RV(f->C_DestroyObject(s, h), CKR_OK);
    }
}

const unsigned char p256_oid[10] = { 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07 };

CK_RV keyd_generate(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *label, bool want_rsa,
                    CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
    keyd_login(f, s);
    keyd_delete_pair(f, s, label);
    CK_BBOOL t = CK_TRUE, fl = CK_FALSE;
    CK_ULONG bits = 2048;
    static const unsigned char exp[] = { 1, 0, 1 };
    CK_ATTRIBUTE pubt[7] = {
        { CKA_EC_PARAMS, (void *)p256_oid, sizeof(p256_oid) },
        { CKA_ENCRYPT, &t, sizeof(t) },
        { CKA_PRIVATE, &fl, sizeof(fl) },
        { CKA_TOKEN, &t, sizeof(t) },
        { CKA_VERIFY, &t, sizeof(t) },
        { CKA_LABEL, (void *)label, strlen(label) },
    };
    CK_ULONG npub = 6;
    if (want_rsa) {
        pubt[0] = (CK_ATTRIBUTE){ CKA_MODULUS_BITS, &bits, sizeof(bits) };
        pubt[npub++] = (CK_ATTRIBUTE){ CKA_PUBLIC_EXPONENT, (void *)exp, sizeof(exp) };
    }
    CK_ATTRIBUTE privt[] = {
        { CKA_DECRYPT, &t, sizeof(t) },   { CKA_PRIVATE, &t, sizeof(t) },
        { CKA_SENSITIVE, &t, sizeof(t) }, { CKA_SIGN, &t, sizeof(t) },
        { CKA_TOKEN, &t, sizeof(t) },     { CKA_LABEL, (void *)label, strlen(label) },
    };
    CK_MECHANISM m = { want_rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, NULL, 0 };
    return f->C_GenerateKeyPair(s, &m, pubt, npub, privt, 6, pub, priv);
}

CK_RV keyd_generate_hmac(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *label,
                         CK_OBJECT_HANDLE *key)
{
    CK_OBJECT_CLASS scls = CKO_SECRET_KEY;
    CK_KEY_TYPE generic = CKK_GENERIC_SECRET;
    CK_ULONG len32 = 32;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE kt[] = { { CKA_CLASS, &scls, sizeof(scls) },
                          { CKA_KEY_TYPE, &generic, sizeof(generic) },
                          { CKA_VALUE_LEN, &len32, sizeof(len32) },
                          { CKA_TOKEN, &yes, sizeof(yes) },
                          { CKA_PRIVATE, &yes, sizeof(yes) },
                          { CKA_SENSITIVE, &yes, sizeof(yes) },
                          { CKA_SIGN, &yes, sizeof(yes) },
                          { CKA_VERIFY, &yes, sizeof(yes) },
                          { CKA_LABEL, (void *)label, strlen(label) } };
    CK_MECHANISM hmac = { CKM_GENERIC_SECRET_KEY_GEN, NULL, 0 };
    return f->C_GenerateKey(s, &hmac, kt, 9, key);
}

bool keyd_rename_pair(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *from, const char *to,
                      bool only_public)
{
    CK_OBJECT_CLASS classes[] = { CKO_PUBLIC_KEY, CKO_PRIVATE_KEY };
    for (int i = 0; i < (only_public ? 1 : 2); i++) {
        keyd_login(f, s);
        CK_OBJECT_HANDLE h;
        if (!keyd_find(f, s, classes[i], from, &h)) {
            fprintf(stderr, "keyd: rename %s -> %s: source not found (class %lu)\n", from, to,
                    (unsigned long)classes[i]);
            return false;
        }
        CK_ATTRIBUTE relabel = { CKA_LABEL, (void *)to, strlen(to) };
        CK_RV rv = f->C_SetAttributeValue(s, h, &relabel, 1);
        if (rv != CKR_OK) {
            fprintf(stderr, "keyd: rename %s -> %s: C_SetAttributeValue 0x%lx\n", from, to,
                    (unsigned long)rv);
            return false;
        }
    }
    return true;
}

/* ---- signatures -------------------------------------------------------------------------- */

void ec_signatures(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *label,
                   CK_OBJECT_HANDLE pub, CK_OBJECT_HANDLE priv)
{
    CK_ULONG len = 0;
    unsigned char *params = attr(f, s, pub, CKA_EC_PARAMS, &len);
    CHECK(params && len == sizeof(p256_oid) && !memcmp(params, p256_oid, len),
          "%s: CKA_EC_PARAMS is not the P-256 OID", label);
    free(params);
    unsigned char *point = attr(f, s, pub, CKA_EC_POINT, &len);
    CHECK(point && len == 67 && point[0] == 0x04 && point[1] == 0x41 && point[2] == 0x04,
          "%s: CKA_EC_POINT is not 04 41 04 X Y", label);
    free(point);
    EVP_PKEY *pk = pub_from_attrs(f, s, pub);
    CHECK(pk != NULL, "%s: no public key from the attributes", label);
    static const unsigned char msg[] = "keyd replay";
    const EVP_MD *mds[] = { EVP_sha1(), EVP_sha224(), EVP_sha256() }; /* 20, 28, 32 bytes */
    for (size_t i = 0; pk && i < 3; i++) {
        unsigned char dg[EVP_MAX_MD_SIZE], sig[128];
        unsigned int dlen = 0;
        EVP_Digest(msg, sizeof(msg), dg, &dlen, mds[i], NULL);
        CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
        CK_ULONG siglen = 0;
        keyd_login(f, s);
        CHECK_RV(f->C_SignInit(s, &m, priv), CKR_OK);
        CHECK_RV(f->C_Sign(s, dg, dlen, NULL, &siglen), CKR_OK);
        CHECK(siglen == 64, "%s: size query says %lu", label, (unsigned long)siglen);
        siglen = sizeof(sig);
        CHECK_RV(f->C_Sign(s, dg, dlen, sig, &siglen), CKR_OK);
        CHECK(siglen == 64, "%s: ECDSA over %u bytes gave %lu bytes", label, dlen,
              (unsigned long)siglen);
        CHECK(verify_rs(pk, dg, dlen, sig, siglen), "%s: r||s over %u bytes does not verify", label,
              dlen);
        CK_MECHANISM vm = { CKM_ECDSA, NULL, 0 };
        CHECK_RV(f->C_VerifyInit(s, &vm, pub), CKR_OK);
        CHECK_RV(f->C_Verify(s, dg, dlen, sig, siglen), CKR_OK);
    }
    EVP_PKEY_free(pk);
}

void rsa_signatures(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *label,
                    CK_OBJECT_HANDLE pub, CK_OBJECT_HANDLE priv, bool raw_allowed)
{
    CK_ULONG nlen = 0, elen = 0;
    unsigned char *n = attr(f, s, pub, CKA_MODULUS, &nlen);
    unsigned char *e = attr(f, s, pub, CKA_PUBLIC_EXPONENT, &elen);
    CHECK(n && nlen == 256 && n[0] & 0x80, "%s: CKA_MODULUS (%lu bytes)", label,
          (unsigned long)nlen);
    CHECK(e && elen == 3 && e[0] == 1 && e[1] == 0 && e[2] == 1, "%s: CKA_PUBLIC_EXPONENT", label);
    free(n);
    free(e);
    EVP_PKEY *pk = pub_from_attrs(f, s, pub);
    CHECK(pk != NULL, "%s: no public key from the attributes", label);
    if (!pk)
        return;
    unsigned char dg[32], di[19 + 32], sig[512];
    static const unsigned char sha256_prefix[19] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                                     0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                                     0x01, 0x05, 0x00, 0x04, 0x20 };
    EVP_Digest("keyd replay", 11, dg, NULL, EVP_sha256(), NULL);
    memcpy(di, sha256_prefix, 19);
    memcpy(di + 19, dg, 32);

    /* CKM_RSA_PKCS over a DigestInfo: the module pads */
    CK_MECHANISM m = { CKM_RSA_PKCS, NULL, 0 };
    CK_ULONG siglen = sizeof(sig);
    keyd_login(f, s);
    CHECK_RV(f->C_SignInit(s, &m, priv), CKR_OK);
    CHECK_RV(f->C_Sign(s, di, sizeof(di), sig, &siglen), CKR_OK);
    CHECK(siglen == 256 && verify_rsa(pk, RSA_PKCS1_PADDING, EVP_sha256(), dg, 32, sig, siglen),
          "%s: CKM_RSA_PKCS signature does not verify", label);

    /* CKM_RSA_X_509 over a block keyd padded itself (PSS, its TLS 1.3 path) */
    unsigned char em[256];
    CHECK(RSA_padding_add_PKCS1_PSS_mgf1((RSA *)EVP_PKEY_get0_RSA(pk), em, dg, EVP_sha256(),
                                         EVP_sha256(), RSA_PSS_SALTLEN_DIGEST) == 1,
          "PSS encoding");
    CK_MECHANISM raw = { CKM_RSA_X_509, NULL, 0 };
    keyd_login(f, s);
    if (!raw_allowed) {
        /* a sign-only TPM key cannot do raw RSA: not among its allowed mechanisms */
        CHECK_RV(f->C_SignInit(s, &raw, priv), CKR_MECHANISM_INVALID);
    } else {
        siglen = sizeof(sig);
        CHECK_RV(f->C_SignInit(s, &raw, priv), CKR_OK);
        CHECK_RV(f->C_Sign(s, em, sizeof(em), sig, &siglen), CKR_OK);
        CHECK(siglen == 256 &&
                  verify_rsa(pk, RSA_PKCS1_PSS_PADDING, EVP_sha256(), dg, 32, sig, siglen),
              "%s: CKM_RSA_X_509 (PSS by the caller) does not verify", label);
        /* and the encryption round trip keyd's generated RSA keys allow */
        unsigned char ct[256], pt[256];
        CK_ULONG ctlen = sizeof(ct), ptlen = sizeof(pt);
        CK_MECHANISM em_ = { CKM_RSA_PKCS, NULL, 0 };
        CHECK_RV(f->C_EncryptInit(s, &em_, pub), CKR_OK);
        CHECK_RV(f->C_Encrypt(s, (CK_BYTE *)"secret", 6, ct, &ctlen), CKR_OK);
        keyd_login(f, s);
        CHECK_RV(f->C_DecryptInit(s, &em_, priv), CKR_OK);
        CHECK_RV(f->C_Decrypt(s, ct, ctlen, pt, &ptlen), CKR_OK);
        CHECK(ptlen == 6 && memcmp(pt, "secret", 6) == 0, "%s: RSA round trip", label);
    }
    EVP_PKEY_free(pk);
}
