/* SPDX-License-Identifier: Apache-2.0 */
/* The p11-api test: only what works is advertised. Every mechanism a key lists in
 * CKA_ALLOWED_MECHANISMS is in C_GetMechanismList and works with it end to end (sign then
 * verify, encrypt then decrypt); mechanism parameters the TPM cannot honour are refused at
 * *Init with CKR_MECHANISM_PARAM_INVALID; mechanism info states the key sizes this TPM
 * accepts (measured here with tpm2_testparms before the module connects). */
#include "p11api.h"

static CK_ULONG tpm_rsa_max, tpm_ec_max; /* from tpm2_testparms */

void tpm_sizes_measure(void)
{
    static const int rsa_bits[] = { 1024, 2048, 3072, 4096 }, ec_bits[] = { 256, 384, 521 };
    for (int i = 0; i < 4; i++) {
        char cmd[96];
        snprintf(cmd, sizeof(cmd), "tpm2_testparms rsa%d >/dev/null 2>&1", rsa_bits[i]);
        if (system(cmd) == 0)
            tpm_rsa_max = (CK_ULONG)rsa_bits[i];
    }
    for (int i = 0; i < 3; i++) {
        char cmd[96];
        snprintf(cmd, sizeof(cmd), "tpm2_testparms ecc%d >/dev/null 2>&1", ec_bits[i]);
        if (system(cmd) == 0)
            tpm_ec_max = (CK_ULONG)ec_bits[i];
    }
}

static bool in_list(const CK_MECHANISM_TYPE *list, CK_ULONG n, CK_MECHANISM_TYPE m)
{
    for (CK_ULONG i = 0; i < n; i++)
        if (list[i] == m)
            return true;
    return false;
}

static const struct {
    CK_MECHANISM_TYPE mech, hash;
    CK_RSA_PKCS_MGF_TYPE mgf;
    CK_ULONG len;
} pss[] = {
    { CKM_SHA1_RSA_PKCS_PSS, CKM_SHA_1, CKG_MGF1_SHA1, 20 },
    { CKM_SHA256_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, 32 },
    { CKM_SHA384_RSA_PKCS_PSS, CKM_SHA384, CKG_MGF1_SHA384, 48 },
    { CKM_SHA512_RSA_PKCS_PSS, CKM_SHA512, CKG_MGF1_SHA512, 64 },
    { CKM_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, 32 },
};

/* Signs with mechanism m and verifies through the module: the data fits the mechanism. */
static void sign_verify(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE pub,
                        CK_MECHANISM_TYPE m, CK_ULONG modulus)
{
    CK_RSA_PKCS_PSS_PARAMS pp;
    CK_MECHANISM mech = { m, NULL, 0 };
    unsigned char data[512], sig[1024];
    CK_ULONG len = 32, siglen = sizeof(sig);
    memset(data, 0x5a, sizeof(data));
    for (size_t i = 0; i < sizeof(pss) / sizeof(pss[0]); i++)
        if (pss[i].mech == m) {
            pp = (CK_RSA_PKCS_PSS_PARAMS){ pss[i].hash, pss[i].mgf, pss[i].len };
            mech.pParameter = &pp;
            mech.ulParameterLen = sizeof(pp);
        }
    if (m == CKM_RSA_X_509) {
        len = modulus;
        data[0] = 0; /* below the modulus */
    } else if (m == CKM_RSA_PKCS) {
        /* a DigestInfo, as consumers sign: a sign-only TPM key signs nothing else (arbitrary
         * data needs the raw RSA operation, CKR_KEY_FUNCTION_NOT_PERMITTED there) */
        static const unsigned char sha256_prefix[19] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                                         0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                                         0x01, 0x05, 0x00, 0x04, 0x20 };
        memcpy(data, sha256_prefix, sizeof(sha256_prefix));
        len = sizeof(sha256_prefix) + 32;
    }
    CK_RV rv = f->C_SignInit(s, &mech, priv);
    CHECK(rv == CKR_OK, "advertised mechanism 0x%lx: C_SignInit 0x%lx", (unsigned long)m,
          (unsigned long)rv);
    if (rv != CKR_OK)
        return;
    rv = f->C_Sign(s, data, len, sig, &siglen);
    CHECK(rv == CKR_OK, "advertised mechanism 0x%lx: C_Sign 0x%lx", (unsigned long)m,
          (unsigned long)rv);
    if (rv != CKR_OK || !pub)
        return;
    CHECK_RV(f->C_VerifyInit(s, &mech, pub), CKR_OK);
    CHECK(f->C_Verify(s, data, len, sig, siglen) == CKR_OK,
          "advertised mechanism 0x%lx: the signature does not verify", (unsigned long)m);
}

static void encrypt_decrypt(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE pub,
                            CK_MECHANISM_TYPE m, CK_ULONG modulus)
{
    CK_RSA_PKCS_OAEP_PARAMS op = { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0 };
    CK_MECHANISM mech = { m, NULL, 0 };
    if (m == CKM_RSA_PKCS_OAEP) {
        mech.pParameter = &op;
        mech.ulParameterLen = sizeof(op);
    }
    unsigned char pt[512], ct[512], back[512];
    CK_ULONG ptlen = m == CKM_RSA_X_509 ? modulus : 16, ctlen = sizeof(ct), blen = sizeof(back);
    memset(pt, 0x33, sizeof(pt));
    pt[0] = 0;
    CHECK_RV(f->C_EncryptInit(s, &mech, pub), CKR_OK);
    CHECK_RV(f->C_Encrypt(s, pt, ptlen, ct, &ctlen), CKR_OK);
    CHECK_RV(f->C_DecryptInit(s, &mech, priv), CKR_OK);
    CK_RV rv = f->C_Decrypt(s, ct, ctlen, back, &blen);
    CHECK(rv == CKR_OK && blen == ptlen && !memcmp(back, pt, ptlen),
          "advertised mechanism 0x%lx: decryption round trip (0x%lx)", (unsigned long)m,
          (unsigned long)rv);
}

/* Every mechanism the private key allows: in the list, and working. */
static void key_mechanisms(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv,
                           const CK_MECHANISM_TYPE *list, CK_ULONG n)
{
    CK_ULONG alen = 0, idlen = 0, mlen = 0;
    CK_MECHANISM_TYPE *allowed = (CK_MECHANISM_TYPE *)attr(f, s, priv, CKA_ALLOWED_MECHANISMS,
                                                           &alen);
    unsigned char *id = attr(f, s, priv, CKA_ID, &idlen);
    CK_OBJECT_CLASS pc = CKO_PUBLIC_KEY;
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &pc, sizeof(pc) }, { CKA_ID, id, idlen } };
    CK_OBJECT_HANDLE pub = 0;
    CK_ULONG found = 0;
    if (f->C_FindObjectsInit(s, t, 2) == CKR_OK) {
        f->C_FindObjects(s, &pub, 1, &found);
        f->C_FindObjectsFinal(s);
    }
    unsigned char *mod = attr(f, s, priv, CKA_MODULUS, &mlen);
    free(mod);
    CHECK(allowed != NULL, "CKA_ALLOWED_MECHANISMS of key %lu", (unsigned long)priv);
    for (CK_ULONG i = 0; allowed && i < alen / sizeof(*allowed); i++) {
        CK_MECHANISM_TYPE m = allowed[i];
        CHECK(in_list(list, n, m), "key %lu allows 0x%lx, which the mechanism list lacks",
              (unsigned long)priv, (unsigned long)m);
        CK_MECHANISM_INFO info;
        if (f->C_GetMechanismInfo(0, m, &info) != CKR_OK)
            continue;
        if (info.flags & CKF_SIGN)
            sign_verify(s, priv, found ? pub : 0, m, mlen);
        else if ((info.flags & CKF_DECRYPT) && found)
            encrypt_decrypt(s, priv, pub, m, mlen);
    }
    free(allowed);
    free(id);
}

void advertised(CK_SESSION_HANDLE rw)
{
    CK_ULONG n = 0;
    CHECK_RV(f->C_GetMechanismList(0, NULL, &n), CKR_OK);
    CK_MECHANISM_TYPE *list = calloc(n ? n : 1, sizeof(*list));
    CHECK_RV(f->C_GetMechanismList(0, list, &n), CKR_OK);
    CHECK(!in_list(list, n, CKM_SHA224_RSA_PKCS) && !in_list(list, n, CKM_SHA224_RSA_PKCS_PSS),
          "RSA with SHA-224 advertised (the TPM has no SHA-224)");

    /* key sizes: within what the TPM accepts */
    CK_MECHANISM_INFO info;
    CK_MECHANISM_TYPE rsa_mechs[] = { CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_RSA_PKCS,
                                      CKM_SHA256_RSA_PKCS };
    CK_MECHANISM_TYPE ec_mechs[] = { CKM_EC_KEY_PAIR_GEN, CKM_ECDSA, CKM_ECDH1_DERIVE };
    for (int i = 0; i < 3; i++) {
        CHECK_RV(f->C_GetMechanismInfo(0, rsa_mechs[i], &info), CKR_OK);
        CHECK(info.ulMaxKeySize <= tpm_rsa_max,
              "mechanism 0x%lx: RSA up to %lu bits, the TPM "
              "takes %lu",
              (unsigned long)rsa_mechs[i], info.ulMaxKeySize, tpm_rsa_max);
        CHECK_RV(f->C_GetMechanismInfo(0, ec_mechs[i], &info), CKR_OK);
        CHECK(info.ulMaxKeySize <= tpm_ec_max,
              "mechanism 0x%lx: EC up to %lu bits, the TPM "
              "takes %lu",
              (unsigned long)ec_mechs[i], info.ulMaxKeySize, tpm_ec_max);
    }
    CHECK_RV(f->C_GetMechanismInfo(0, CKM_RSA_PKCS, &info), CKR_OK);
    CHECK(info.ulMaxKeySize == tpm_rsa_max, "CKM_RSA_PKCS up to %lu bits, the TPM takes %lu",
          info.ulMaxKeySize, tpm_rsa_max);

    /* keys: a generated RSA pair that may decrypt, an EC pair, and the factory keys */
    CK_BBOOL yes = CK_TRUE;
    CK_ULONG bits = 2048;
    CK_OBJECT_HANDLE pub, priv;
    CK_ATTRIBUTE rp[] = { { CKA_MODULUS_BITS, &bits, sizeof(bits) },
                          { CKA_LABEL, (void *)"adv-rsa", 7 } };
    CK_ATTRIBUTE rk[] = { { CKA_SIGN, &yes, 1 }, { CKA_DECRYPT, &yes, 1 } };
    CK_MECHANISM rg = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
    CHECK_RV(f->C_GenerateKeyPair(rw, &rg, rp, 2, rk, 2, &pub, &priv), CKR_OK);
    static const unsigned char p256[] = {
        0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07
    };
    CK_ATTRIBUTE ep[] = { { CKA_EC_PARAMS, (void *)p256, sizeof(p256) },
                          { CKA_LABEL, (void *)"adv-ec", 6 } };
    CK_MECHANISM eg = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
    CHECK_RV(f->C_GenerateKeyPair(rw, &eg, ep, 2, NULL, 0, &pub, &priv), CKR_OK);
    CK_OBJECT_HANDLE keys[8];
    CK_ULONG nkeys = find(f, rw, CKO_PRIVATE_KEY, NULL, keys, 8);
    CHECK(nkeys >= 2, "private keys: %lu", nkeys);
    for (CK_ULONG i = 0; i < nkeys; i++)
        key_mechanisms(rw, keys[i], list, n);

    /* parameters the TPM cannot honour: refused at *Init, for PSS and OAEP alike */
    CK_OBJECT_HANDLE rpriv = one(rw, CKO_PRIVATE_KEY, "adv-rsa");
    CK_OBJECT_HANDLE rpub = one(rw, CKO_PUBLIC_KEY, "adv-rsa");
    CK_RSA_PKCS_PSS_PARAMS pp = { CKM_SHA224, CKG_MGF1_SHA224, 28 };
    CK_MECHANISM m = { CKM_RSA_PKCS_PSS, &pp, sizeof(pp) };
    CHECK_RV(f->C_SignInit(rw, &m, rpriv), CKR_MECHANISM_PARAM_INVALID);
    CHECK_RV(f->C_VerifyInit(rw, &m, rpub), CKR_MECHANISM_PARAM_INVALID);
    CK_RSA_PKCS_OAEP_PARAMS op = { CKM_SHA224, CKG_MGF1_SHA224, CKZ_DATA_SPECIFIED, NULL, 0 };
    m = (CK_MECHANISM){ CKM_RSA_PKCS_OAEP, &op, sizeof(op) };
    CHECK_RV(f->C_DecryptInit(rw, &m, rpriv), CKR_MECHANISM_PARAM_INVALID);
    CHECK_RV(f->C_EncryptInit(rw, &m, rpub), CKR_MECHANISM_PARAM_INVALID);
    m = (CK_MECHANISM){ CKM_SHA224_RSA_PKCS, NULL, 0 };
    CHECK_RV(f->C_SignInit(rw, &m, rpriv), CKR_MECHANISM_INVALID);

    CHECK_RV(f->C_DestroyObject(rw, rpriv), CKR_OK);
    CHECK_RV(f->C_DestroyObject(rw, one(rw, CKO_PRIVATE_KEY, "adv-ec")), CKR_OK);
    free(list);
}
