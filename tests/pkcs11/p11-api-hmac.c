/* SPDX-License-Identifier: Apache-2.0 */
/* p11-api: HMAC-SHA256 keys in the TPM, generated (C_GenerateKey) and imported
 * (C_CreateObject of a CKO_SECRET_KEY with CKA_VALUE). */
#include "p11api.h"

#include <openssl/hmac.h>

/* ---- HMAC-SHA256 keys in the TPM ------------------------------------------------------------ */

/* A secret key's attributes, read in one C_GetAttributeValue. */
typedef struct {
    CK_ULONG cls, ktype, vlen, kgm;
    CK_BBOOL sens, extr, sign, verify, local, decrypt, priv, never, always;
} secret_attrs;

static CK_RV read_secret(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k, secret_attrs *a)
{
    memset(a, 0, sizeof(*a));
    CK_ATTRIBUTE q[] = { { CKA_CLASS, &a->cls, sizeof(a->cls) },
                         { CKA_KEY_TYPE, &a->ktype, sizeof(a->ktype) },
                         { CKA_VALUE_LEN, &a->vlen, sizeof(a->vlen) },
                         { CKA_KEY_GEN_MECHANISM, &a->kgm, sizeof(a->kgm) },
                         { CKA_SENSITIVE, &a->sens, sizeof(a->sens) },
                         { CKA_EXTRACTABLE, &a->extr, sizeof(a->extr) },
                         { CKA_SIGN, &a->sign, sizeof(a->sign) },
                         { CKA_VERIFY, &a->verify, sizeof(a->verify) },
                         { CKA_LOCAL, &a->local, sizeof(a->local) },
                         { CKA_DECRYPT, &a->decrypt, sizeof(a->decrypt) },
                         { CKA_PRIVATE, &a->priv, sizeof(a->priv) },
                         { CKA_NEVER_EXTRACTABLE, &a->never, sizeof(a->never) },
                         { CKA_ALWAYS_SENSITIVE, &a->always, sizeof(a->always) } };
    return f->C_GetAttributeValue(s, k, q, sizeof(q) / sizeof(q[0]));
}

static CK_MECHANISM gen = { CKM_GENERIC_SECRET_KEY_GEN, NULL, 0 };
static CK_MECHANISM mac = { CKM_SHA256_HMAC, NULL, 0 };
static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
static CK_ULONG len32 = 32;
static CK_OBJECT_CLASS scls = CKO_SECRET_KEY;
static CK_KEY_TYPE generic = CKK_GENERIC_SECRET, aes_type = CKK_AES;

/* A token HMAC key's template: labelled "mac", CKA_ID 42. */
static const CK_ATTRIBUTE mac_template[] = { { CKA_CLASS, &scls, sizeof(scls) },
                                             { CKA_KEY_TYPE, &generic, sizeof(generic) },
                                             { CKA_VALUE_LEN, &len32, sizeof(len32) },
                                             { CKA_LABEL, (void *)"mac", 3 },
                                             { CKA_ID, (void *)"\x42", 1 },
                                             { CKA_SIGN, &yes, sizeof(yes) },
                                             { CKA_VERIFY, &yes, sizeof(yes) },
                                             { CKA_SENSITIVE, &yes, sizeof(yes) },
                                             { CKA_EXTRACTABLE, &no, sizeof(no) },
                                             { CKA_TOKEN, &yes, sizeof(yes) } };
#define MAC_TEMPLATE_LEN (sizeof(mac_template) / sizeof(mac_template[0]))

/* A read-only session of the case's own (the fixture's is gone after /p11-api/ecdh). */
static CK_SESSION_HANDLE open_ro(void)
{
    CK_SESSION_HANDLE ro = 0;
    CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &ro), CKR_OK);
    return ro;
}

/* What the module advertises: HMAC-SHA256 and its key generation, no AES. */
void hmac_mechanisms(CK_SESSION_HANDLE rw)
{
    CK_MECHANISM aes = { CKM_AES_KEY_GEN, NULL, 0 };
    CK_OBJECT_HANDLE k = 0, h[4];
    CK_MECHANISM_INFO mi;

    CHECK_RV(f->C_GetMechanismInfo(0, CKM_SHA256_HMAC, &mi), CKR_OK);
    CHECK((mi.flags & CKF_SIGN) && (mi.flags & CKF_VERIFY) && mi.ulMinKeySize == 256,
          "CKM_SHA256_HMAC info");
    CHECK_RV(f->C_GetMechanismInfo(0, CKM_GENERIC_SECRET_KEY_GEN, &mi), CKR_OK);
    CHECK(mi.flags & CKF_GENERATE, "CKM_GENERIC_SECRET_KEY_GEN info");
    CHECK_RV(f->C_GetMechanismInfo(0, CKM_AES_KEY_GEN, &mi), CKR_MECHANISM_INVALID);
    CHECK(find(f, rw, CKO_SECRET_KEY, NULL, h, 4) == 0, "no secret keys on a fresh token");

    /* AES: the TPM has no GCM; consumers fall back on CKR_MECHANISM_INVALID */
    CK_ATTRIBUTE at[] = { { CKA_KEY_TYPE, &aes_type, sizeof(aes_type) },
                          { CKA_VALUE_LEN, &len32, sizeof(len32) } };
    CHECK_RV(f->C_GenerateKey(rw, &aes, at, 2, &k), CKR_MECHANISM_INVALID);
}

/* Templates C_GenerateKey refuses, and nothing left behind. */
void hmac_refusals(CK_SESSION_HANDLE rw)
{
    CK_SESSION_HANDLE ro = open_ro();
    CK_ULONG len16 = 16;
    CK_OBJECT_HANDLE k = 0, h[4];
    CK_ATTRIBUTE t[MAC_TEMPLATE_LEN];
    memcpy(t, mac_template, sizeof(t));
    CK_ULONG nt = MAC_TEMPLATE_LEN;
    CHECK_RV(f->C_GenerateKey(ro, &gen, t, nt, &k), CKR_SESSION_READ_ONLY);
    CHECK_RV(f->C_GenerateKey(rw, &gen, t, nt, NULL), CKR_ARGUMENTS_BAD);
    CK_MECHANISM gen_param = { CKM_GENERIC_SECRET_KEY_GEN, &len32, sizeof(len32) };
    CHECK_RV(f->C_GenerateKey(rw, &gen_param, t, nt, &k), CKR_MECHANISM_PARAM_INVALID);
    t[2].pValue = &len16;
    CHECK_RV(f->C_GenerateKey(rw, &gen, t, nt, &k), CKR_KEY_SIZE_RANGE);
    t[2].pValue = &len32;
    t[8].pValue = &yes; /* extractable */
    CHECK_RV(f->C_GenerateKey(rw, &gen, t, nt, &k), CKR_TEMPLATE_INCONSISTENT);
    t[8].pValue = &no;
    t[7].pValue = &no; /* not sensitive */
    CHECK_RV(f->C_GenerateKey(rw, &gen, t, nt, &k), CKR_TEMPLATE_INCONSISTENT);
    t[7].pValue = &yes;
    t[9].pValue = &no; /* a session key (p11-api-session.c): made, and destroyed here */
    CHECK_RV(f->C_GenerateKey(rw, &gen, t, nt, &k), CKR_OK);
    CHECK_RV(f->C_DestroyObject(rw, k), CKR_OK);
    t[9].pValue = &yes;
    t[1].pValue = &aes_type;
    CHECK_RV(f->C_GenerateKey(rw, &gen, t, nt, &k), CKR_TEMPLATE_INCONSISTENT);
    t[1].pValue = &generic;
    CK_ATTRIBUTE enc = { CKA_ENCRYPT, &yes, sizeof(yes) };
    CHECK_RV(f->C_GenerateKey(rw, &gen, &enc, 1, &k), CKR_TEMPLATE_INCONSISTENT);
    /* names a store object cannot keep: a label with a NUL inside, a CKA_ID of 65 bytes */
    static const char nul_label[] = { 'm', 0, 'c' };
    static const unsigned char long_id[65] = { 0 };
    t[3] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)nul_label, sizeof(nul_label) };
    CHECK_RV(f->C_GenerateKey(rw, &gen, t, nt, &k), CKR_ATTRIBUTE_VALUE_INVALID);
    t[3] = mac_template[3];
    t[4] = (CK_ATTRIBUTE){ CKA_ID, (void *)long_id, sizeof(long_id) };
    CHECK_RV(f->C_GenerateKey(rw, &gen, t, nt, &k), CKR_ATTRIBUTE_VALUE_INVALID);
    t[4] = mac_template[4];
    CHECK(find(f, rw, CKO_SECRET_KEY, NULL, h, 4) == 0, "refused templates leave nothing");
    CHECK_RV(f->C_CloseSession(ro), CKR_OK);
}

/* The keys the steps below share: made_k from the template, made_k2 all defaults; m1 made_k's MAC of big. */
static CK_OBJECT_HANDLE made_k, made_k2;
static CK_SESSION_HANDLE ro; /* read-only, from hmac_keys to hmac_destroy */
static unsigned char big[3000], m1[32];

/* Two generated keys: found, their attributes, a relabel. */
void hmac_keys(CK_SESSION_HANDLE rw)
{
    ro = open_ro();
    CK_OBJECT_HANDLE h[4];
    CK_ATTRIBUTE t[MAC_TEMPLATE_LEN];
    memcpy(t, mac_template, sizeof(t));
    CHECK_RV(f->C_GenerateKey(rw, &gen, t, MAC_TEMPLATE_LEN, &made_k), CKR_OK);
    CHECK_RV(f->C_GenerateKey(rw, &gen, NULL, 0, &made_k2), CKR_OK); /* all defaults */
    CHECK(find(f, rw, CKO_SECRET_KEY, "mac", h, 4) == 1 && h[0] == made_k, "found by label");
    CHECK(find(f, ro, CKO_SECRET_KEY, NULL, h, 4) == 2, "two secret keys");
    CHECK(find(f, rw, CKO_PRIVATE_KEY, "mac", h, 4) == 0 &&
              find(f, rw, CKO_PUBLIC_KEY, "mac", h, 4) == 0,
          "an HMAC key has no private/public key objects");

    secret_attrs sa;
    CHECK_RV(read_secret(rw, made_k, &sa), CKR_OK);
    CHECK(sa.cls == CKO_SECRET_KEY && sa.ktype == CKK_GENERIC_SECRET && sa.vlen == 32 && sa.sens &&
              !sa.extr && sa.sign && sa.verify && sa.local && !sa.decrypt && sa.priv && sa.never &&
              sa.always && sa.kgm == CKM_GENERIC_SECRET_KEY_GEN,
          "HMAC key attributes");
    CK_ATTRIBUTE value = { CKA_VALUE, NULL, 0 };
    CHECK_RV(f->C_GetAttributeValue(rw, made_k, &value, 1), CKR_ATTRIBUTE_SENSITIVE);
    CHECK(value.ulValueLen == CK_UNAVAILABLE_INFORMATION, "CKA_VALUE length unavailable");
    CK_ULONG idlen = 0;
    unsigned char *id = attr(f, rw, made_k, CKA_ID, &idlen);
    CHECK(id && idlen == 1 && id[0] == 0x42, "CKA_ID as asked");
    free(id);
    CK_ULONG amlen = 0;
    CK_MECHANISM_TYPE *am = (CK_MECHANISM_TYPE *)attr(f, rw, made_k, CKA_ALLOWED_MECHANISMS,
                                                      &amlen);
    CHECK(am && amlen == sizeof(CK_MECHANISM_TYPE) && am[0] == CKM_SHA256_HMAC,
          "allowed mechanisms: CKM_SHA256_HMAC");
    free(am);
    CK_ATTRIBUTE relabel[] = { { CKA_LABEL, (void *)"mac2", 4 }, { CKA_ID, (void *)"\x43", 1 } };
    CHECK_RV(f->C_SetAttributeValue(ro, made_k, relabel, 2), CKR_SESSION_READ_ONLY);
    CHECK_RV(f->C_SetAttributeValue(rw, made_k, relabel, 2), CKR_OK);
    CHECK(find(f, rw, CKO_SECRET_KEY, "mac2", h, 4) == 1 && h[0] == made_k, "relabelled");
    CK_ATTRIBUTE mkext = { CKA_EXTRACTABLE, &yes, sizeof(yes) };
    CHECK_RV(f->C_SetAttributeValue(rw, made_k, &mkext, 1), CKR_ATTRIBUTE_READ_ONLY);
}

/* MACs: two-call, determinism, separation, multi-part, data beyond one TPM buffer. */
void hmac_macs(CK_SESSION_HANDLE rw)
{
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (unsigned char)(i * 7);
    unsigned char m2[32], m3[32];
    CK_ULONG l = 0;
    CHECK_RV(f->C_SignInit(ro, &mac, made_k), CKR_OK); /* using a token key: RO is fine */
    CHECK_RV(f->C_Sign(ro, big, 100, NULL, &l), CKR_OK);
    CHECK(l == 32, "MAC length query");
    l = 16;
    CHECK_RV(f->C_Sign(ro, big, 100, m1, &l), CKR_BUFFER_TOO_SMALL);
    l = sizeof(m1);
    CHECK_RV(f->C_Sign(ro, big, 100, m1, &l), CKR_OK);
    l = sizeof(m2);
    CHECK_RV(f->C_SignInit(rw, &mac, made_k), CKR_OK);
    CHECK_RV(f->C_SignUpdate(rw, big, 60), CKR_OK);
    CHECK_RV(f->C_SignUpdate(rw, big + 60, 40), CKR_OK);
    CHECK_RV(f->C_SignFinal(rw, m2, &l), CKR_OK);
    CHECK(memcmp(m1, m2, 32) == 0, "multi-part MAC equals single-part");
    l = sizeof(m3);
    CHECK_RV(f->C_SignInit(rw, &mac, made_k2), CKR_OK);
    CHECK_RV(f->C_Sign(rw, big, 100, m3, &l), CKR_OK);
    CHECK(memcmp(m1, m3, 32) != 0, "another key, another MAC");
    l = sizeof(m1);
    CHECK_RV(f->C_SignInit(rw, &mac, made_k), CKR_OK);
    CHECK_RV(f->C_Sign(rw, big, sizeof(big), m1, &l), CKR_OK); /* an HMAC sequence */
    l = sizeof(m2);
    CHECK_RV(f->C_SignInit(rw, &mac, made_k), CKR_OK);
    for (size_t off = 0; off < sizeof(big); off += 700)
        CHECK_RV(f->C_SignUpdate(rw, big + off, sizeof(big) - off < 700 ? sizeof(big) - off : 700),
                 CKR_OK);
    CHECK_RV(f->C_SignFinal(rw, m2, &l), CKR_OK);
    CHECK(memcmp(m1, m2, 32) == 0, "3000 bytes: multi-part equals single-part");
}

/* Verification of the MAC of big made in the step before: single- and multi-part, the wrong
 * key, a changed MAC, a short one. */
void hmac_verify(CK_SESSION_HANDLE rw)
{
    CHECK_RV(f->C_VerifyInit(rw, &mac, made_k), CKR_OK);
    CHECK_RV(f->C_Verify(rw, big, sizeof(big), m1, 32), CKR_OK);
    CHECK_RV(f->C_VerifyInit(rw, &mac, made_k), CKR_OK);
    CHECK_RV(f->C_VerifyUpdate(rw, big, 1000), CKR_OK);
    CHECK_RV(f->C_VerifyUpdate(rw, big + 1000, sizeof(big) - 1000), CKR_OK);
    CHECK_RV(f->C_VerifyFinal(rw, m1, 32), CKR_OK);
    CHECK_RV(f->C_VerifyInit(rw, &mac, made_k2), CKR_OK);
    CHECK_RV(f->C_Verify(rw, big, sizeof(big), m1, 32), CKR_SIGNATURE_INVALID);
    m1[0] ^= 0x80;
    CHECK_RV(f->C_VerifyInit(rw, &mac, made_k), CKR_OK);
    CHECK_RV(f->C_Verify(rw, big, sizeof(big), m1, 32), CKR_SIGNATURE_INVALID);
    CHECK_RV(f->C_VerifyInit(rw, &mac, made_k), CKR_OK);
    CHECK_RV(f->C_Verify(rw, big, sizeof(big), m1, 31), CKR_SIGNATURE_LEN_RANGE);
}

/* Wrong mechanisms for the key, and the key for wrong mechanisms. */
void hmac_wrong_mechanisms(CK_SESSION_HANDLE rw)
{
    CK_MECHANISM ecdsa = { CKM_ECDSA, NULL, 0 };
    CHECK_RV(f->C_SignInit(rw, &ecdsa, made_k), CKR_KEY_TYPE_INCONSISTENT);
    CK_MECHANISM oaep = { CKM_RSA_PKCS, NULL, 0 };
    CHECK_RV(f->C_DecryptInit(rw, &oaep, made_k), CKR_KEY_TYPE_INCONSISTENT);
    if (!strcmp(variant, "ecc") || !strcmp(variant, "rsa"))
        CHECK_RV(f->C_SignInit(rw, &mac, one(rw, CKO_PRIVATE_KEY, "IDevID")),
                 CKR_KEY_TYPE_INCONSISTENT);
}

void hmac_destroy(CK_SESSION_HANDLE rw)
{
    CK_OBJECT_HANDLE h[4];
    CHECK_RV(f->C_DestroyObject(ro, made_k), CKR_SESSION_READ_ONLY);
    CHECK_RV(f->C_DestroyObject(rw, made_k), CKR_OK);
    CHECK_RV(f->C_DestroyObject(rw, made_k), CKR_OBJECT_HANDLE_INVALID);
    CHECK_RV(f->C_SignInit(rw, &mac, made_k), CKR_KEY_HANDLE_INVALID);
    CHECK_RV(f->C_DestroyObject(rw, made_k2), CKR_OK);
    CHECK(find(f, rw, CKO_SECRET_KEY, NULL, h, 4) == 0, "no secret keys left");
    CHECK_RV(f->C_CloseSession(ro), CKR_OK);
}

/* ---- HMAC key values imported into the TPM ------------------------------------------------- */

/* The module's MAC of data with key h against OpenSSL's HMAC-SHA256 with the same value, single-
 * and multi-part (the 3000 bytes take an HMAC sequence in the TPM). */
static void same_mac(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, const unsigned char *key, size_t klen,
                     const char *what)
{
    static unsigned char data[3000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 13 + 1);
    const size_t sizes[] = { 0, 100, sizeof(data) };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned char want[32], got[32];
        unsigned int wl = 0;
        CHECK(HMAC(EVP_sha256(), key, (int)klen, data, sizes[i], want, &wl) && wl == 32,
              "OpenSSL HMAC");
        CK_ULONG l = sizeof(got);
        CHECK_RV(f->C_SignInit(s, &mac, h), CKR_OK);
        CHECK_RV(f->C_Sign(s, data, sizes[i], got, &l), CKR_OK);
        CHECK(l == 32 && memcmp(got, want, 32) == 0, "%s: %zu bytes: the TPM's MAC is OpenSSL's",
              what, sizes[i]);
        l = sizeof(got);
        CHECK_RV(f->C_SignInit(s, &mac, h), CKR_OK);
        for (size_t off = 0; off < sizes[i]; off += 777)
            CHECK_RV(f->C_SignUpdate(s, data + off, sizes[i] - off < 777 ? sizes[i] - off : 777),
                     CKR_OK);
        CHECK_RV(f->C_SignFinal(s, got, &l), CKR_OK);
        CHECK(l == 32 && memcmp(got, want, 32) == 0, "%s: %zu bytes multi-part", what, sizes[i]);
        CHECK_RV(f->C_VerifyInit(s, &mac, h), CKR_OK);
        CHECK_RV(f->C_Verify(s, data, sizes[i], want, 32), CKR_OK);
    }
}

/* The values imported: the first bytes of one pattern; `import_copy` to see that the module
 * leaves the caller's value as it was. */
static unsigned char import_value[4097], import_copy[sizeof(import_value)];

static void import_value_fill(void)
{
    for (size_t i = 0; i < sizeof(import_value); i++)
        import_value[i] = (unsigned char)(0xA5 ^ (i * 29));
    memcpy(import_copy, import_value, sizeof(import_value));
}

/* A token HMAC key's import template: 32 bytes, labelled "imported", CKA_ID 51. */
static const CK_ATTRIBUTE import_template[] = {
    { CKA_CLASS, &scls, sizeof(scls) },   { CKA_KEY_TYPE, &generic, sizeof(generic) },
    { CKA_VALUE, import_value, 32 },      { CKA_LABEL, (void *)"imported", 8 },
    { CKA_ID, (void *)"\x51", 1 },        { CKA_SIGN, &yes, sizeof(yes) },
    { CKA_VERIFY, &yes, sizeof(yes) },    { CKA_SENSITIVE, &yes, sizeof(yes) },
    { CKA_EXTRACTABLE, &no, sizeof(no) }, { CKA_TOKEN, &yes, sizeof(yes) }
};
#define IMPORT_TEMPLATE_LEN (sizeof(import_template) / sizeof(import_template[0]))

/* Bad templates: the specification's codes, and nothing left behind. */
void hmac_import_refusals(CK_SESSION_HANDLE rw)
{
    CK_SESSION_HANDLE ro_own = open_ro();
    CK_KEY_TYPE aes = CKK_AES, sha256_hmac = CKK_SHA256_HMAC;
    CK_OBJECT_HANDLE k = 0, h[4];
    CK_ATTRIBUTE t[IMPORT_TEMPLATE_LEN];
    memcpy(t, import_template, sizeof(t));
    CK_ULONG nt = IMPORT_TEMPLATE_LEN;
    import_value_fill();

    CHECK_RV(f->C_CreateObject(ro_own, t, nt, &k), CKR_SESSION_READ_ONLY);
    CHECK_RV(f->C_CreateObject(rw, t, nt, NULL), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_CreateObject(rw, t, 2, &k), CKR_TEMPLATE_INCOMPLETE); /* no CKA_VALUE */
    CK_ATTRIBUTE no_type[] = { t[0], t[2] };
    CHECK_RV(f->C_CreateObject(rw, no_type, 2, &k), CKR_TEMPLATE_INCOMPLETE);
    CK_ATTRIBUTE with_len[] = { t[0], t[1], t[2], { CKA_VALUE_LEN, &len32, sizeof(len32) } };
    CHECK_RV(f->C_CreateObject(rw, with_len, 4, &k), CKR_TEMPLATE_INCONSISTENT);
    t[1].pValue = &aes;
    CHECK_RV(f->C_CreateObject(rw, t, nt, &k), CKR_ATTRIBUTE_VALUE_INVALID);
    t[1].pValue = &sha256_hmac;
    CHECK_RV(f->C_CreateObject(rw, t, nt, &k), CKR_ATTRIBUTE_VALUE_INVALID);
    t[1].pValue = &generic;
    t[2].ulValueLen = 0;
    CHECK_RV(f->C_CreateObject(rw, t, nt, &k), CKR_ATTRIBUTE_VALUE_INVALID);
    t[2].ulValueLen = 4097; /* more than devid takes */
    CHECK_RV(f->C_CreateObject(rw, t, nt, &k), CKR_ATTRIBUTE_VALUE_INVALID);
    t[2].ulValueLen = 32;
    t[8].pValue = &yes; /* extractable */
    CHECK_RV(f->C_CreateObject(rw, t, nt, &k), CKR_TEMPLATE_INCONSISTENT);
    t[8].pValue = &no;
    t[7].pValue = &no; /* not sensitive */
    CHECK_RV(f->C_CreateObject(rw, t, nt, &k), CKR_TEMPLATE_INCONSISTENT);
    t[7].pValue = &yes;
    CK_ATTRIBUTE enc[] = { t[0], t[1], t[2], { CKA_ENCRYPT, &yes, sizeof(yes) } };
    CHECK_RV(f->C_CreateObject(rw, enc, 4, &k), CKR_TEMPLATE_INCONSISTENT);
    CK_ATTRIBUTE bad_bool[] = { t[0], t[1], t[2], { CKA_SIGN, &len32, sizeof(len32) } };
    CHECK_RV(f->C_CreateObject(rw, bad_bool, 4, &k), CKR_ATTRIBUTE_VALUE_INVALID);
    CHECK(find(f, rw, CKO_SECRET_KEY, NULL, h, 4) == 0, "refused imports leave nothing");
    CHECK_RV(f->C_CloseSession(ro_own), CKR_OK);
}

/* A 32-byte value: stored, sensitive, usable, the same MACs as OpenSSL's. */
void hmac_import_32(CK_SESSION_HANDLE rw)
{
    CK_SESSION_HANDLE ro_own = open_ro();
    CK_OBJECT_HANDLE k = 0, h[4];
    import_value_fill();
    CK_ATTRIBUTE t[IMPORT_TEMPLATE_LEN];
    memcpy(t, import_template, sizeof(t));
    CHECK_RV(f->C_CreateObject(rw, t, IMPORT_TEMPLATE_LEN, &k), CKR_OK);
    CHECK(memcmp(import_value, import_copy, sizeof(import_value)) == 0,
          "the caller's value is left as it was");
    CHECK(find(f, ro_own, CKO_SECRET_KEY, "imported", h, 4) == 1 && h[0] == k, "found by label");
    secret_attrs sa;
    CHECK_RV(read_secret(rw, k, &sa), CKR_OK);
    CHECK(sa.cls == CKO_SECRET_KEY && sa.ktype == CKK_GENERIC_SECRET && sa.vlen == 32 && sa.sens &&
              !sa.extr && !sa.local && !sa.never && !sa.always && sa.sign && sa.verify && sa.priv &&
              sa.kgm == CK_UNAVAILABLE_INFORMATION,
          "imported key attributes (not local, was extractable once, no generation mechanism)");
    unsigned char out[64];
    CK_ATTRIBUTE value = { CKA_VALUE, out, sizeof(out) };
    CHECK_RV(f->C_GetAttributeValue(rw, k, &value, 1), CKR_ATTRIBUTE_SENSITIVE);
    CHECK(value.ulValueLen == CK_UNAVAILABLE_INFORMATION, "CKA_VALUE unavailable");
    same_mac(ro_own, k, import_value, 32, "32-byte key");
    CK_ATTRIBUTE relabel = { CKA_LABEL, (void *)"imported2", 9 };
    CHECK_RV(f->C_SetAttributeValue(rw, k, &relabel, 1), CKR_OK);
    CHECK_RV(read_secret(rw, k, &sa), CKR_OK);
    CHECK(sa.vlen == 32, "CKA_VALUE_LEN kept across a relabel");
    CHECK_RV(f->C_DestroyObject(rw, k), CKR_OK);
    CHECK(find(f, rw, CKO_SECRET_KEY, NULL, h, 4) == 0, "no secret keys left");
    CHECK_RV(f->C_CloseSession(ro_own), CKR_OK);
}

/* Other sizes: shorter than the hash, one hash block (the most the TPM takes), longer
 * (imported as their hash, which HMAC does with such keys), the largest devid takes. */
void hmac_import_sizes(CK_SESSION_HANDLE rw)
{
    import_value_fill();
    const size_t lens[] = { 1, 20, 64, 65, 100, 4096 };
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        CK_OBJECT_HANDLE k = 0;
        secret_attrs sa;
        CK_ATTRIBUTE t[] = { import_template[0],
                             import_template[1],
                             { CKA_VALUE, import_value, lens[i] } };
        CHECK_RV(f->C_CreateObject(rw, t, 3, &k), CKR_OK);
        CHECK_RV(read_secret(rw, k, &sa), CKR_OK);
        CHECK(sa.vlen == lens[i] && !sa.local, "CKA_VALUE_LEN %lu, imported %zu",
              (unsigned long)sa.vlen, lens[i]);
        char what[32];
        snprintf(what, sizeof(what), "%zu-byte key", lens[i]);
        same_mac(rw, k, import_value, lens[i], what);
        CHECK_RV(f->C_DestroyObject(rw, k), CKR_OK);
    }
}
