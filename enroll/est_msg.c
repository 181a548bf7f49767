/* SPDX-License-Identifier: Apache-2.0 */
#include "est_msg.h"
#include "evidence.h"

#include <ctype.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BODY (1024 * 1024)

devid_rc est_base64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
    if (len > MAX_BODY)
        return devid_fail(DEVID_ERR_FORMAT, "base64 body larger than %d bytes", MAX_BODY);
    /* trailing NULs, among trailing white space, are no part of the body (a widely deployed
     * server ends its /csrattrs with one); inside it a NUL is invalid */
    while (len && (in[len - 1] == '\0' || isspace((unsigned char)in[len - 1])))
        len--;
    char *clean = malloc(len + 1);
    if (!clean)
        return devid_fail(DEVID_ERR_MEMORY, "base64");
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (isspace(c))
            continue;
        if (!isalnum(c) && c != '+' && c != '/' && c != '=') {
            free(clean);
            return devid_fail(DEVID_ERR_FORMAT, "invalid character 0x%02x in base64", c);
        }
        clean[n++] = (char)c;
    }
    if (n == 0 || n % 4) {
        free(clean);
        return devid_fail(DEVID_ERR_FORMAT, "base64 length %zu is not a multiple of 4", n);
    }
    unsigned char *buf = malloc(n / 4 * 3 + 1);
    int got = buf ? EVP_DecodeBlock(buf, (unsigned char *)clean, (int)n) : -1;
    /* padding: EVP_DecodeBlock counts '=' as zero bytes */
    size_t pad = (clean[n - 1] == '=') + (clean[n - 2] == '=');
    bool pad_ok = true; /* '=' only as the last one or two characters */
    for (size_t i = 0; i < n; i++)
        if (clean[i] == '=' && (i + 2 < n || (i + 1 < n && clean[i + 1] != '=')))
            pad_ok = false;
    free(clean);
    if (got < 0 || !pad_ok || (size_t)got < pad) {
        free(buf);
        return devid_fail(DEVID_ERR_FORMAT, "malformed base64");
    }
    *out = buf;
    *outlen = (size_t)got - pad;
    return DEVID_OK;
}

devid_rc est_base64_encode(const unsigned char *in, size_t len, char **out, size_t *outlen)
{
    if (len > MAX_BODY)
        return devid_fail(DEVID_ERR_ARG, "too large to encode");
    size_t b64 = 4 * ((len + 2) / 3);
    size_t lines = (b64 + 63) / 64;
    char *buf = malloc(b64 + 1);
    char *res = malloc(b64 + 2 * lines + 1);
    if (!buf || !res) {
        free(buf);
        free(res);
        return devid_fail(DEVID_ERR_MEMORY, "base64");
    }
    EVP_EncodeBlock((unsigned char *)buf, in, (int)len);
    size_t n = 0;
    for (size_t i = 0; i < b64; i += 64) {
        size_t chunk = b64 - i < 64 ? b64 - i : 64;
        memcpy(res + n, buf + i, chunk);
        n += chunk;
        res[n++] = '\r';
        res[n++] = '\n';
    }
    res[n] = '\0';
    free(buf);
    *out = res;
    *outlen = n;
    return DEVID_OK;
}

devid_rc est_parse_certs_only(const char *body, size_t len, STACK_OF(X509) **certs)
{
    unsigned char *der = NULL;
    size_t derlen = 0;
    devid_rc rc = est_base64_decode(body, len, &der, &derlen);
    if (rc != DEVID_OK)
        return rc;
    const unsigned char *p = der;
    PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)derlen);
    STACK_OF(X509) *found = NULL;
    if (!p7 || p != der + derlen)
        rc = devid_fail(DEVID_ERR_FORMAT, "response is not a DER PKCS#7");
    else if (!PKCS7_type_is_signed(p7) || !p7->d.sign)
        rc = devid_fail(DEVID_ERR_FORMAT, "PKCS#7 is not SignedData (certs-only)");
    else if (!(found = p7->d.sign->cert) || sk_X509_num(found) == 0)
        rc = devid_fail(DEVID_ERR_FORMAT, "PKCS#7 carries no certificates");
    if (rc == DEVID_OK) {
        *certs = sk_X509_new_null();
        for (int i = 0; *certs && i < sk_X509_num(found); i++) {
            X509 *c = sk_X509_value(found, i);
            if (!X509_up_ref(c) || !sk_X509_push(*certs, c)) {
                X509_free(c);
                rc = devid_fail(DEVID_ERR_MEMORY, "certificates");
                break;
            }
        }
        if (!*certs)
            rc = devid_fail(DEVID_ERR_MEMORY, "certificates");
        if (rc != DEVID_OK) {
            sk_X509_pop_free(*certs, X509_free);
            *certs = NULL;
        }
    }
    PKCS7_free(p7);
    free(der);
    ERR_clear_error();
    return rc;
}

static devid_rc add_san(X509_REQ *req, const X509 *like)
{
    int crit = 0;
    GENERAL_NAMES *san = X509_get_ext_d2i(like, NID_subject_alt_name, &crit, NULL);
    if (!san)
        return DEVID_OK;
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION *ext = X509V3_EXT_i2d(NID_subject_alt_name, crit, san);
    devid_rc rc = DEVID_OK;
    if (!exts || !ext || !sk_X509_EXTENSION_push(exts, ext) ||
        X509_REQ_add_extensions(req, exts) != 1) {
        if (ext && exts && sk_X509_EXTENSION_num(exts) == 0)
            X509_EXTENSION_free(ext);
        rc = devid_fail(DEVID_ERR_INTERNAL, "cannot add the subjectAltName");
    }
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    GENERAL_NAMES_free(san);
    return rc;
}

/* The request's SubjectPublicKeyInfo without OpenSSL 3.0's encoder for a provider's key, which
 * walks every provider's encoders and decodes its own output back (~1 ms of CPU per CSR):
 * from the certificate of the same key (a re-enroll), or built from an EC key's curve and
 * point as OpenSSL's own encoder does (RFC 5480: id-ecPublicKey, the named curve, the point as
 * the key holds it). Anything else (RSA, an explicit curve) is encoded as before. Each helper
 * leaves the request untouched when it returns false. */
static bool spki_from_cert(X509_REQ *req, EVP_PKEY *key, const X509 *like)
{
    EVP_PKEY *certified = like ? X509_get0_pubkey(like) : NULL;
    const unsigned char *bits = NULL;
    int nbits = 0;
    X509_ALGOR *alg = NULL;
    if (!certified || EVP_PKEY_eq(certified, key) != 1 ||
        X509_PUBKEY_get0_param(NULL, &bits, &nbits, &alg, X509_get_X509_PUBKEY(like)) != 1)
        return false;
    const ASN1_OBJECT *oid = NULL;
    int ptype = V_ASN1_UNDEF;
    const void *pval = NULL;
    X509_ALGOR_get0(&oid, &ptype, &pval, alg);
    void *param = NULL; /* the algorithm's parameters: a curve's name, RSA's NULL, or none */
    if (ptype == V_ASN1_OBJECT)
        param = OBJ_dup(pval);
    else if (ptype == V_ASN1_SEQUENCE)
        param = ASN1_STRING_dup(pval);
    else if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF)
        return false;
    ASN1_OBJECT *oid_copy = OBJ_dup(oid);
    unsigned char *bits_copy = OPENSSL_memdup(bits, (size_t)nbits);
    if (oid_copy && bits_copy && (param || ptype == V_ASN1_NULL || ptype == V_ASN1_UNDEF) &&
        X509_PUBKEY_set0_param(X509_REQ_get_X509_PUBKEY(req), oid_copy, ptype, param, bits_copy,
                               nbits) == 1)
        return true;
    ASN1_OBJECT_free(oid_copy);
    OPENSSL_free(bits_copy);
    if (ptype == V_ASN1_OBJECT)
        ASN1_OBJECT_free(param);
    else
        ASN1_STRING_free(param);
    return false;
}

static bool spki_from_ec_key(X509_REQ *req, EVP_PKEY *key)
{
    char group[80];
    unsigned char point[1 + 2 * 66]; /* uncompressed P-521 at most */
    size_t glen = 0, plen = 0;
    if (!EVP_PKEY_is_a(key, "EC") ||
        EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &glen) != 1 ||
        EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point),
                                        &plen) != 1 ||
        plen == 0 || plen > INT32_MAX)
        return false;
    int curve = OBJ_txt2nid(group);
    if (curve == NID_undef)
        curve = EC_curve_nist2nid(group);
    unsigned char *bits = curve != NID_undef ? OPENSSL_memdup(point, plen) : NULL;
    /* (OBJ_nid2obj's objects are static: the request may own them) */
    if (bits &&
        X509_PUBKEY_set0_param(X509_REQ_get_X509_PUBKEY(req), OBJ_nid2obj(NID_X9_62_id_ecPublicKey),
                               V_ASN1_OBJECT, OBJ_nid2obj(curve), bits, (int)plen) == 1)
        return true;
    OPENSSL_free(bits);
    return false;
}

static bool set_pubkey(X509_REQ *req, EVP_PKEY *key, const X509 *like)
{
    bool done = spki_from_cert(req, key, like) || spki_from_ec_key(req, key);
    ERR_clear_error(); /* (a key of another kind than the certificate's says so) */
    return done || X509_REQ_set_pubkey(req, key) == 1;
}

devid_rc est_build_csr(EVP_PKEY *key, const X509_NAME *subject, const X509 *like, int md_nid,
                       const char *challenge, const unsigned char *evidence, size_t evidence_len,
                       unsigned char **der, size_t *len)
{
    X509_REQ *req = X509_REQ_new();
    devid_rc rc = DEVID_OK;
    const X509_NAME *name = like ? X509_get_subject_name(like) : subject;
    if (!req || !name || X509_REQ_set_version(req, 0) != 1 ||
        X509_REQ_set_subject_name(req, name) != 1 || !set_pubkey(req, key, like))
        rc = devid_fail(DEVID_ERR_ARG, "cannot build the certificate request");
    if (rc == DEVID_OK && like)
        rc = add_san(req, like);
    /* a PrintableString, as RFC 2985 5.4.1 asks (base64 fits its alphabet) */
    if (rc == DEVID_OK && challenge &&
        X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword, V_ASN1_PRINTABLESTRING,
                                  (const unsigned char *)challenge, (int)strlen(challenge)) != 1)
        rc = devid_fail(DEVID_ERR_ARG, "cannot add the challengePassword");
    if (rc == DEVID_OK && evidence) {
        /* the whole DER value as one SEQUENCE (OpenSSL keeps a SEQUENCE's encoding as is) */
        ASN1_OBJECT *oid = OBJ_txt2obj(EVIDENCE_ATTRIBUTE_OID, 1);
        if (!oid || evidence_len > INT32_MAX ||
            X509_REQ_add1_attr_by_OBJ(req, oid, V_ASN1_SEQUENCE, evidence, (int)evidence_len) != 1)
            rc = devid_fail(DEVID_ERR_ARG, "cannot add the evidence attribute");
        ASN1_OBJECT_free(oid);
    }
    const EVP_MD *md = md_nid != NID_undef ? EVP_get_digestbynid(md_nid) : EVP_sha256();
    if (rc == DEVID_OK && !md)
        rc = devid_fail(DEVID_ERR_UNSUPPORTED, "digest %s", OBJ_nid2sn(md_nid));
    if (rc == DEVID_OK && X509_REQ_sign(req, key, md) <= 0) {
        unsigned long e = ERR_peek_last_error();
        rc = devid_fail(DEVID_ERR_TPM, "signing the certificate request failed: %s",
                        e ? ERR_reason_error_string(e) : "unknown");
    }
    int n = rc == DEVID_OK ? i2d_X509_REQ(req, der) : -1;
    if (rc == DEVID_OK && n <= 0)
        rc = devid_fail(DEVID_ERR_INTERNAL, "cannot encode the certificate request");
    if (rc == DEVID_OK)
        *len = (size_t)n;
    X509_REQ_free(req);
    ERR_clear_error();
    return rc;
}

X509 *est_find_cert_for_key(STACK_OF(X509) *certs, EVP_PKEY *key)
{
    for (int i = 0; i < sk_X509_num(certs); i++) {
        X509 *c = sk_X509_value(certs, i);
        if (EVP_PKEY_eq(X509_get0_pubkey(c), key) == 1)
            return c;
    }
    ERR_clear_error();
    return NULL;
}

/* One Attribute of a CsrAttrs: the key type (and its parameter) or a request we note. */
static void csrattr_attribute(const unsigned char *der, long len, est_csr_wishes *w)
{
    const unsigned char *p = der;
    X509_ATTRIBUTE *attr = d2i_X509_ATTRIBUTE(NULL, &p, len);
    if (!attr) {
        w->ignored++;
        return;
    }
    int nid = OBJ_obj2nid(X509_ATTRIBUTE_get0_object(attr));
    ASN1_TYPE *v = X509_ATTRIBUTE_count(attr) > 0 ? X509_ATTRIBUTE_get0_type(attr, 0) : NULL;
    if (nid == NID_X9_62_id_ecPublicKey && v && v->type == V_ASN1_OBJECT) {
        w->key_type = EVP_PKEY_EC;
        w->curve_nid = OBJ_obj2nid(v->value.object);
    } else if (nid == NID_rsaEncryption && v && v->type == V_ASN1_INTEGER) {
        long bits = ASN1_INTEGER_get(v->value.integer);
        w->key_type = EVP_PKEY_RSA;
        w->rsa_bits = bits > 0 && bits <= 16384 ? (int)bits : 0;
    } else if (nid == NID_pkcs9_challengePassword) {
        w->challenge_password = true;
    } else {
        w->ignored++;
    }
    X509_ATTRIBUTE_free(attr);
}

static int md_of_sigalg(int nid)
{
    int md = NID_undef, pkey = NID_undef;
    if (OBJ_find_sigid_algs(nid, &md, &pkey) != 1)
        return NID_undef;
    return md;
}

devid_rc est_parse_csrattrs(const unsigned char *der, size_t len, est_csr_wishes *w)
{
    memset(w, 0, sizeof(*w));
    w->md_nid = NID_undef;
    const unsigned char *p = der;
    STACK_OF(ASN1_TYPE) *items = d2i_ASN1_SEQUENCE_ANY(NULL, &p, (long)len);
    if (!items || p != der + len) {
        sk_ASN1_TYPE_pop_free(items, ASN1_TYPE_free);
        ERR_clear_error();
        return devid_fail(DEVID_ERR_FORMAT, "/csrattrs is not a DER SEQUENCE");
    }
    for (int i = 0; i < sk_ASN1_TYPE_num(items); i++) {
        ASN1_TYPE *t = sk_ASN1_TYPE_value(items, i);
        if (t->type == V_ASN1_OBJECT) {
            int nid = OBJ_obj2nid(t->value.object);
            int md = md_of_sigalg(nid);
            if (md != NID_undef)
                w->md_nid = md;
            else if (nid == NID_pkcs9_challengePassword)
                w->challenge_password = true;
            else
                w->ignored++;
        } else if (t->type == V_ASN1_SEQUENCE) {
            csrattr_attribute(t->value.sequence->data, t->value.sequence->length, w);
        } else {
            w->ignored++;
        }
    }
    sk_ASN1_TYPE_pop_free(items, ASN1_TYPE_free);
    ERR_clear_error();
    return DEVID_OK;
}
