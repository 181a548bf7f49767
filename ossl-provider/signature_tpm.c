/* SPDX-License-Identifier: Apache-2.0 */
/* SIGNATURE with a TPM key: the TPM path of signature.c.
 *
 * The digest is computed here in software, core signs it (one TPM command). Parameters
 * (digest, padding, salt length, MGF1 digest) are parsed by a "shadow" verify context of the
 * default provider on the key's public part, which also yields the AlgorithmIdentifier for
 * X.509/CMS; the effective settings are read back from it before signing.
 */
#include "signature.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <string.h>

/* An RSA signature with a digest the TPM does not implement works only by raw RSA (core
 * decides): refused here, at init or when the digest is set, rather than at the TPM. TLS
 * (check_cert_usable) tries a digest-sign init per signature algorithm, so a handshake never
 * picks one the TPM cannot do. */
static int tpm_has_digest(sig_ctx *s)
{
    if (s->key->type != DEVID_KEY_RSA || !s->md || s->pad == RSA_NO_PADDING)
        return 1;
    int nid = EVP_MD_get_type(s->md);
    bool ok = false;
    devid_rc rc = devid_key_sign_hash_ok(s->key->tpm, DEVID_SIG_RSA_PKCS1, nid, &ok);
    if (rc != DEVID_OK) {
        dp_raise_rc(s->ctx, rc, "asking the TPM for its hashes");
        return 0;
    }
    if (!ok)
        dp_raise(s->ctx, DP_R_UNSUPPORTED,
                 "the TPM does not implement %s, and RSA key 0x%08x does not allow raw RSA to "
                 "encode the signature in software",
                 OBJ_nid2sn(nid), devid_key_get_handle(s->key->tpm));
    return ok;
}

/* Reads the effective digest / padding / salt length back from the shadow context. */
static int sync_from_shadow(sig_ctx *s)
{
    char mdname[64] = "";
    OSSL_PARAM p[5], *q = p;
    *q++ = OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, mdname, sizeof(mdname));
    if (s->key->type == DEVID_KEY_RSA) {
        s->mgf1[0] = '\0';
        *q++ = OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_PAD_MODE, &s->pad);
        *q++ = OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, &s->saltlen);
    }
    *q = OSSL_PARAM_construct_end();
    if (EVP_PKEY_CTX_get_params(s->d, p) != 1) {
        dp_raise(s->ctx, DP_R_OPENSSL, "reading signature parameters");
        return 0;
    }
    if (s->key->type == DEVID_KEY_RSA && s->pad == RSA_PKCS1_PSS_PADDING) {
        OSSL_PARAM m[] = { OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, s->mgf1,
                                                  sizeof(s->mgf1)),
                           OSSL_PARAM_END };
        if (EVP_PKEY_CTX_get_params(s->d, m) != 1)
            s->mgf1[0] = '\0';
    }
    if (mdname[0] && (!s->md || !EVP_MD_is_a(s->md, mdname))) {
        EVP_MD *md = EVP_MD_fetch(NULL, mdname, "?" DP_SW_PROPQ);
        if (!md) {
            dp_raise(s->ctx, DP_R_UNSUPPORTED, "digest %s", mdname);
            return 0;
        }
        EVP_MD_free(s->md);
        s->md = md;
    }
    return tpm_has_digest(s);
}

/* OpenSSL >= 3.1's default PSS salt length for signing ("auto-digestmax": the digest length,
 * or less if the key is too small). OpenSSL 3.0 has no name for it and refuses the value. */
#ifndef RSA_PSS_SALTLEN_AUTO_DIGEST_MAX
#define RSA_PSS_SALTLEN_AUTO_DIGEST_MAX -4
#endif

static bool is_auto_digest_max(const OSSL_PARAM *p)
{
    if (p->data_type == OSSL_PARAM_UTF8_STRING) {
        const char *v = p->data;
        size_t n = v ? strnlen(v, p->data_size) : 0;
        return (n == 14 && !memcmp(v, "auto-digestmax", 14)) || (n == 2 && !memcmp(v, "-4", 2));
    }
    int v;
    return OSSL_PARAM_get_int(p, &v) && v == RSA_PSS_SALTLEN_AUTO_DIGEST_MAX;
}

/* The salt a TPM uses is the digest length when the key is large enough (TPM 2.0 library
 * spec, RSASSA-PSS: at most the digest length, less only when the key cannot hold it), which
 * is what "auto-digestmax" asks for: the shadow context is told "digest" instead, which every
 * OpenSSL 3 version accepts. The key-size case is refused at signing (see pss_salt_fits). */
int dp_sig_tpm_set_params(sig_ctx *s, const OSSL_PARAM params[])
{
    size_t n = 0;
    while (params[n].key)
        n++;
    OSSL_PARAM *copy = OPENSSL_memdup(params, (n + 1) * sizeof(*params));
    if (!copy) {
        dp_raise(s->ctx, DP_R_MEMORY, "signature parameters");
        return 0;
    }
    static const int digest = RSA_PSS_SALTLEN_DIGEST;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(copy[i].key, OSSL_SIGNATURE_PARAM_PSS_SALTLEN) && is_auto_digest_max(&copy[i]))
            copy[i] = OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, (int *)&digest);
    int ok = EVP_PKEY_CTX_set_params(s->d, copy) == 1;
    OPENSSL_free(copy);
    return ok && sync_from_shadow(s);
}

/* PSS with a salt of the digest length needs emLen >= 2 * hLen + 2 (RFC 8017 9.1.1). devid's
 * own keys (RSA 2048 and up) always fit; a smaller key from elsewhere with a long digest (RSA
 * 1024 with SHA-512) does not, and the TPM would then use a shorter salt than the signature's
 * AlgorithmIdentifier says: refuse with a clear error instead. */
static int pss_salt_fits(sig_ctx *s, int mdsize)
{
    int bits = EVP_PKEY_get_bits(s->key->pub);
    if (bits > 0 && (bits - 1 + 7) / 8 >= 2 * mdsize + 2)
        return 1;
    dp_raise(s->ctx, DP_R_UNSUPPORTED,
             "RSA-%d key too small for PSS with %s and salt length = digest length (%d): use a "
             "shorter digest",
             bits, EVP_MD_get0_name(s->md), mdsize);
    return 0;
}

/* Starts the software hash of a digest-sign operation (mdname "": the default, SHA-256). */
static int start_digest(sig_ctx *s, const char *mdname)
{
    OSSL_PARAM p[] = { OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST,
                                                        (char *)(mdname[0] ? mdname : "SHA256"), 0),
                       OSSL_PARAM_END };
    if (!dp_sig_set_params(s, p))
        return 0;
    s->mdctx = EVP_MD_CTX_new();
    if (!s->mdctx || !s->md || EVP_DigestInit_ex(s->mdctx, s->md, NULL) != 1) {
        dp_raise(s->ctx, DP_R_OPENSSL, "starting digest %s", mdname);
        return 0;
    }
    return 1;
}

int dp_sig_tpm_init(sig_ctx *s, const char *mdname, const OSSL_PARAM params[])
{
    dp_key *key = s->key;
    s->d = EVP_PKEY_CTX_new_from_pkey(NULL, key->pub, DP_SW_PROPQ);
    if (!s->d || EVP_PKEY_verify_init(s->d) != 1) {
        dp_raise(s->ctx, DP_R_OPENSSL, "setting up a %s signature", dp_key_type_name(key->type));
        return 0;
    }
    if (!dp_core_ready(s->ctx))
        return 0;
    if (!devid_key_signs_arbitrary_data(key->tpm)) {
        dp_raise(s->ctx, DP_R_KEY_USAGE,
                 "TPM key 0x%08x is restricted (an attestation "
                 "key): it signs only TPM-generated data",
                 devid_key_get_handle(key->tpm));
        return 0;
    }
    if (!(devid_key_get_flags(key->tpm) & (DEVID_KEY_CAN_SIGN | DEVID_KEY_CAN_DECRYPT))) {
        dp_raise(s->ctx, DP_R_KEY_USAGE, "TPM key 0x%08x cannot sign",
                 devid_key_get_handle(key->tpm));
        return 0;
    }
    if (mdname && !start_digest(s, mdname))
        return 0;
    return dp_sig_set_params(s, params);
}

size_t dp_sig_tpm_max_size(const sig_ctx *s)
{
    size_t raw = devid_key_sig_size(s->key->tpm);
    return s->key->type == DEVID_KEY_EC ? devid_ecdsa_der_max(raw / 2) : raw;
}

static int ecdsa_to_der(sig_ctx *s, const unsigned char *rs, size_t rslen, unsigned char *sig,
                        size_t *siglen, size_t sigsize)
{
    size_t len = devid_ecdsa_rs_to_der(rs, rslen, sig, sigsize);
    if (!len) {
        dp_raise(s->ctx, DP_R_OPENSSL, "encoding the ECDSA signature");
        return 0;
    }
    *siglen = len;
    return 1;
}

int dp_sig_tpm_sign(sig_ctx *s, unsigned char *sig, size_t *siglen, size_t sigsize,
                    const unsigned char *tbs, size_t tbslen)
{
    devid_key *k = s->key->tpm;
    int md_nid = s->md ? EVP_MD_get_type(s->md) : NID_undef;
    devid_sig_scheme scheme = DEVID_SIG_ECDSA;
    if (s->key->type == DEVID_KEY_RSA) {
        switch (s->pad) {
        case RSA_PKCS1_PADDING:
            scheme = DEVID_SIG_RSA_PKCS1;
            break;
        case RSA_PKCS1_PSS_PADDING: {
            scheme = DEVID_SIG_RSA_PSS;
            int mgf1_nid = s->mgf1[0] ? dp_md_nid(s->mgf1) : md_nid;
            devid_rc rc = devid_rsa_check_pss(md_nid, mgf1_nid, s->saltlen);
            if (rc != DEVID_OK) {
                dp_raise_rc(s->ctx, rc, "PSS with a TPM key");
                return 0;
            }
            int mdsize = EVP_MD_get_size(s->md);
            if (!pss_salt_fits(s, mdsize))
                return 0;
            break;
        }
        case RSA_NO_PADDING:
            scheme = DEVID_SIG_RSA_RAW;
            md_nid = NID_undef;
            break;
        default:
            dp_raise(s->ctx, DP_R_UNSUPPORTED, "RSA padding mode %d", s->pad);
            return 0;
        }
    }
    if (s->md && scheme != DEVID_SIG_RSA_RAW && tbslen != (size_t)EVP_MD_get_size(s->md)) {
        dp_raise(s->ctx, DP_R_ARG, "%zu-byte input for digest %s", tbslen, EVP_MD_get0_name(s->md));
        return 0;
    }
    unsigned char raw[1024];
    size_t rawlen = sizeof(raw);
    devid_rc rc = devid_key_sign(k, scheme, md_nid, tbs, tbslen, raw, &rawlen);
    if (rc != DEVID_OK) {
        dp_raise_rc(s->ctx, rc, "signing in the TPM");
        return 0;
    }
    if (s->key->type == DEVID_KEY_EC)
        return ecdsa_to_der(s, raw, rawlen, sig, siglen, sigsize);
    if (rawlen > sigsize) {
        dp_raise(s->ctx, DP_R_BUFFER, "signature needs %zu bytes", rawlen);
        return 0;
    }
    memcpy(sig, raw, rawlen);
    *siglen = rawlen;
    return 1;
}
