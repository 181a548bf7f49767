/* SPDX-License-Identifier: Apache-2.0 */
/* DECODERS: TSS2 PRIVATE KEY files (PEM and DER, loaded under the parent they name by core)
 * and devid key reference files, so applications that only take a key *file* (curl,
 * mosquitto, nginx) can use TPM keys once openssl.cnf activates the provider.
 *
 * Reference file (docs/openssl-provider.md): UTF-8 text; blank lines and lines starting
 * with '#' are ignored; the one remaining line is a devid: URI naming a private key, e.g.
 *
 *     # IDevID of this device: the key stays in the TPM
 *     devid:object=IDevID
 *
 * Each decoder only returns keys of its own type (EC or RSA) and returns empty-handed for
 * anything it does not recognise, so the default provider's decoders see every other file.
 */
#include "store.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#define DP_DEC_MAX_INPUT (64 * 1024)
#define TSS2_PEM_NAME "TSS2 PRIVATE KEY"
#define TSS2_LOADABLE_OID "2.23.133.10.1.3"
#define TPM2_ALG_RSA_ID 0x0001
#define TPM2_ALG_ECC_ID 0x0023

typedef struct dec_ctx {
    dp_ctx *ctx;
    devid_key_type type;
} dec_ctx;

/* Minimal look into a TSS2 PRIVATE KEY (TPMKey ::= SEQUENCE { type OID, emptyAuth [0]
 * BOOLEAN OPT, policy [1] OPT, secret [2] OPT, parent INTEGER, pubkey OCTET STRING, ... })
 * for its key type and emptyAuth, without touching the TPM. Full parsing is core's. */
/* Entry points, typed: a signature that does not match OpenSSL's does not compile. */
static OSSL_FUNC_decoder_newctx_fn der_newctx, ec_newctx, rsa_newctx;
static OSSL_FUNC_decoder_freectx_fn dec_freectx;
static OSSL_FUNC_decoder_does_selection_fn dec_does_selection;
static OSSL_FUNC_decoder_decode_fn pem_decode, der_decode, tss2_pem2der_decode;

static bool tss2_peek(const unsigned char *der, size_t len, devid_key_type *type, bool *empty_auth)
{
    const unsigned char *p = der;
    long l;
    int tag, cls;
    if ((ASN1_get_object(&p, &l, &tag, &cls, (long)len) & 0x80) || tag != V_ASN1_SEQUENCE ||
        cls != V_ASN1_UNIVERSAL)
        return false;
    const unsigned char *end = p + l;
    if (end > der + len)
        return false;
    ASN1_OBJECT *oid = d2i_ASN1_OBJECT(NULL, &p, end - p);
    char txt[32] = "";
    if (oid)
        OBJ_obj2txt(txt, sizeof(txt), oid, 1);
    ASN1_OBJECT_free(oid);
    if (strcmp(txt, TSS2_LOADABLE_OID) != 0)
        return false;
    *empty_auth = false;
    for (;;) { /* optional [0] [1] [2] */
        const unsigned char *q = p;
        if (p >= end || (ASN1_get_object(&q, &l, &tag, &cls, end - p) & 0x80))
            return false;
        if (cls != V_ASN1_CONTEXT_SPECIFIC)
            break;
        if (tag == 0) {
            const unsigned char *b = q;
            long bl;
            if ((ASN1_get_object(&b, &bl, &tag, &cls, l) & 0x80) || tag != V_ASN1_BOOLEAN ||
                bl != 1)
                return false;
            *empty_auth = b[0] != 0;
        }
        p = q + l;
    }
    /* parent INTEGER */
    if ((ASN1_get_object(&p, &l, &tag, &cls, end - p) & 0x80) || tag != V_ASN1_INTEGER)
        return false;
    p += l;
    /* pubkey OCTET STRING holding a TPM2B_PUBLIC: size(2) type(2) ... */
    if (p >= end || (ASN1_get_object(&p, &l, &tag, &cls, end - p) & 0x80) ||
        tag != V_ASN1_OCTET_STRING || l < 4)
        return false;
    unsigned alg = (unsigned)p[2] << 8 | p[3];
    if (alg == TPM2_ALG_ECC_ID)
        *type = DEVID_KEY_EC;
    else if (alg == TPM2_ALG_RSA_ID)
        *type = DEVID_KEY_RSA;
    else
        return false;
    return true;
}

static int ask_password(dec_ctx *d, devid_key *key, OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    char pass[256];
    size_t plen = 0;
    OSSL_PARAM info[] = {
        OSSL_PARAM_utf8_string(OSSL_PASSPHRASE_PARAM_INFO, (char *)"TPM key", 7),
        OSSL_PARAM_END,
    };
    if (!pw_cb || !pw_cb(pass, sizeof(pass), &plen, info, pw_cbarg)) {
        dp_raise(d->ctx, DP_R_AUTH, "this TPM key needs a password and none was given");
        return 0;
    }
    devid_rc rc = devid_key_set_auth(key, pass, plen);
    OPENSSL_cleanse(pass, sizeof(pass));
    if (rc != DEVID_OK) {
        dp_raise_rc(d->ctx, rc, "setting the key's password");
        return 0;
    }
    return 1;
}

/* A key file copied out of the store (openssl genpkey's output) holding a token-bound key: its
 * auth value is the token secret, unlocked by the user PIN from the configured source
 * (pin_file), not a password. Replaces *k by the store's key; uid names it. 0: not such a
 * file; -1: raised. */
static int open_token_key(dec_ctx *d, const unsigned char *der, size_t len, devid_key **k,
                          char uid[DEVID_UID_LEN + 1])
{
    devid_store_attrs attrs;
    if (devid_store_find_key(der, len, uid) != DEVID_OK ||
        devid_store_get_attrs(uid, &attrs) != DEVID_OK || !attrs.token_bound) {
        uid[0] = '\0';
        return 0;
    }
    devid_key *sk = NULL;
    devid_rc rc = devid_token_login_configured();
    if (rc == DEVID_OK)
        rc = devid_store_open_key(uid, &sk);
    if (rc != DEVID_OK) {
        dp_raise_rc(d->ctx, rc, "using the key file of a PIN-protected store key");
        return -1;
    }
    devid_key_free(*k);
    *k = sk;
    return 1;
}

static int decode_tss2(dec_ctx *d, const unsigned char *der, size_t len, OSSL_CALLBACK *cb,
                       void *cbarg, OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    devid_key_type type;
    bool empty_auth;
    if (!tss2_peek(der, len, &type, &empty_auth))
        return -1; /* not ours */
    if (type != d->type)
        return 1; /* the other type's decoder takes it */
    if (!dp_core_ready(d->ctx))
        return 0;
    devid_key *k = NULL;
    devid_rc rc = devid_key_load_tss2(der, len, &k);
    if (rc != DEVID_OK) {
        dp_raise_rc(d->ctx, rc, "loading the TSS2 PRIVATE KEY");
        return 0;
    }
    char uid[DEVID_UID_LEN + 1] = "";
    int token = empty_auth ? 0 : open_token_key(d, der, len, &k, uid);
    if (token < 0 || (!empty_auth && !token && !ask_password(d, k, pw_cb, pw_cbarg))) {
        devid_key_free(k);
        return 0;
    }
    dp_key *key = dp_key_from_tpm(d->ctx, k);
    if (!key)
        return 0;
    snprintf(key->uid, sizeof(key->uid), "%s", uid);
    int ok = dp_key_object_cb(key, cb, cbarg);
    dp_key_free(key);
    return ok;
}

/* The URI line of a reference file, or NULL if text is not one. */
static char *reference_uri(char *text, size_t len)
{
    if (memchr(text, '\0', len))
        return NULL;
    char *uri = NULL;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        while (*line == ' ' || *line == '\t')
            line++;
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
            line[--n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        if (uri || strncmp(line, "devid:", 6) != 0)
            return NULL; /* a second content line, or not a URI: not a reference file */
        uri = line;
    }
    return uri;
}

static int decode_reference(dec_ctx *d, char *text, size_t len, OSSL_CALLBACK *cb, void *cbarg)
{
    char *uri = reference_uri(text, len);
    if (!uri)
        return -1;
    dp_key *key = dp_open_uri_key(d->ctx, uri);
    if (!key)
        return 0;
    int ok = key->type == d->type ? dp_key_object_cb(key, cb, cbarg) : 1;
    dp_key_free(key);
    return ok;
}

/* Reads the input; anything too large for a key file is not ours (no error left behind). */
static bool read_input(dec_ctx *d, OSSL_CORE_BIO *in, unsigned char **data, size_t *len)
{
    ERR_set_mark();
    bool ok = dp_bio_read_all(d->ctx, in, DP_DEC_MAX_INPUT, data, len);
    ERR_pop_to_mark();
    return ok;
}

/* The DER of the first TSS2 PRIVATE KEY PEM block in data (NUL-terminated): 1 (*der to
 * OPENSSL_free), 0 there is none, -1 a malformed one (OpenSSL's errors about it cleared). */
static int tss2_pem_der(const unsigned char *data, size_t len, unsigned char **der, long *derlen)
{
    *der = NULL;
    *derlen = 0;
    const char *begin = strstr((const char *)data, "-----BEGIN " TSS2_PEM_NAME "-----");
    if (!begin)
        return 0;
    BIO *mem = BIO_new_mem_buf(begin, (int)(len - (size_t)(begin - (const char *)data)));
    char *name = NULL, *header = NULL;
    bool found = mem && PEM_read_bio(mem, &name, &header, der, derlen) == 1 &&
                 strcmp(name, TSS2_PEM_NAME) == 0;
    if (!found) {
        ERR_clear_error();
        OPENSSL_free(*der);
        *der = NULL;
        *derlen = 0;
    }
    OPENSSL_free(name);
    OPENSSL_free(header);
    BIO_free(mem);
    return found ? 1 : -1;
}

static int pem_decode(void *vctx, OSSL_CORE_BIO *in, int selection, OSSL_CALLBACK *cb, void *cbarg,
                      OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    (void)selection;
    dec_ctx *d = vctx;
    unsigned char *data = NULL;
    size_t len = 0;
    if (!read_input(d, in, &data, &len))
        return 1; /* too large or unreadable: not ours, let others try */
    unsigned char *der = NULL;
    long derlen = 0;
    int ok;
    switch (tss2_pem_der(data, len, &der, &derlen)) {
    case 1:
        ok = decode_tss2(d, der, (size_t)derlen, cb, cbarg, pw_cb, pw_cbarg);
        if (ok < 0) {
            dp_raise(d->ctx, DP_R_FORMAT, "malformed TSS2 PRIVATE KEY");
            ok = 0;
        }
        break;
    case -1:
        dp_raise(d->ctx, DP_R_FORMAT, "malformed TSS2 PRIVATE KEY PEM");
        ok = 0;
        break;
    default:
        ok = decode_reference(d, (char *)data, len, cb, cbarg);
        if (ok < 0)
            ok = 1; /* neither: empty-handed */
        break;
    }
    OPENSSL_free(der);
    OPENSSL_cleanse(data, len);
    free(data);
    return ok;
}

static int der_decode(void *vctx, OSSL_CORE_BIO *in, int selection, OSSL_CALLBACK *cb, void *cbarg,
                      OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    (void)selection;
    dec_ctx *d = vctx;
    unsigned char *data = NULL;
    size_t len = 0;
    if (!read_input(d, in, &data, &len))
        return 1;
    int ok = decode_tss2(d, data, len, cb, cbarg, pw_cb, pw_cbarg);
    free(data);
    return ok < 0 ? 1 : ok;
}

/* TSS2 PRIVATE KEY PEM -> DER, for decoder chains that start from PEM and build keys from
 * DER (the OSSL_STORE "file:" loader: `openssl pkey -in key.pem`). The default provider's
 * PEM decoder passes on only the PEM types it knows. */
static int tss2_pem2der_decode(void *vctx, OSSL_CORE_BIO *in, int selection, OSSL_CALLBACK *cb,
                               void *cbarg, OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    (void)selection;
    (void)pw_cb;
    (void)pw_cbarg;
    dec_ctx *d = vctx;
    unsigned char *data = NULL;
    size_t len = 0;
    if (!read_input(d, in, &data, &len))
        return 1;
    int ok = 1;
    unsigned char *der = NULL;
    long derlen = 0;
    /* a malformed one: the key decoders report it */
    if (tss2_pem_der(data, len, &der, &derlen) == 1) {
        int objtype = OSSL_OBJECT_PKEY;
        OSSL_PARAM params[] = {
            OSSL_PARAM_int(OSSL_OBJECT_PARAM_TYPE, &objtype),
            OSSL_PARAM_utf8_string(OSSL_OBJECT_PARAM_DATA_STRUCTURE, (char *)"TSS2", 4),
            OSSL_PARAM_octet_string(OSSL_OBJECT_PARAM_DATA, der, (size_t)derlen),
            OSSL_PARAM_END,
        };
        ok = cb(params, cbarg);
    }
    OPENSSL_free(der);
    free(data);
    return ok;
}

static void *dec_newctx(dp_ctx *ctx, devid_key_type type)
{
    dec_ctx *d = calloc(1, sizeof(*d));
    if (!d) {
        dp_raise(ctx, DP_R_MEMORY, "decoder context");
        return NULL;
    }
    d->ctx = ctx;
    d->type = type;
    return d;
}
static void *der_newctx(void *provctx)
{
    return dec_newctx(provctx, DEVID_KEY_EC);
}
static void *ec_newctx(void *provctx)
{
    return dec_newctx(provctx, DEVID_KEY_EC);
}
static void *rsa_newctx(void *provctx)
{
    return dec_newctx(provctx, DEVID_KEY_RSA);
}
static void dec_freectx(void *vctx)
{
    free(vctx);
}

/* Private keys only (or "anything", selection 0, as the file: loader asks). OpenSSL 3.0 builds a
 * decoder chain for every public key it parses (each certificate a TLS peer sends); declining
 * public-key-only selections keeps devid's decoders out of those chains, which otherwise
 * cost ~25 us per certificate. */
static int dec_does_selection(void *provctx, int selection)
{
    (void)provctx;
    return selection == 0 || (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0;
}

#define DECODER(name, newctx, fn)                                                                  \
    const OSSL_DISPATCH name[] = {                                                                 \
        { OSSL_FUNC_DECODER_NEWCTX, (void (*)(void))newctx },                                      \
        { OSSL_FUNC_DECODER_FREECTX, (void (*)(void))dec_freectx },                                \
        { OSSL_FUNC_DECODER_DOES_SELECTION, (void (*)(void))dec_does_selection },                  \
        { OSSL_FUNC_DECODER_DECODE, (void (*)(void))fn },                                          \
        { 0, NULL },                                                                               \
    }

DECODER(dp_pem_ec_decoder_functions, ec_newctx, pem_decode);
DECODER(dp_pem_rsa_decoder_functions, rsa_newctx, pem_decode);
DECODER(dp_der_ec_decoder_functions, ec_newctx, der_decode);
DECODER(dp_der_rsa_decoder_functions, rsa_newctx, der_decode);
DECODER(dp_tss2_pem2der_decoder_functions, der_newctx, tss2_pem2der_decode);
