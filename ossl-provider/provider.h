/* SPDX-License-Identifier: Apache-2.0 */
/* devid OpenSSL 3 provider: shared declarations.
 *
 * The provider translates OpenSSL calls into libdevid-core calls; core decides. Each operation
 * lives in its own file with its OSSL_DISPATCH table next to its functions.
 *
 * Coexistence with the default provider: OpenSSL picks the first implementation of a name
 * ("EC", "ECDSA", "RSA", ...) it finds, and which provider is "first" depends on load order and
 * on internal sorting, not on the user. So our keymgmt, signature, keyexch and asym cipher also
 * see keys that are not in the TPM (ephemeral ECDHE keys, peer public keys, software keys).
 * Those are "soft" keys: an EVP_PKEY of the default provider that we wrap and hand every
 * operation back to (strict "provider=default", so no recursion). TPM keys refuse to export
 * their private part, which makes OpenSSL route private-key operations on them to us whichever
 * provider it tried first.
 */
#ifndef DEVID_PROVIDER_H
#define DEVID_PROVIDER_H

#include "devid.h"

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/evp.h>
#include <openssl/macros.h>
#include <stdbool.h>

/* Where every software operation goes: never this provider. */
#define DP_SW_PROPQ "provider=default"
#define DP_PROPS "provider=devid"

/* The NID of a digest named by an OSSL_PARAM (any of its names), NID_undef if unknown. */
static inline int dp_md_nid(const char *name)
{
    EVP_MD *md = EVP_MD_fetch(NULL, name, "?" DP_SW_PROPQ);
    int nid = md ? EVP_MD_get_type(md) : NID_undef;
    EVP_MD_free(md);
    return nid;
}

typedef struct dp_ctx {
    const OSSL_CORE_HANDLE *handle;
    OSSL_LIB_CTX *libctx; /* the application's library context (for BIOs) */
    bool core_ok;         /* devid_core_init succeeded */
    char core_error[256]; /* why it did not */
    OSSL_FUNC_core_new_error_fn *new_error;
    OSSL_FUNC_core_set_error_debug_fn *set_error_debug;
    OSSL_FUNC_core_vset_error_fn *vset_error;
    OSSL_FUNC_BIO_read_ex_fn *bio_read_ex;
    OSSL_FUNC_BIO_write_ex_fn *bio_write_ex;
} dp_ctx;

/* ---- errors (error.c): one table from devid_rc to our reason codes ---- */
enum {
    DP_R_NO_TPM = 1,
    DP_R_TPM,
    DP_R_RETRY,
    DP_R_NOT_FOUND,
    DP_R_ARG,
    DP_R_CONFIG,
    DP_R_AUTH,
    DP_R_LOCKOUT,
    DP_R_UNSUPPORTED,
    DP_R_KEY_USAGE,
    DP_R_BUFFER,
    DP_R_MEMORY,
    DP_R_IO,
    DP_R_FORMAT,
    DP_R_PROHIBITED,
    DP_R_INTERNAL,
    DP_R_BAD_URI, /* provider-level reasons */
    DP_R_OPENSSL, /* a libcrypto call failed */
    DP_R_NOT_INITIALISED,
};
extern const OSSL_ITEM dp_reason_strings[];

/* Raises an OpenSSL error with our reason code and a printf-style detail, recording where it
 * was raised (as ERR_raise_data does), so the error queue names the devid source line. */
#define dp_raise(ctx, reason, ...)                                                                 \
    dp_raise_at((ctx), OPENSSL_FILE, OPENSSL_LINE, OPENSSL_FUNC, (reason), __VA_ARGS__)
/* Raises the error for a core failure: reason from the table, detail devid_last_error(). */
#define dp_raise_rc(ctx, rc, what)                                                                 \
    dp_raise_rc_at((ctx), OPENSSL_FILE, OPENSSL_LINE, OPENSSL_FUNC, (rc), (what))
void dp_raise_at(const dp_ctx *ctx, const char *file, int line, const char *func, int reason,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void dp_raise_rc_at(const dp_ctx *ctx, const char *file, int line, const char *func, devid_rc rc,
                    const char *what);
/* Fails with DP_R_NOT_INITIALISED when core could not start. */
bool dp_core_ready(const dp_ctx *ctx);

/* Whole-BIO helpers over the core's BIO upcalls (bio.c). */
/* Reads up to max bytes (more is an error: DP_R_FORMAT) into a malloc'd buffer. */
bool dp_bio_read_all(const dp_ctx *ctx, OSSL_CORE_BIO *in, size_t max, unsigned char **data,
                     size_t *len);
bool dp_bio_write_all(const dp_ctx *ctx, OSSL_CORE_BIO *out, const void *data, size_t len);

/* The default provider's parameter list `which` of operation op (OSSL_OP_*) for algorithm alg
 * (a string literal), fetched once and cached (sw_params.c); an empty list if unavailable. */
typedef enum dp_sw_list { DP_SW_GETTABLE, DP_SW_SETTABLE, DP_SW_GEN_SETTABLE } dp_sw_list;
const OSSL_PARAM *dp_sw_params(int op, const char *alg, dp_sw_list which);

/* ---- keys (keydata.c) ---- */
typedef struct dp_key {
    int refs;
    dp_ctx *ctx;
    devid_key_type type;
    devid_key *tpm;              /* TPM-resident key, or NULL for a soft key */
    EVP_PKEY *pub;               /* TPM key: devid_key_get_public (borrowed). Soft key: owned, may
                            hold a private part (see sel). NULL: empty keydata */
    int sel;                     /* OSSL_KEYMGMT_SELECT_* parts present */
    char uid[DEVID_UID_LEN + 1]; /* store object the TPM key came from ("" if none) */
} dp_key;

dp_key *dp_key_new(dp_ctx *ctx, devid_key_type type);
/* Wraps a TPM key (takes ownership of tpm). */
dp_key *dp_key_from_tpm(dp_ctx *ctx, devid_key *tpm);
/* Wraps a default-provider key (takes ownership of pkey). */
dp_key *dp_key_from_soft(dp_ctx *ctx, devid_key_type type, EVP_PKEY *pkey, int sel);
dp_key *dp_key_ref(dp_key *key);
void dp_key_free(dp_key *key);
const char *dp_key_type_name(devid_key_type type); /* "EC" / "RSA" */

/* Object references passed through OSSL_OBJECT_PARAM_REFERENCE: the bytes of a dp_key pointer
 * plus a tag, so a stray reference from another provider is not dereferenced. The reference
 * stays owned by its producer; keymgmt load takes a new reference. */
typedef struct dp_objref {
    unsigned magic;
    dp_key *key;
} dp_objref;
#define DP_KEY_REF_MAGIC 0x64657669u

/* ---- algorithm tables ---- */
extern const OSSL_DISPATCH dp_ec_keymgmt_functions[];
extern const OSSL_DISPATCH dp_rsa_keymgmt_functions[];
extern const OSSL_DISPATCH dp_ecdsa_signature_functions[];
extern const OSSL_DISPATCH dp_rsa_signature_functions[];
extern const OSSL_DISPATCH dp_store_functions[];
extern const OSSL_DISPATCH dp_spki_der_ec_encoder_functions[];
extern const OSSL_DISPATCH dp_spki_der_rsa_encoder_functions[];
extern const OSSL_DISPATCH dp_spki_pem_ec_encoder_functions[];
extern const OSSL_DISPATCH dp_spki_pem_rsa_encoder_functions[];
extern const OSSL_DISPATCH dp_text_ec_encoder_functions[];
extern const OSSL_DISPATCH dp_text_rsa_encoder_functions[];
extern const OSSL_DISPATCH dp_priv_pem_ec_encoder_functions[];
extern const OSSL_DISPATCH dp_priv_pem_rsa_encoder_functions[];
extern const OSSL_DISPATCH dp_priv_der_ec_encoder_functions[];
extern const OSSL_DISPATCH dp_priv_der_rsa_encoder_functions[];
extern const OSSL_DISPATCH dp_pem_ec_decoder_functions[];
extern const OSSL_DISPATCH dp_pem_rsa_decoder_functions[];
extern const OSSL_DISPATCH dp_der_ec_decoder_functions[];
extern const OSSL_DISPATCH dp_der_rsa_decoder_functions[];
extern const OSSL_DISPATCH dp_tss2_pem2der_decoder_functions[];
extern const OSSL_DISPATCH dp_ecdh_keyexch_functions[];
extern const OSSL_DISPATCH dp_rsa_asym_cipher_functions[];

/* Key manager names, identical to the default provider's (names are global per library
 * context: a different alias set would conflict), so a TPM key is an "EC" or "RSA" key to
 * every application. */
#define DP_NAMES_EC "EC:id-ecPublicKey:1.2.840.10045.2.1"
#define DP_NAMES_RSA "RSA:rsaEncryption:1.2.840.113549.1.1.1"
/* Operation names of our own. OpenSSL fetches a key's signature / key exchange / asymmetric
 * cipher by the name its key manager reports (query_operation_name), and falls back to the
 * key manager's own provider when the key cannot be exported to the fetched one. Under
 * names only devid implements, operations on devid keys always reach devid, whatever the
 * provider order, and operations on the default provider's keys (peer keys, certificates,
 * ephemeral keys) never pass through devid. */
#define DP_OP_ECDSA "DEVID-ECDSA"
#define DP_OP_ECDH "DEVID-ECDH"
#define DP_OP_RSA "DEVID-RSA"

/* ---- helpers shared by the store loader and the decoders ---- */
/* Opens the key, certificate and chain a URI designates (uri.c parses, store.c resolves). */
typedef struct dp_uri dp_uri;

/* Passes a key to an OSSL_CALLBACK as an object reference (store loader and decoders). */
int dp_key_object_cb(dp_key *key, OSSL_CALLBACK *cb, void *cbarg);

#endif
