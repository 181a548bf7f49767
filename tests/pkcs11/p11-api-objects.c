/* SPDX-License-Identifier: Apache-2.0 */
/* p11-api: object attributes (two-call semantics, sensitivity), and creating, changing and
 * destroying objects. */
#include "p11api.h"

/* ---- objects and attributes ----------------------------------------------------------------- */

void attributes(CK_SESSION_HANDLE s)
{
    CK_OBJECT_HANDLE priv = one(s, CKO_PRIVATE_KEY, "IDevID");
    CK_OBJECT_HANDLE cert = one(s, CKO_CERTIFICATE, "IDevID");
    CHECK(priv && cert, "IDevID objects");
    CHECK_RV(f->C_GetAttributeValue(s, 0xdead, NULL, 0), CKR_OBJECT_HANDLE_INVALID);
    CHECK_RV(f->C_GetAttributeValue(s, cert, NULL, 1), CKR_ARGUMENTS_BAD);

    /* every attribute is processed; the result names one of the problems */
    unsigned char small[4], label[32];
    CK_BBOOL sens = CK_FALSE;
    CK_ATTRIBUTE t[] = {
        { CKA_VALUE, small, sizeof(small) },    /* certificate: too small */
        { 0x80001234UL, label, sizeof(label) }, /* vendor attribute: invalid */
        { CKA_LABEL, label, sizeof(label) },    /* fine */
    };
    CK_RV rv = f->C_GetAttributeValue(s, cert, t, 3);
    CHECK(rv == CKR_BUFFER_TOO_SMALL || rv == CKR_ATTRIBUTE_TYPE_INVALID, "mixed: 0x%lx",
          (unsigned long)rv);
    CHECK(t[0].ulValueLen == CK_UNAVAILABLE_INFORMATION, "too small: length %lu",
          (unsigned long)t[0].ulValueLen);
    CHECK(t[1].ulValueLen == CK_UNAVAILABLE_INFORMATION, "invalid: length %lu",
          (unsigned long)t[1].ulValueLen);
    CHECK(t[2].ulValueLen == 6 && !memcmp(label, "IDevID", 6), "label still copied");
    CK_ATTRIBUTE q = { CKA_VALUE, NULL, 0 };
    CHECK_RV(f->C_GetAttributeValue(s, cert, &q, 1), CKR_OK);
    CHECK(q.ulValueLen > 300, "certificate length %lu", (unsigned long)q.ulValueLen);

    /* private key material: sensitive */
    CK_ATTRIBUTE secret = { !strcmp(variant, "rsa") ? CKA_PRIVATE_EXPONENT : CKA_VALUE, NULL, 0 };
    CHECK_RV(f->C_GetAttributeValue(s, priv, &secret, 1), CKR_ATTRIBUTE_SENSITIVE);
    CHECK(secret.ulValueLen == CK_UNAVAILABLE_INFORMATION, "sensitive: length");
    CK_ATTRIBUTE st = { CKA_SENSITIVE, &sens, sizeof(sens) };
    CHECK_RV(f->C_GetAttributeValue(s, priv, &st, 1), CKR_OK);
    CHECK(sens == CK_TRUE, "CKA_SENSITIVE");
    CK_ULONG size;
    CHECK_RV(f->C_GetObjectSize(s, cert, &size), CKR_OK);
    CHECK_RV(f->C_GetObjectSize(s, cert, NULL), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_CopyObject(s, cert, NULL, 0, &(CK_OBJECT_HANDLE){ 0 }), CKR_ACTION_PROHIBITED);

    /* searches */
    CK_OBJECT_HANDLE hs[8];
    CK_ULONG n;
    CHECK_RV(f->C_FindObjects(s, hs, 8, &n), CKR_OPERATION_NOT_INITIALIZED);
    CHECK_RV(f->C_FindObjectsFinal(s), CKR_OPERATION_NOT_INITIALIZED);
    CHECK_RV(f->C_FindObjectsInit(s, NULL, 1), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_FindObjectsInit(s, NULL, 0), CKR_OK);
    CHECK_RV(f->C_FindObjectsInit(s, NULL, 0), CKR_OPERATION_ACTIVE);
    CHECK_RV(f->C_FindObjects(s, hs, 8, NULL), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_FindObjects(s, NULL, 8, &n), CKR_ARGUMENTS_BAD);
    CK_ULONG total = 0;
    do {
        n = 0;
        CHECK_RV(f->C_FindObjects(s, hs, 2, &n), CKR_OK);
        total += n;
    } while (n == 2);
    CHECK(total == 9, "%lu objects (EK pub+cert, 2 x (priv, pub, cert), CA)", (unsigned long)total);
    CHECK_RV(f->C_FindObjectsFinal(s), CKR_OK);
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE bad = { CKA_TOKEN, NULL, sizeof(yes) };
    CHECK_RV(f->C_FindObjectsInit(s, &bad, 1), CKR_ATTRIBUTE_VALUE_INVALID);
}

/* ---- creating, changing, destroying -------------------------------------------------------- */

/* C_CreateObject refused: a bad certificate, a token object in a R/O session, missing
 * arguments and attributes, a key import; C_DestroyObject of no object. */
void create_refusals(CK_SESSION_HANDLE rw, CK_SESSION_HANDLE ro)
{
    CK_OBJECT_CLASS cert = CKO_CERTIFICATE, key = CKO_PRIVATE_KEY;
    CK_BBOOL yes = CK_TRUE;
    unsigned char garbage[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
    CK_OBJECT_HANDLE h;
    CK_ATTRIBUTE t[4] = { { CKA_CLASS, &cert, sizeof(cert) }, { CKA_VALUE, garbage, 5 } };
    /* no CKA_TOKEN: a session object, allowed in a R/O session (here refused for its value) */
    CHECK_RV(f->C_CreateObject(ro, t, 2, &h), CKR_ATTRIBUTE_VALUE_INVALID);
    t[2] = (CK_ATTRIBUTE){ CKA_TOKEN, &yes, sizeof(yes) };
    CHECK_RV(f->C_CreateObject(ro, t, 3, &h), CKR_SESSION_READ_ONLY);
    CHECK_RV(f->C_CreateObject(rw, t, 2, NULL), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_CreateObject(rw, t + 1, 1, &h), CKR_TEMPLATE_INCOMPLETE);
    CHECK_RV(f->C_CreateObject(rw, t, 2, &h), CKR_ATTRIBUTE_VALUE_INVALID);
    CHECK_RV(f->C_CreateObject(rw, t, 1, &h), CKR_TEMPLATE_INCOMPLETE);
    t[0].pValue = &key;
    CHECK_RV(f->C_CreateObject(rw, t, 2, &h), CKR_ATTRIBUTE_VALUE_INVALID); /* no key import */
    CHECK_RV(f->C_DestroyObject(rw, 0xdead), CKR_OBJECT_HANDLE_INVALID);
}

static const unsigned char p256[] = { 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07 };

/* C_GenerateKeyPair refused: R/O session, arguments, mechanism, templates, curves, sizes. */
void keygen_refusals(CK_SESSION_HANDLE rw, CK_SESSION_HANDLE ro)
{
    CK_OBJECT_CLASS cert = CKO_CERTIFICATE;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_OBJECT_HANDLE h;
    CK_ULONG bits = 1000;
    CK_MECHANISM ec = { CKM_EC_KEY_PAIR_GEN, NULL, 0 },
                 rsa = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
    CK_OBJECT_HANDLE pub = 0, priv = 0;
    CK_ATTRIBUTE pt[3] = { { CKA_EC_PARAMS, (void *)p256, sizeof(p256) },
                           { CKA_LABEL, (void *)"api-key", 7 } };
    CK_ATTRIBUTE wrong_class = { CKA_CLASS, &cert, sizeof(cert) };
    CK_ATTRIBUTE not_token = { CKA_TOKEN, &no, sizeof(no) };
    /* a token key pair (CKA_TOKEN absent would make a session pair: p11-api-session.c) */
    CK_ATTRIBUTE tok[] = { { CKA_TOKEN, &yes, sizeof(yes) } };
    CK_ATTRIBUTE odd = { 0x80004321UL, &yes, sizeof(yes) };
    CHECK_RV(f->C_GenerateKeyPair(ro, &ec, pt, 2, tok, 1, &pub, &priv), CKR_SESSION_READ_ONLY);
    CHECK_RV(f->C_GenerateKeyPair(rw, &ec, pt, 2, NULL, 0, NULL, &priv), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_GenerateKeyPair(rw, NULL, pt, 2, tok, 1, &pub, &priv), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_GenerateKeyPair(rw, &(CK_MECHANISM){ CKM_ECDSA, NULL, 0 }, pt, 2, tok, 1, &pub,
                                  &priv),
             CKR_MECHANISM_INVALID);
    CHECK_RV(f->C_GenerateKeyPair(rw, &ec, pt + 1, 1, tok, 1, &pub, &priv),
             CKR_TEMPLATE_INCOMPLETE);
    unsigned char p521[] = { 0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x23 };
    CK_ATTRIBUTE curve521 = { CKA_EC_PARAMS, p521, sizeof(p521) };
    CHECK_RV(f->C_GenerateKeyPair(rw, &ec, &curve521, 1, tok, 1, &pub, &priv),
             CKR_CURVE_NOT_SUPPORTED);
    curve521.ulValueLen = 3;
    CHECK_RV(f->C_GenerateKeyPair(rw, &ec, &curve521, 1, tok, 1, &pub, &priv),
             CKR_ATTRIBUTE_VALUE_INVALID);
    pt[2] = wrong_class;
    CHECK_RV(f->C_GenerateKeyPair(rw, &ec, pt, 3, tok, 1, &pub, &priv), CKR_TEMPLATE_INCONSISTENT);
    pt[2] = not_token;
    CHECK_RV(f->C_GenerateKeyPair(rw, &ec, pt, 3, tok, 1, &pub, &priv), CKR_TEMPLATE_INCONSISTENT);
    pt[2] = odd;
    CHECK_RV(f->C_GenerateKeyPair(rw, &ec, pt, 3, tok, 1, &pub, &priv), CKR_ATTRIBUTE_TYPE_INVALID);
    CK_ATTRIBUTE rt[2] = { { CKA_MODULUS_BITS, &bits, sizeof(bits) },
                           { CKA_PUBLIC_EXPONENT, (void *)"\x03", 1 } };
    CHECK_RV(f->C_GenerateKeyPair(rw, &rsa, rt, 1, tok, 1, &pub, &priv), CKR_KEY_SIZE_RANGE);
    bits = 2048;
    CHECK_RV(f->C_GenerateKeyPair(rw, &rsa, rt, 2, tok, 1, &pub, &priv),
             CKR_ATTRIBUTE_VALUE_INVALID);
    /* names a store object cannot keep, in either template: a label with a NUL inside or of
     * 129 bytes, a CKA_ID of 65 bytes */
    static const char nul_label[] = { 'a', 0, 'b' };
    static const char long_label[129] = { 0 };
    static const unsigned char long_id[65] = { 0 };
    CK_ATTRIBUTE names[] = { { CKA_LABEL, (void *)nul_label, sizeof(nul_label) },
                             { CKA_LABEL, (void *)long_label, sizeof(long_label) },
                             { CKA_ID, (void *)long_id, sizeof(long_id) } };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        CK_ATTRIBUTE pt2[] = { pt[0], names[i] }, kt2[] = { tok[0], names[i] };
        CHECK_RV(f->C_GenerateKeyPair(rw, &ec, pt2, 2, tok, 1, &pub, &priv),
                 CKR_ATTRIBUTE_VALUE_INVALID);
        CHECK_RV(f->C_GenerateKeyPair(rw, &ec, pt, 2, kt2, 2, &pub, &priv),
                 CKR_ATTRIBUTE_VALUE_INVALID);
    }
    CHECK_RV(f->C_GenerateKey(rw, NULL, NULL, 0, &h), CKR_ARGUMENTS_BAD);
}

/* A store key pair changed one object at a time: read-only attributes, a too long label, a
 * new CKA_ID; destroyed with its public half. */
void store_key_changes(CK_SESSION_HANDLE rw, CK_SESSION_HANDLE ro)
{
    CK_BBOOL yes = CK_TRUE;
    CK_MECHANISM ec = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
    CK_OBJECT_HANDLE pub = 0, priv = 0;
    CK_ATTRIBUTE pt[] = { { CKA_EC_PARAMS, (void *)p256, sizeof(p256) },
                          { CKA_LABEL, (void *)"api-key", 7 } };
    CK_ATTRIBUTE tok[] = { { CKA_TOKEN, &yes, sizeof(yes) } };
    CHECK_RV(f->C_GenerateKeyPair(rw, &ec, pt, 2, tok, 1, &pub, &priv), CKR_OK);
    CHECK(pub && priv && pub != priv, "generated handles");
    CK_ATTRIBUTE kt = { CKA_KEY_TYPE, &(CK_KEY_TYPE){ CKK_RSA }, sizeof(CK_KEY_TYPE) };
    CHECK_RV(f->C_SetAttributeValue(rw, priv, &kt, 1), CKR_ATTRIBUTE_READ_ONLY);
    char long_label[200];
    memset(long_label, 'x', sizeof(long_label));
    CK_ATTRIBUTE ll = { CKA_LABEL, long_label, sizeof(long_label) };
    CHECK_RV(f->C_SetAttributeValue(rw, priv, &ll, 1), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE newid = { CKA_ID, (void *)"\x01\x02", 2 };
    CHECK_RV(f->C_SetAttributeValue(ro, priv, &newid, 1), CKR_SESSION_READ_ONLY);
    CHECK_RV(f->C_SetAttributeValue(rw, priv, &newid, 1), CKR_OK);
    CK_ULONG idlen = 0;
    unsigned char *id = attr(f, rw, priv, CKA_ID, &idlen);
    CHECK(id && idlen == 2 && id[0] == 1 && id[1] == 2, "the private key's new CKA_ID");
    free(id);
    id = attr(f, rw, pub, CKA_ID, &idlen); /* one object's attribute: the public key keeps its */
    CHECK(id && !(idlen == 2 && id[0] == 1 && id[1] == 2), "CKA_ID of the public key unchanged");
    free(id);
    CHECK_RV(f->C_DestroyObject(ro, priv), CKR_SESSION_READ_ONLY);
    CHECK_RV(f->C_DestroyObject(rw, priv), CKR_OK);
    CHECK_RV(f->C_DestroyObject(rw, priv), CKR_OBJECT_HANDLE_INVALID);
    CHECK_RV(f->C_GetAttributeValue(rw, pub, &(CK_ATTRIBUTE){ CKA_CLASS, NULL, 0 }, 1),
             CKR_OBJECT_HANDLE_INVALID); /* the public half goes with its key */
}
