/* SPDX-License-Identifier: Apache-2.0 */
/* devid-pkcs11: internal interfaces of the PKCS#11 front-end.
 *
 * The module translates PKCS#11 calls into libdevid-core calls; core decides everything about
 * keys and the TPM. Every entry point runs under one module lock (p11_enter, p11_leave); core
 * has its own TPM lock underneath.
 *
 * The token's objects are views of "items": an item is one DevID map identity (probed with
 * devid_identity_probe; its key opened and certificates read on first use, so that a cold
 * start costs a few TPM commands) or one store group (from devid_store_list). An item yields
 * up to a private key, a public key, a certificate and (map identities) CA certificates; each
 * of those gets a handle that stays the same while the item exists.
 */
#ifndef DEVID_P11_H
#define DEVID_P11_H

#include "devid.h"

#include <openssl/evp.h>
#include <p11-kit/pkcs11.h>
#include <stdbool.h>
#include <stddef.h>

#define P11_SLOT_ID 0
#define P11_MAX_PIN_LEN 64       /* a TPM auth value is at most a digest long */
#define P11_MAX_DATA (64 * 1024) /* largest input buffered for a single-part mechanism */

/* ---- module lock and entry checks (module.c) --------------------------------------------- */

/* Takes the module lock; CKR_CRYPTOKI_NOT_INITIALIZED (lock not held) if the module is not
 * initialised in this process (also in the child of a fork). */
CK_RV p11_enter(void);
/* p11_enter for the slot-level entry points, checking in this order: the caller's pointer
 * arguments (arg_ok false: CKR_ARGUMENTS_BAD), the slot id, and with need_token a present
 * token. On error the lock is released. */
CK_RV p11_enter_slot(CK_SLOT_ID slot, bool arg_ok, bool need_token);
/* Releases the module lock and returns rv (so entry points end `return p11_leave(rv);`). */
CK_RV p11_leave(CK_RV rv);

/* ---- devid_rc → CK_RV (rv.c) ---------------------------------------------------------------- */

/* Maps a core error onto its CK_RV (one table) and logs `what` with core's detail. */
CK_RV p11_rv(devid_rc rc, const char *what);
/* p11_rv for a key pair generation: PINs set and nobody logged in is CKR_USER_NOT_LOGGED_IN;
 * a template the TPM refuses (a size or curve it lacks) CKR_CURVE_NOT_SUPPORTED for EC,
 * CKR_KEY_SIZE_RANGE for RSA. */
CK_RV p11_keygen_rv(devid_rc rc, devid_key_type type, const char *what);

/* ---- items and objects (token.c) ------------------------------------------------------------- */

typedef enum p11_item_src {
    P11_ITEM_MAP,
    P11_ITEM_STORE,
    P11_ITEM_SESSION, /* a session object: a public key or a certificate the
                                   application created, never persisted (session_obj.c) */
} p11_item_src;

typedef struct p11_item {
    p11_item_src src;
    unsigned refs; /* the token's list holds one; each operation holds one */
    bool listed;   /* still part of the token */
    bool factory;  /* read-only through PKCS#11 */
    char label[DEVID_LABEL_MAX + 1];
    unsigned char id[DEVID_ID_MAX];
    size_t id_len;
    /* P11_ITEM_MAP */
    devid_identity *ident; /* probed; key and certificate loaded on first use */
    /* P11_ITEM_STORE */
    char uid[DEVID_UID_LEN + 1];
    devid_store_attrs attrs;
    bool has_key, has_cert;
    devid_key *key; /* opened on first use */
    X509 *cert;     /* read on first use; a session certificate's own */
    /* P11_ITEM_SESSION; the data fields below also for a store data object */
    CK_SESSION_HANDLE session; /* the session that created it: it goes with that session */
    EVP_PKEY *pub_only;        /* a session public key (software: verify, encrypt) */
    bool can_verify, can_encrypt;
    bool is_data;        /* a CKO_DATA object: */
    bool data_private;   /* CKA_PRIVATE */
    unsigned char *data; /* CKA_VALUE */
    size_t data_len;
    char *application;        /* CKA_APPLICATION */
    unsigned char *object_id; /* CKA_OBJECT_ID (DER) */
    size_t object_id_len;
} p11_item;

/* A session object: a secret derived in a session (ECDH), gone with that session. */
typedef struct p11_secret {
    CK_SESSION_HANDLE session;
    unsigned char *value;
    size_t len;
    char label[DEVID_LABEL_MAX + 1];
    unsigned char id[DEVID_ID_MAX];
    size_t id_len;
    bool sensitive, extractable;
} p11_secret;

typedef struct p11_object {
    CK_OBJECT_HANDLE handle;
    CK_OBJECT_CLASS cls; /* CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_CERTIFICATE,
                                   CKO_SECRET_KEY (session secrets, store HMAC keys) */
    p11_item *item;      /* NULL for a session secret */
    int chain;           /* -1: the item's own; n >= 0: the item's n-th CA certificate */
    p11_secret *secret;  /* a session secret */
} p11_object;

/* Brings the token up to date: probes the DevID identities once (the first TPM access: which
 * keys exist; keys are opened and certificates read on first use) and
 * re-lists the store when `relist_store`. CKR_TOKEN_NOT_PRESENT when no TPM is reachable. */
CK_RV p11_token_sync(bool relist_store);
/* Whether a TPM answered (identities loaded); tries to reach it if not yet. */
bool p11_token_present(void);
void p11_token_free(void);
const char *p11_token_serial(void);

/* Finds a visible object by handle (NULL if none). */
p11_object *p11_object_get(CK_OBJECT_HANDLE h);
/* All objects, for find. */
size_t p11_object_count(void);
p11_object *p11_object_at(size_t i);
/* Whether the current login state lets callers see obj. */
bool p11_object_visible(const p11_object *obj);

/* The item's key (opened from the store on first use), its certificate (read on first use),
 * and its public key (from the key, else from the certificate). */
CK_RV p11_item_key(p11_item *item, devid_key **key);
CK_RV p11_item_cert(p11_item *item, X509 **cert);
CK_RV p11_item_pub(p11_item *item, EVP_PKEY **pub);
X509 *p11_item_chain_cert(p11_item *item, int n);
/* Whether the item has its own certificate (a factory one is read now if not yet). */
bool p11_item_has_cert(p11_item *item);
/* The item's CKA_ID (a factory item's is computed from its public key on first use). */
CK_RV p11_item_id(p11_item *item, const unsigned char **id, size_t *len);
/* Reads the factory certificates (once; the first search that may match a certificate) and
 * adds their objects. CKR_TOKEN_NOT_PRESENT when the TPM is gone. */
CK_RV p11_token_load_certs(void);
void p11_item_ref(p11_item *item);
void p11_item_unref(p11_item *item);

/* Removes an item from the token; its objects go at the next p11_token_rebuild(). */
void p11_token_remove_item(p11_item *item);
/* Recomputes the object table from the items (keeping the handles of objects that remain). */
void p11_token_rebuild(void);
/* The handle of an item's own object of class cls (CK_INVALID_HANDLE if none). */
CK_OBJECT_HANDLE p11_object_handle(const p11_item *item, CK_OBJECT_CLASS cls);

/* Session secrets (token.c): added with a new handle (taking ownership), destroyed one by
 * one or with their session. */
CK_RV p11_token_add_secret(p11_secret *sec, CK_OBJECT_HANDLE *h);
void p11_token_remove_secret(CK_OBJECT_HANDLE h);
void p11_token_drop_secrets(CK_SESSION_HANDLE session);

/* Session objects (session_obj.c): C_CreateObject of a public key or certificate whose
 * CKA_TOKEN is false or absent. Visible to every session of the application, never written
 * anywhere, gone with the session that created it (and at C_CloseAllSessions, C_Finalize, in
 * a forked child). */
CK_RV p11_session_object_create(CK_SESSION_HANDLE session, CK_OBJECT_CLASS cls,
                                const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out);
void p11_session_objects_drop(CK_SESSION_HANDLE session);
/* Reads a CKO_DATA template (CKA_LABEL, CKA_APPLICATION, CKA_OBJECT_ID, CKA_VALUE, CKA_PRIVATE,
 * storage flags) into the data fields of it. */
CK_RV p11_data_template(p11_item *it, const CK_ATTRIBUTE *tmpl, CK_ULONG n);
/* A session HMAC-SHA256 key in the TPM: generated (value NULL) or imported, loaded, never
 * persisted. */
CK_RV p11_session_secret(CK_SESSION_HANDLE session, const devid_store_attrs *attrs,
                         const void *value, size_t len, CK_OBJECT_HANDLE *out);
/* A session key pair: a TPM key generated like a store key, loaded, never persisted. */
CK_RV p11_session_generate(CK_SESSION_HANDLE session, const devid_keygen *gen,
                           const devid_store_attrs *attrs, CK_OBJECT_HANDLE *pub,
                           CK_OBJECT_HANDLE *priv);
/* Changes of a session object: destroy, set CKA_LABEL / CKA_ID (in memory). */
CK_RV p11_session_object_destroy(p11_object *obj);
CK_RV p11_session_object_set(p11_object *obj, const CK_ATTRIBUTE *tmpl, CK_ULONG n);
/* Whether a template asks for a token object (CKA_TOKEN true; absent means false). */
CK_RV p11_tmpl_token(const CK_ATTRIBUTE *tmpl, CK_ULONG n, bool *token);

/* The store (store.c): re-listing, and reading a group's key / certificate on first use. */
CK_RV p11_store_sync(void);
CK_RV p11_store_open_key(p11_item *item);
CK_RV p11_store_read_cert(p11_item *item);
/* Changes (persisted at once): destroy an object, set CKA_LABEL / CKA_ID, import a
 * certificate, generate a key pair. */
CK_RV p11_store_destroy(p11_object *obj);
CK_RV p11_store_set_attrs(p11_object *obj, const CK_ATTRIBUTE *tmpl, CK_ULONG n);
CK_RV p11_store_create_cert(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out);
/* Stores a CKO_DATA token object (R/W session checked by the caller). */
CK_RV p11_store_create_data(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out);
CK_RV p11_store_generate(const devid_keygen *gen, const devid_store_attrs *attrs,
                         CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv);
/* Generates an HMAC-SHA256 key in the TPM, stored: one CKO_SECRET_KEY object. */
CK_RV p11_store_generate_secret(const devid_store_attrs *attrs, CK_OBJECT_HANDLE *key);
/* Imports an HMAC key value into the TPM (core), stored like a generated one. */
CK_RV p11_store_import_secret(const void *value, size_t len, const devid_store_attrs *attrs,
                              CK_OBJECT_HANDLE *key);
/* C_CreateObject of a CKO_SECRET_KEY (keygen.c): checks the template, imports the value
 * (a store object only with CKA_TOKEN true, which needs a R/W session: rw). */
CK_RV p11_create_secret(CK_SESSION_HANDLE session, bool rw, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                        CK_OBJECT_HANDLE *key);
/* The token's items, for the store to update. */
size_t p11_item_count(void);
p11_item *p11_item_at(size_t i);
CK_RV p11_token_add_item(p11_item *item);
p11_item *p11_item_new(p11_item_src src);

/* A key's PKCS#11 type: CKK_EC, CKK_RSA, or CKK_GENERIC_SECRET (an HMAC key in the TPM). */
CK_KEY_TYPE p11_key_type(devid_key *key);
/* Whether a key item may sign / decrypt / derive (from core's key flags). */
bool p11_key_can_sign(devid_key *key);
bool p11_key_can_decrypt(devid_key *key);
bool p11_key_can_derive(devid_key *key);

/* ---- attributes (attr.c; per class attr_key.c, attr_cert.c, attr_secret.c) --------------- */

typedef struct p11_val {
    const void *ptr;
    size_t len;
    unsigned char inl[sizeof(CK_ULONG)];
    unsigned char *heap; /* owned copy, freed by p11_val_free */
} p11_val;

/* The value of attribute `type` of obj: CKR_OK, CKR_ATTRIBUTE_TYPE_INVALID,
 * CKR_ATTRIBUTE_SENSITIVE, or a device error. */
CK_RV p11_attr_get(p11_object *obj, CK_ATTRIBUTE_TYPE type, p11_val *v);
void p11_val_free(p11_val *v);
/* Whether obj has every attribute of the template with exactly that value. */
bool p11_attr_match(p11_object *obj, const CK_ATTRIBUTE *tmpl, CK_ULONG n);
/* The CK_BBOOL attributes a store secret key (HMAC-SHA256 in the TPM) never has: they read
 * false (attr_secret.c), and a template that sets one true is refused (keygen.c). */
bool p11_store_secret_never(CK_ATTRIBUTE_TYPE type);

/* ---- templates callers pass (template.c) ------------------------------------------------- */

/* The first attribute of the template of that type, or NULL. */
const CK_ATTRIBUTE *p11_tmpl_find(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type);
/* A CK_BBOOL / CK_ULONG attribute's value (CKR_ATTRIBUTE_VALUE_INVALID if not one). */
CK_RV p11_tmpl_bool(const CK_ATTRIBUTE *a, CK_BBOOL *out);
CK_RV p11_tmpl_ulong(const CK_ATTRIBUTE *a, CK_ULONG *out);
/* A name a store object keeps (CKR_ATTRIBUTE_VALUE_INVALID if it cannot be one): a CKA_LABEL of
 * at most DEVID_LABEL_MAX bytes without a NUL, NUL-terminated into label; a CKA_ID of at most
 * DEVID_ID_MAX bytes, *len its length. */
CK_RV p11_tmpl_label(const CK_ATTRIBUTE *a, char label[DEVID_LABEL_MAX + 1]);
CK_RV p11_tmpl_id(const CK_ATTRIBUTE *a, unsigned char id[DEVID_ID_MAX], size_t *len);
/* Checks a template's pointers: CKR_ARGUMENTS_BAD / CKR_ATTRIBUTE_VALUE_INVALID. */
CK_RV p11_tmpl_check(const CK_ATTRIBUTE *tmpl, CK_ULONG n);

/* ---- login state (login.c) --------------------------------------------------------------- */

/* CKU_USER, CKU_SO, or CK_UNAVAILABLE_INFORMATION when nobody is logged in. */
CK_USER_TYPE p11_login_user(void);
void p11_login_reset(void);
/* Whether a user PIN protects the token. */
bool p11_pin_set(void);
/* Gives a store key bound to the login its auth value (CKR_USER_NOT_LOGGED_IN without one). */
CK_RV p11_key_auth(devid_key *key);

/* ---- sessions (session.c) ---------------------------------------------------------------- */

typedef struct p11_op p11_op;
typedef struct p11_find p11_find;

typedef struct p11_session {
    CK_SESSION_HANDLE handle;
    CK_FLAGS flags;
    p11_find *find;
    p11_op *sign, *verify, *decrypt, *encrypt, *digest;
} p11_session;

/* p11_enter + session lookup (CKR_SESSION_HANDLE_INVALID). On error the lock is released. */
CK_RV p11_enter_session(CK_SESSION_HANDLE h, p11_session **s);
/* The session's slot for the operation of `purpose` (CKF_SIGN, CKF_VERIFY, CKF_DIGEST,
 * CKF_ENCRYPT, CKF_DECRYPT), NULL for any other. */
p11_op **p11_session_op(p11_session *s, CK_FLAGS purpose);
/* The whole of an entry point with nothing behind it (unsupported.c): the session is checked,
 * then CKR_FUNCTION_NOT_SUPPORTED. */
CK_RV p11_unsupported(CK_SESSION_HANDLE h);
size_t p11_session_count(bool rw_only);
bool p11_session_ro_exists(void);
void p11_sessions_free(void);
CK_STATE p11_session_state(const p11_session *s);

/* ---- find (find.c) ---------------------------------------------------------------------- */

void p11_find_free(p11_find *f);

/* ---- mechanisms (mech.c, mech_*.c) ------------------------------------------------------ */

enum { P11_KEY_NONE = -1 };

typedef struct p11_mech p11_mech;

/* One cryptographic operation in progress on a session. */
struct p11_op {
    const p11_mech *mech;
    CK_FLAGS purpose;   /* CKF_SIGN, CKF_VERIFY, CKF_DECRYPT, CKF_ENCRYPT, CKF_DIGEST */
    p11_item *item;     /* the key's item (a reference is held) */
    devid_key *key;     /* private-key and secret-key operations */
    EVP_PKEY *pub;      /* borrowed from the key: public-key operations; private-key
                                   ones fetch it when needed (p11_op_pub) */
    EVP_MD_CTX *md;     /* mechanisms that hash in software */
    unsigned char *buf; /* input collected for single-shot mechanisms */
    size_t len, cap;
    bool updated; /* a multi-part call was made */
    bool single;  /* a single-part call left it active (a length query or a
                                   buffer too small): only that call may follow */
    /* mechanism parameters */
    int md_nid; /* digest the key operation signs / OAEP/PSS hash */
    int mgf_nid;
    size_t salt_len;
    unsigned char *label; /* OAEP label */
    size_t label_len;
    unsigned char *peer; /* ECDH: the other party's uncompressed point */
    size_t peer_len;
    unsigned char *result; /* decryption result kept for a repeated call */
    size_t result_len;
};

typedef CK_RV (*p11_param_fn)(p11_op *op, const CK_MECHANISM *m);
typedef CK_RV (*p11_sign_fn)(p11_op *op, const unsigned char *in, size_t inlen, unsigned char *sig,
                             size_t *siglen);
typedef CK_RV (*p11_verify_fn)(p11_op *op, const unsigned char *in, size_t inlen,
                               const unsigned char *sig, size_t siglen);
typedef CK_RV (*p11_crypt_fn)(p11_op *op, const unsigned char *in, size_t inlen, unsigned char *out,
                              size_t *outlen);

struct p11_mech {
    CK_MECHANISM_TYPE type;
    const char *name;
    CK_KEY_TYPE key_type; /* CKK_EC, CKK_RSA; P11_KEY_NONE for digests */
    CK_ULONG min_bits, max_bits;
    CK_FLAGS flags;     /* CKF_SIGN, CKF_VERIFY, CKF_DECRYPT, ... as reported */
    int hash_nid;       /* hashed in software before the key operation (0: none) */
    bool needs_raw;     /* needs a key allowing the raw RSA private operation */
    p11_param_fn param; /* NULL: the mechanism takes no parameter */
    p11_sign_fn sign;
    p11_verify_fn verify;
    p11_crypt_fn decrypt;
    p11_crypt_fn encrypt;
};

extern const p11_mech p11_mech_ecdsa[];
extern const size_t p11_mech_ecdsa_count;
extern const p11_mech p11_mech_rsa[];
extern const size_t p11_mech_rsa_count;
extern const p11_mech p11_mech_digest[];
extern const size_t p11_mech_digest_count;
extern const p11_mech p11_mech_keygen[];
extern const size_t p11_mech_keygen_count;
extern const p11_mech p11_mech_hmac[];
extern const size_t p11_mech_hmac_count;
extern const p11_mech p11_mech_derive[];
extern const size_t p11_mech_derive_count;

/* The mechanism `type` supporting operation `flag` (CKF_SIGN, ...), or NULL. */
const p11_mech *p11_mech_find(CK_MECHANISM_TYPE type, CK_FLAGS flag);
/* Whether key may be used with m (its CKA_ALLOWED_MECHANISMS), and that list. */
bool p11_mech_allowed(const p11_mech *m, devid_key *key);
size_t p11_mech_allowed_list(devid_key *key, CK_MECHANISM_TYPE *out, size_t max);
/* Mechanism parameter present and of the given size (CKR_MECHANISM_PARAM_INVALID). */
CK_RV p11_mech_param(const CK_MECHANISM *m, size_t size);

/* Operations: allocation, key binding, release. */
CK_RV p11_op_new(const p11_mech *mech, const CK_MECHANISM *m, CK_FLAGS purpose, p11_op **out);
void p11_op_free(p11_op *op);
/* Collects input for a single-shot mechanism. */
CK_RV p11_op_append(p11_op *op, const unsigned char *in, size_t len);

/* Resolves a key handle for an operation: the object must be a key of the mechanism's type
 * whose attribute `usage` (CKA_SIGN, ...) is true. Sets op->item (+ref) and op->key/op->pub. */
CK_RV p11_op_bind_key(p11_op *op, CK_OBJECT_HANDLE h, CK_OBJECT_CLASS cls, CK_ATTRIBUTE_TYPE usage);
/* The operation's public key in OpenSSL's form; for a private-key operation converted on first
 * use (a plain signature never needs it). */
EVP_PKEY *p11_op_pub(const p11_op *op);

/* Starts a key operation in a session slot: mechanism (supporting `flag`), parameters, key of
 * class `cls` with attribute `usage` true. CKR_OPERATION_ACTIVE if the slot is busy. */
CK_RV p11_op_init(p11_op **slot, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key, CK_FLAGS flag,
                  CK_OBJECT_CLASS cls, CK_ATTRIBUTE_TYPE usage);

/* Single- and multi-part operations (multipart.c), shared by C_Sign*, C_Verify*, C_Digest*,
 * C_Encrypt*, C_Decrypt*: PKCS#11 2.40 section 5 says any return but CKR_OK and
 * CKR_BUFFER_TOO_SMALL ends the operation, as does a call that delivers the result; a length
 * query leaves it active. */
typedef enum p11_part_call {
    P11_PART_SINGLE, /* C_Sign, C_Verify, C_Digest, ...: not after an update */
    P11_PART_UPDATE, /* ... Update, C_DigestKey: not after a single-part call */
    P11_PART_FINAL,  /* ... Final: not after a single-part call */
} p11_part_call;
/* A whole C_SignInit / C_VerifyInit / C_EncryptInit / C_DecryptInit: p11_op_init on the
 * session's operation of `purpose`, under the module lock. */
CK_RV p11_part_init(CK_SESSION_HANDLE h, CK_FLAGS purpose, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key,
                    CK_OBJECT_CLASS cls, CK_ATTRIBUTE_TYPE usage);
/* The start of each such call: enters the session (module lock), finds the operation of
 * `purpose` (CKF_SIGN, CKF_VERIFY, CKF_DIGEST, CKF_ENCRYPT, CKF_DECRYPT) in progress or
 * answers CKR_OPERATION_NOT_INITIALIZED; args_ok false ends it with CKR_ARGUMENTS_BAD; a
 * single-part call after an update, or an update/final call after a single-part call that
 * left the operation active, ends it with CKR_OPERATION_ACTIVE. On CKR_OK the lock is held and
 * *slot is the session's operation; otherwise the lock is released. */
CK_RV p11_part_begin(CK_SESSION_HANDLE h, CK_FLAGS purpose, p11_part_call call, bool args_ok,
                     p11_op ***slot);
/* The end of each such call (lock held): an operation still active after a result other than
 * CKR_OK / CKR_BUFFER_TOO_SMALL is ended; one a single-part call leaves active is marked so.
 * Releases the lock and returns rv. */
CK_RV p11_part_leave(p11_op **slot, p11_part_call call, CK_RV rv);
/* A whole C_SignUpdate / C_VerifyUpdate / C_DigestUpdate: adds a part (hashed, or collected
 * for single-shot mechanisms); an error ends the operation. */
CK_RV p11_part_update(CK_SESSION_HANDLE h, CK_FLAGS purpose, const unsigned char *part,
                      CK_ULONG len);
/* The bytes the operation ends on: the digest of everything so far plus `more` for hashing
 * mechanisms (on a copy of the state), else the collected input plus `more`. */
CK_RV p11_part_input(p11_op *op, const unsigned char *more, size_t more_len,
                     unsigned char dig[EVP_MAX_MD_SIZE], const unsigned char **in, size_t *inlen);
/* Ends the operation (frees it, empties the slot). */
void p11_part_end(p11_op **slot);

/* Digest helpers (mech_digest.c). Software hashing always uses OpenSSL's default provider,
 * never a provider that might route back into the TPM. */
#define P11_SW_PROPQ "?provider=default"
const EVP_MD *p11_md_get(int nid); /* fetched once, kept until finalize */
void p11_md_cache_free(void);
size_t p11_md_size(int nid);
int p11_md_nid(CK_MECHANISM_TYPE hash_mech); /* CKM_SHA256 → NID_sha256, 0 if unknown */
int p11_mgf_nid(CK_RSA_PKCS_MGF_TYPE mgf);   /* CKG_MGF1_SHA256 → NID_sha256 */

/* Two-call output convention: if out is NULL set *outlen = need and return CKR_OK with
 * *done false; if too small CKR_BUFFER_TOO_SMALL; else *done true. */
CK_RV p11_out_check(const void *out, CK_ULONG_PTR outlen, size_t need, bool *done);

/* Fixed-size blank-padded PKCS#11 string fields (module.c). */
void p11_pad(CK_UTF8CHAR *dst, size_t size, const char *s);

#endif
