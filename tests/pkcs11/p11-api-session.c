/* SPDX-License-Identifier: Apache-2.0 */
/* The p11-api test: session objects. A public key, certificate or HMAC key created, or a key
 * pair or HMAC key generated (TPM keys, never persisted), with CKA_TOKEN absent or false is a
 * session object: creatable in a read-only session, visible to every
 * session, usable (verification), never written to the store, gone with the session that made
 * it and at C_CloseAllSessions; a token object in a read-only session stays
 * CKR_SESSION_READ_ONLY. */
#include "p11api.h"

#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/hmac.h>

static int store_files(void)
{
    const char *dir = getenv("DEVID_STORE");
    DIR *d = dir ? opendir(dir) : NULL;
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* A software key's public half as a session object (template without CKA_TOKEN). */
static CK_RV create_pub(CK_SESSION_HANDLE s, EVP_PKEY *pk, const char *label, CK_OBJECT_HANDLE *h)
{
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    CK_KEY_TYPE kt = EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC ? CKK_EC : CKK_RSA;
    CK_BBOOL yes = CK_TRUE;
    unsigned char a1[600], a2[600];
    CK_ATTRIBUTE t[6] = { { CKA_CLASS, &cls, sizeof(cls) },
                          { CKA_KEY_TYPE, &kt, sizeof(kt) },
                          { CKA_VERIFY, &yes, sizeof(yes) },
                          { CKA_LABEL, (void *)label, strlen(label) } };
    if (kt == CKK_EC) {
        static const unsigned char p256[] = { 0x06, 0x08, 0x2A, 0x86, 0x48,
                                              0xCE, 0x3D, 0x03, 0x01, 0x07 };
        size_t plen = 0;
        EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, a2 + 2,
                                        sizeof(a2) - 2, &plen);
        a2[0] = 0x04;
        a2[1] = (unsigned char)plen;
        t[4] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, (void *)p256, sizeof(p256) };
        t[5] = (CK_ATTRIBUTE){ CKA_EC_POINT, a2, plen + 2 };
    } else {
        BIGNUM *n = NULL, *e = NULL;
        EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n);
        EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e);
        t[4] = (CK_ATTRIBUTE){ CKA_MODULUS, a1, (CK_ULONG)BN_bn2bin(n, a1) };
        t[5] = (CK_ATTRIBUTE){ CKA_PUBLIC_EXPONENT, a2, (CK_ULONG)BN_bn2bin(e, a2) };
        BN_free(n);
        BN_free(e);
    }
    return f->C_CreateObject(s, t, 6, h);
}

static bool verifies(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, EVP_PKEY *pk)
{
    bool ec = EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC;
    unsigned char sig[512];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
              EVP_DigestSign(md, sig, &siglen, (const unsigned char *)"session", 7) == 1;
    EVP_MD_CTX_free(md);
    if (ok && ec) { /* DER → r||s */
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
        ok = es && BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32) == 32 &&
             BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32) == 32;
        siglen = 64;
        ECDSA_SIG_free(es);
    }
    CK_MECHANISM m = { ec ? CKM_ECDSA_SHA256 : CKM_SHA256_RSA_PKCS, NULL, 0 };
    return ok && f->C_VerifyInit(s, &m, h) == CKR_OK &&
           f->C_Verify(s, (CK_BYTE *)"session", 7, sig, siglen) == CKR_OK;
}

void session_objects(CK_SESSION_HANDLE rw, CK_SESSION_HANDLE ro)
{
    int files = store_files();
    EVP_PKEY *ec = EVP_EC_gen("P-256"), *rsa = EVP_RSA_gen(2048);
    CK_OBJECT_HANDLE hec = 0, hrsa = 0, hcert = 0, h[4];
    CHECK_RV(create_pub(ro, ec, "session-ec", &hec), CKR_OK); /* a read-only session */
    CHECK_RV(create_pub(rw, rsa, "session-rsa", &hrsa), CKR_OK);
    CHECK(find(f, rw, CKO_PUBLIC_KEY, "session-ec", h, 4) == 1 && h[0] == hec,
          "the R/O session's object, found from another session");
    CK_BBOOL token = CK_TRUE;
    CK_ATTRIBUTE ta = { CKA_TOKEN, &token, sizeof(token) };
    CHECK(f->C_GetAttributeValue(rw, hec, &ta, 1) == CKR_OK && token == CK_FALSE,
          "CKA_TOKEN of a session object");
    CHECK(verifies(rw, hec, ec), "ECDSA verification with a session public key");
    CHECK(verifies(ro, hrsa, rsa), "RSA verification with a session public key");
    CK_ULONG len = 0;
    unsigned char *pt = attr(f, rw, hec, CKA_EC_POINT, &len);
    CHECK(pt && len == 67, "CKA_EC_POINT of a session key");
    free(pt);

    /* a certificate (the software key's) */
    X509 *x = X509_new();
    X509_NAME *nm = X509_NAME_new();
    unsigned char *der = NULL;
    int dlen = -1;
    if (x && nm &&
        X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"session", -1, -1,
                                   0) &&
        X509_set_subject_name(x, nm) && X509_set_issuer_name(x, nm) &&
        X509_gmtime_adj(X509_getm_notBefore(x), 0) && X509_gmtime_adj(X509_getm_notAfter(x), 60) &&
        X509_set_pubkey(x, ec) && X509_sign(x, ec, EVP_sha256()) > 0)
        dlen = i2d_X509(x, &der);
    CK_OBJECT_CLASS cc = CKO_CERTIFICATE;
    CK_ATTRIBUTE ct[] = { { CKA_CLASS, &cc, sizeof(cc) },
                          { CKA_VALUE, der, (CK_ULONG)dlen },
                          { CKA_LABEL, (void *)"session-cert", 12 } };
    CHECK_RV(f->C_CreateObject(ro, ct, 3, &hcert), CKR_OK);
    unsigned char *v = attr(f, rw, hcert, CKA_VALUE, &len);
    CHECK(v && (int)len == dlen && !memcmp(v, der, len), "the session certificate's value");
    free(v);
    CK_ATTRIBUTE relabel = { CKA_LABEL, (void *)"renamed", 7 };
    CHECK_RV(f->C_SetAttributeValue(ro, hcert, &relabel, 1), CKR_OK);
    CHECK(find(f, rw, CKO_CERTIFICATE, "renamed", h, 4) == 1 && h[0] == hcert,
          "a session object renamed");
    CHECK(store_files() == files, "session objects were written to the store");

    /* a token object stays refused in a R/O session */
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE tt[] = { { CKA_CLASS, &cc, sizeof(cc) },
                          { CKA_VALUE, der, (CK_ULONG)dlen },
                          { CKA_TOKEN, &yes, sizeof(yes) } };
    CHECK_RV(f->C_CreateObject(ro, tt, 3, &h[0]), CKR_SESSION_READ_ONLY);

    /* destroyed one by one, with their session, at C_CloseAllSessions */
    CHECK_RV(f->C_DestroyObject(rw, hrsa), CKR_OK);
    CHECK_RV(f->C_GetAttributeValue(rw, hrsa, &ta, 1), CKR_OBJECT_HANDLE_INVALID);
    CK_SESSION_HANDLE tmp;
    CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &tmp), CKR_OK);
    CK_OBJECT_HANDLE gone = 0;
    CHECK_RV(create_pub(tmp, rsa, "short-lived", &gone), CKR_OK);
    CHECK_RV(f->C_CloseSession(tmp), CKR_OK);
    CHECK(find(f, rw, CKO_PUBLIC_KEY, "short-lived", h, 4) == 0,
          "a session object outlived its session");
    CHECK_RV(f->C_DestroyObject(rw, hcert), CKR_OK);
    CHECK_RV(f->C_DestroyObject(rw, hec), CKR_OK);
    CHECK(store_files() == files, "the store changed");
    OPENSSL_free(der);
    X509_NAME_free(nm);
    X509_free(x);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(rsa);
}

/* A forked child that calls C_Finalize first (it never initialised the module itself), then
 * C_Initialize, sees none of the parent's session objects and leaves them alone, also when it
 * generates, uses and drops session keys of its own in the TPM. The parent's session ro holds
 * a key pair labelled sess-ec; a data object "parent-data" is added here. */
static bool forked_finalize_first(CK_SESSION_HANDLE ro)
{
    CK_OBJECT_CLASS dc = CKO_DATA;
    CK_ATTRIBUTE dt[] = { { CKA_CLASS, &dc, sizeof(dc) },
                          { CKA_LABEL, (void *)"parent-data", 11 },
                          { CKA_VALUE, (void *)"parent", 6 } };
    CK_OBJECT_HANDLE hd = 0;
    if (f->C_CreateObject(ro, dt, 3, &hd) != CKR_OK)
        return false;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int bad = 0;
        CK_RV rv = f->C_Finalize(NULL);
        bad |= (rv != CKR_OK && rv != CKR_CRYPTOKI_NOT_INITIALIZED) << 0;
        bad |= (f->C_Initialize(NULL) != CKR_OK) << 1;
        CK_SESSION_HANDLE s = 0;
        CK_OBJECT_HANDLE h[4];
        bad |= (f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK) << 2;
        bad |= (find(f, s, CKO_PRIVATE_KEY, "sess-ec", h, 4) != 0) << 3;
        bad |= (find(f, s, CKO_PUBLIC_KEY, "sess-ec", h, 4) != 0) << 3;
        bad |= (find(f, s, CKO_DATA, "parent-data", h, 4) != 0) << 3;
        bad |= (f->C_GetAttributeValue(s, hd, &(CK_ATTRIBUTE){ CKA_CLASS, NULL, 0 }, 1) !=
                CKR_OBJECT_HANDLE_INVALID)
               << 4;
        /* the child's own session key pair, used and dropped in the TPM */
        static const unsigned char p256[] = { 0x06, 0x08, 0x2A, 0x86, 0x48,
                                              0xCE, 0x3D, 0x03, 0x01, 0x07 };
        CK_ATTRIBUTE ept[] = { { CKA_EC_PARAMS, (void *)p256, sizeof(p256) },
                               { CKA_LABEL, (void *)"child-ec", 8 } };
        CK_MECHANISM eg = { CKM_EC_KEY_PAIR_GEN, NULL, 0 }, m = { CKM_ECDSA, NULL, 0 };
        CK_OBJECT_HANDLE pub = 0, priv = 0;
        unsigned char dg[32] = { 9 }, sig[64];
        CK_ULONG siglen = sizeof(sig);
        bad |= (f->C_GenerateKeyPair(s, &eg, ept, 2, NULL, 0, &pub, &priv) != CKR_OK) << 5;
        bad |=
            (f->C_SignInit(s, &m, priv) != CKR_OK || f->C_Sign(s, dg, 32, sig, &siglen) != CKR_OK)
            << 5;
        bad |= (f->C_CloseAllSessions(0) != CKR_OK) << 6;
        bad |= (f->C_Finalize(NULL) != CKR_OK) << 6;
        _exit(bad);
    }
    int st = 0;
    bool ok = pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (!ok)
        fprintf(stderr, "forked child (C_Finalize first): status 0x%x\n", st);
    return ok;
}

/* The digest the session keys sign. */
static unsigned char session_dg[32] = { 1, 2, 3 };

/* An ECDSA signature with the session key priv that OpenSSL verifies with pk. */
static void session_key_signs(CK_SESSION_HANDLE rw, CK_OBJECT_HANDLE priv, EVP_PKEY *pk,
                              const char *what)
{
    unsigned char sig[64];
    CK_ULONG siglen = sizeof(sig);
    CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
    CHECK_RV(f->C_SignInit(rw, &m, priv), CKR_OK);
    CHECK_RV(f->C_Sign(rw, session_dg, 32, sig, &siglen), CKR_OK);
    CHECK(pk && verify_rs(pk, session_dg, 32, sig, siglen), "%s", what);
}

/* A forked child starts without the parent's session objects, and dropping what it inherited
 * leaves the parent's TPM key alone. */
static void forked_child_without(CK_SESSION_HANDLE rw, CK_OBJECT_HANDLE priv)
{
    CK_BBOOL token = CK_TRUE;
    CK_ATTRIBUTE ta = { CKA_TOKEN, &token, sizeof(token) };
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int bad = f->C_Initialize(NULL) != CKR_OK;
        bad |= f->C_GetAttributeValue(rw, priv, &ta, 1) != CKR_SESSION_HANDLE_INVALID;
        bad |= f->C_Finalize(NULL) != CKR_OK;
        _exit(bad);
    }
    int st = 0;
    CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "forked child: status 0x%x", st);
}

/* After a forked child's C_Finalize: the parent's session data object and key pair. */
static void parent_objects_kept(CK_SESSION_HANDLE ro, CK_OBJECT_HANDLE epub, CK_OBJECT_HANDLE epriv)
{
    CHECK(forked_finalize_first(ro), "forked child (C_Finalize first)");
    CK_OBJECT_HANDLE hd = one(ro, CKO_DATA, "parent-data");
    CK_ULONG dlen = 0;
    unsigned char *dv = attr(f, ro, hd, CKA_VALUE, &dlen);
    CHECK(dv && dlen == 6 && !memcmp(dv, "parent", 6),
          "the parent's session data object after the child's C_Finalize");
    free(dv);
    CHECK_RV(f->C_DestroyObject(ro, hd), CKR_OK);
    CHECK(one(ro, CKO_PRIVATE_KEY, "sess-ec") == epriv &&
              one(ro, CKO_PUBLIC_KEY, "sess-ec") == epub,
          "the parent finds its session key pair after the child's C_Finalize");
}

/* RSA decryption in the TPM with a session key pair. */
static void session_rsa_round_trip(CK_SESSION_HANDLE rw, CK_OBJECT_HANDLE rpub,
                                   CK_OBJECT_HANDLE rpriv)
{
    unsigned char ct[256], pt[256];
    CK_ULONG ctlen = sizeof(ct), ptlen = sizeof(pt);
    CK_MECHANISM rm = { CKM_RSA_PKCS, NULL, 0 };
    CHECK_RV(f->C_EncryptInit(rw, &rm, rpub), CKR_OK);
    CHECK_RV(f->C_Encrypt(rw, (CK_BYTE *)"session", 7, ct, &ctlen), CKR_OK);
    CHECK_RV(f->C_DecryptInit(rw, &rm, rpriv), CKR_OK);
    CHECK_RV(f->C_Decrypt(rw, ct, ctlen, pt, &ptlen), CKR_OK);
    CHECK(ptlen == 7 && !memcmp(pt, "session", 7), "RSA round trip with a session key pair");
}

/* Session key pairs: TPM keys generated in a R/O session, used, renamed one object at a
 * time, never written to the store, gone with their session. */
void session_key_pairs(CK_SESSION_HANDLE rw)
{
    int files = store_files();
    CK_SESSION_HANDLE ro;
    CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &ro), CKR_OK);
    static const unsigned char p256[] = {
        0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07
    };
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ULONG bits = 2048;
    CK_ATTRIBUTE ept[] = { { CKA_EC_PARAMS, (void *)p256, sizeof(p256) },
                           { CKA_LABEL, (void *)"sess-ec", 7 } };
    CK_ATTRIBUTE rpt[] = { { CKA_MODULUS_BITS, &bits, sizeof(bits) },
                           { CKA_TOKEN, &no, sizeof(no) } };
    CK_ATTRIBUTE rkt[] = { { CKA_DECRYPT, &yes, sizeof(yes) }, { CKA_TOKEN, &no, sizeof(no) } };
    CK_MECHANISM eg = { CKM_EC_KEY_PAIR_GEN, NULL, 0 }, rg = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
    CK_OBJECT_HANDLE epub = 0, epriv = 0, rpub = 0, rpriv = 0, h[4];
    CHECK_RV(f->C_GenerateKeyPair(ro, &eg, ept, 2, NULL, 0, &epub, &epriv), CKR_OK);
    CHECK_RV(f->C_GenerateKeyPair(ro, &rg, rpt, 2, rkt, 2, &rpub, &rpriv), CKR_OK);
    CK_BBOOL token = CK_TRUE;
    CK_ATTRIBUTE ta = { CKA_TOKEN, &token, sizeof(token) };
    CHECK(f->C_GetAttributeValue(rw, epriv, &ta, 1) == CKR_OK && token == CK_FALSE,
          "CKA_TOKEN of a session private key");
    CHECK(store_files() == files, "a session key pair was written to the store");
    /* ECDSA in the TPM, verified through the module and by OpenSSL */
    unsigned char sig[64];
    CK_ULONG siglen = sizeof(sig);
    CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
    CHECK_RV(f->C_SignInit(rw, &m, epriv), CKR_OK);
    CHECK_RV(f->C_Sign(rw, session_dg, 32, sig, &siglen), CKR_OK);
    CHECK_RV(f->C_VerifyInit(rw, &m, epub), CKR_OK);
    CHECK_RV(f->C_Verify(rw, session_dg, 32, sig, siglen), CKR_OK);
    /* static: the forked children below inherit it, and valgrind (run on this test) looks
     * for it in memory, not in a register of the parent's frame */
    static EVP_PKEY *pk;
    pk = pub_from_attrs(f, rw, epub);
    CHECK(pk && verify_rs(pk, session_dg, 32, sig, siglen),
          "OpenSSL verifies the session key's ECDSA");
    forked_child_without(rw, epriv);
    session_key_signs(rw, epriv, pk, "the session key signs after a fork");
    parent_objects_kept(ro, epub, epriv);
    session_key_signs(rw, epriv, pk,
                      "the session key signs after the child's C_Finalize and C_Initialize");
    EVP_PKEY_free(pk);
    session_rsa_round_trip(rw, rpub, rpriv);
    /* keyd's rename, one object at a time */
    CK_ATTRIBUTE relabel = { CKA_LABEL, (void *)"sess-ec-new", 11 };
    /* a name no object can keep changes nothing, also with a good one beside it */
    static const unsigned char long_id[65] = { 0 };
    CK_ATTRIBUTE bad_names[][2] = {
        { relabel, { CKA_LABEL, (void *)"a\0b", 3 } },
        { relabel, { CKA_ID, (void *)long_id, sizeof(long_id) } },
    };
    for (size_t i = 0; i < 2; i++) {
        CHECK_RV(f->C_SetAttributeValue(ro, epub, bad_names[i], 2), CKR_ATTRIBUTE_VALUE_INVALID);
        CHECK(find(f, rw, CKO_PUBLIC_KEY, "sess-ec", h, 4) == 1 && h[0] == epub,
              "a refused rename changed the session public key's label");
    }
    CK_ATTRIBUTE nul_label[] = { { CKA_CLASS, &(CK_OBJECT_CLASS){ CKO_CERTIFICATE },
                                   sizeof(CK_OBJECT_CLASS) },
                                 { CKA_LABEL, (void *)"a\0b", 3 } };
    CHECK_RV(f->C_CreateObject(ro, nul_label, 2, &h[0]), CKR_ATTRIBUTE_VALUE_INVALID);
    CHECK_RV(f->C_SetAttributeValue(ro, epub, &relabel, 1), CKR_OK);
    CHECK(find(f, rw, CKO_PRIVATE_KEY, "sess-ec", h, 4) == 1 && h[0] == epriv &&
              find(f, rw, CKO_PUBLIC_KEY, "sess-ec-new", h, 4) == 1 && h[0] == epub,
          "renaming a session public key renames it only");
    /* gone with the session that generated them */
    CHECK_RV(f->C_CloseSession(ro), CKR_OK);
    CHECK_RV(f->C_GetAttributeValue(rw, epriv, &ta, 1), CKR_OBJECT_HANDLE_INVALID);
    CHECK_RV(f->C_GetAttributeValue(rw, rpub, &ta, 1), CKR_OBJECT_HANDLE_INVALID);
    CHECK(store_files() == files, "the store changed");
}

/* Session HMAC keys: generated and imported in the TPM from a R/O session, never written,
 * gone with their session. */
void session_secret_keys(void)
{
    int files = store_files();
    CK_SESSION_HANDLE ro;
    CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &ro), CKR_OK);
    CK_OBJECT_CLASS sc = CKO_SECRET_KEY;
    CK_KEY_TYPE gt = CKK_GENERIC_SECRET;
    CK_ULONG l32 = 32;
    static const unsigned char value[20] = "a session hmac key!";
    CK_ATTRIBUTE gen_t[] = { { CKA_VALUE_LEN, &l32, sizeof(l32) },
                             { CKA_LABEL, (void *)"sess-mac", 8 } };
    CK_ATTRIBUTE imp_t[] = { { CKA_CLASS, &sc, sizeof(sc) },
                             { CKA_KEY_TYPE, &gt, sizeof(gt) },
                             { CKA_VALUE, (void *)value, sizeof(value) } };
    CK_MECHANISM kg = { CKM_GENERIC_SECRET_KEY_GEN, NULL, 0 }, mac = { CKM_SHA256_HMAC, NULL, 0 };
    CK_OBJECT_HANDLE gk = 0, ik = 0, h;
    CHECK_RV(f->C_GenerateKey(ro, &kg, gen_t, 2, &gk), CKR_OK);
    CHECK_RV(f->C_CreateObject(ro, imp_t, 3, &ik), CKR_OK);
    CK_BBOOL token = CK_TRUE;
    CK_ATTRIBUTE ta = { CKA_TOKEN, &token, sizeof(token) };
    CHECK(f->C_GetAttributeValue(ro, gk, &ta, 1) == CKR_OK && token == CK_FALSE,
          "CKA_TOKEN of a session HMAC key");
    unsigned char m1[32], want[32];
    CK_ULONG l1 = sizeof(m1);
    unsigned int wl = 0;
    CHECK_RV(f->C_SignInit(ro, &mac, ik), CKR_OK);
    CHECK_RV(f->C_Sign(ro, (CK_BYTE *)"data", 4, m1, &l1), CKR_OK);
    HMAC(EVP_sha256(), value, sizeof(value), (const unsigned char *)"data", 4, want, &wl);
    CHECK(l1 == 32 && wl == 32 && !memcmp(m1, want, 32), "an imported session key's HMAC");
    l1 = sizeof(m1);
    CHECK_RV(f->C_SignInit(ro, &mac, gk), CKR_OK);
    CHECK_RV(f->C_Sign(ro, (CK_BYTE *)"data", 4, m1, &l1), CKR_OK);
    CHECK_RV(f->C_VerifyInit(ro, &mac, gk), CKR_OK);
    CHECK_RV(f->C_Verify(ro, (CK_BYTE *)"data", 4, m1, l1), CKR_OK);
    CHECK(find(f, ro, CKO_SECRET_KEY, "sess-mac", &h, 1) == 1 && h == gk, "found by label");
    CHECK(store_files() == files, "a session HMAC key was written to the store");
    CHECK_RV(f->C_CloseSession(ro), CKR_OK);
    CK_SESSION_HANDLE s2;
    CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s2), CKR_OK);
    CHECK_RV(f->C_GetAttributeValue(s2, gk, &ta, 1), CKR_OBJECT_HANDLE_INVALID);
    CHECK_RV(f->C_GetAttributeValue(s2, ik, &ta, 1), CKR_OBJECT_HANDLE_INVALID);
    CHECK_RV(f->C_CloseSession(s2), CKR_OK);
}

/* CKO_DATA session objects: created in a R/O session, their attributes read back, gone with
 * their session; token data objects need a R/W session (p11-api-data.c). */
void session_data_objects(void)
{
    int files = store_files();
    CK_SESSION_HANDLE ro;
    CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &ro), CKR_OK);
    CK_OBJECT_CLASS dc = CKO_DATA;
    CK_BBOOL yes = CK_TRUE;
    static const unsigned char oid[] = { 0x06, 0x03, 0x2A, 0x03, 0x04 }; /* 1.2.3.4 */
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &dc, sizeof(dc) },
                         { CKA_LABEL, (void *)"chain", 5 },
                         { CKA_APPLICATION, (void *)"devid-test", 10 },
                         { CKA_OBJECT_ID, (void *)oid, sizeof(oid) },
                         { CKA_VALUE, (void *)"some configuration", 18 },
                         { CKA_TOKEN, &yes, sizeof(yes) } };
    CK_OBJECT_HANDLE h = 0, found = 0;
    CHECK_RV(f->C_CreateObject(ro, t, 6, &h), CKR_SESSION_READ_ONLY); /* a token object */
    CHECK_RV(f->C_CreateObject(ro, t, 5, &h), CKR_OK);
    CHECK(find(f, ro, CKO_DATA, "chain", &found, 1) == 1 && found == h, "found by label");
    CK_ULONG len = 0;
    unsigned char *v = attr(f, ro, h, CKA_VALUE, &len);
    CHECK(v && len == 18 && !memcmp(v, "some configuration", 18), "CKA_VALUE of a data object");
    free(v);
    v = attr(f, ro, h, CKA_APPLICATION, &len);
    CHECK(v && len == 10 && !memcmp(v, "devid-test", 10), "CKA_APPLICATION");
    free(v);
    v = attr(f, ro, h, CKA_OBJECT_ID, &len);
    CHECK(v && len == sizeof(oid) && !memcmp(v, oid, len), "CKA_OBJECT_ID");
    free(v);
    CK_ATTRIBUTE bad_oid[] = { { CKA_CLASS, &dc, sizeof(dc) },
                               { CKA_OBJECT_ID, (void *)"xyz", 3 } };
    CK_OBJECT_HANDLE b;
    CHECK_RV(f->C_CreateObject(ro, bad_oid, 2, &b), CKR_ATTRIBUTE_VALUE_INVALID);
    CHECK(store_files() == files, "a data object was written to the store");
    CHECK_RV(f->C_CloseSession(ro), CKR_OK);
    CK_SESSION_HANDLE s2;
    CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s2), CKR_OK);
    CHECK(find(f, s2, CKO_DATA, NULL, &found, 1) == 0, "a data object outlived its session");
    CHECK_RV(f->C_CloseSession(s2), CKR_OK);
}

/* C_CloseAllSessions and C_Finalize take every session object along. */
void session_objects_at_close_all(CK_SESSION_HANDLE s)
{
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    CK_OBJECT_HANDLE h;
    CHECK_RV(create_pub(s, ec, "until-close-all", &h), CKR_OK);
    CHECK_RV(f->C_CloseAllSessions(0), CKR_OK);
    CK_SESSION_HANDLE s2;
    CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s2), CKR_OK);
    CHECK(find(f, s2, CKO_PUBLIC_KEY, "until-close-all", &h, 1) == 0,
          "a session object outlived C_CloseAllSessions");
    CHECK_RV(create_pub(s2, ec, "until-finalize", &h), CKR_OK);
    CHECK_RV(f->C_Finalize(NULL), CKR_OK);
    CHECK_RV(f->C_Initialize(NULL), CKR_OK);
    CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s2), CKR_OK);
    CHECK(find(f, s2, CKO_PUBLIC_KEY, "until-finalize", &h, 1) == 0,
          "a session object outlived C_Finalize");
    EVP_PKEY_free(ec);
}
