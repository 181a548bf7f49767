/* The object store: owner-created keys and imported certificates (docs/design.md "The store").
 *
 * One directory ($DEVID_STORE, config `store`). Each object is a group of files named by a
 * stable random uid: <uid>.key (TSS2 PRIVATE KEY PEM, readable by tpm2-openssl and friends),
 * <uid>.crt (PEM certificate), <uid>.attr (label, CKA_ID, flags). Writes are atomic (temp,
 * fsync, rename, fsync dir) under an flock on the store, so concurrent processes see the old
 * object or the new one, never half of one.
 */
#ifndef DEVID_STORE_H
#define DEVID_STORE_H

#include "error.h"
#include "key.h"

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>

#define DEVID_UID_LEN 32      /* hex characters */
#define DEVID_LABEL_MAX 128
#define DEVID_ID_MAX 64

typedef struct devid_keygen {
    devid_key_type type;
    int bits;                 /* RSA: 2048, 3072, 4096 */
    int curve_nid;            /* EC: NID_X9_62_prime256v1, NID_secp384r1 */
    bool sign;
    bool decrypt;             /* RSA: raw/OAEP decrypt (needed for CKM_RSA_X_509); EC: ECDH */
    const void *auth;         /* auth value (a password the user chose), NULL/0 for none: then
                                 the token secret while PINs are set */
    size_t auth_len;
    bool auth_is_secret;      /* core: auth is the random token secret, not guessable */
    const unsigned char *hmac_value; /* HMAC: import this key value (sensitive data of the
                                        TPM object) instead of letting the TPM generate one */
    size_t hmac_value_len;
} devid_keygen;

typedef struct devid_store_attrs {
    char label[DEVID_LABEL_MAX + 1];
    unsigned char id[DEVID_ID_MAX];
    size_t id_len;
    bool public_hidden;       /* the PKCS#11 public-key object was destroyed, the key kept */
    bool token_bound;         /* the key's auth value is the token secret (token.h): log in
                                 with the user PIN to use it; set by core */
    bool secret;              /* the key is a secret (HMAC) key: no public part. Set by
                                 devid_store_generate from the key type. */
    size_t value_len;         /* secret keys: the key's length in bytes; 0 for a key the TPM
                                 generated (DEVID_HMAC_SIZE). Set by devid_store_import_hmac. */
} devid_store_attrs;

/* One object group as listed: what it has, its attributes. */
typedef struct devid_store_entry {
    char uid[DEVID_UID_LEN + 1];
    devid_store_attrs attrs;
    bool has_key;
    bool has_cert;
} devid_store_entry;

/* Lists the store (an absent store directory is an empty store). *entries is malloc'd. */
devid_rc devid_store_list(devid_store_entry **entries, size_t *count);

/* Creates a key in the TPM under the storage root key and writes it to the store (also an
 * HMAC key: params->type DEVID_KEY_HMAC; attrs->secret then says so in the listing). */
devid_rc devid_store_generate(const devid_keygen *params, const devid_store_attrs *attrs,
                              char uid[DEVID_UID_LEN + 1]);
/* Imports an HMAC-SHA256 key value (1 to DEVID_HMAC_IMPORT_MAX bytes) into the TPM: a
 * keyed-hash object created under the SRK with the value as its sensitive data (sent in a
 * salted, parameter-encrypted session; every copy devid makes is cleansed), written to the
 * store like a generated HMAC key. The object is not sensitiveDataOrigin (CKA_LOCAL false).
 * The TPM takes at most one hash block (64 bytes) of key: a longer value is imported as its
 * SHA-256, which HMAC (RFC 2104) does with such keys anyway, so the MACs are the same. */
#define DEVID_HMAC_IMPORT_MAX 4096
#define DEVID_HMAC_BLOCK_SIZE 64
devid_rc devid_store_import_hmac(const unsigned char *value, size_t len,
                                 const devid_store_attrs *attrs, char uid[DEVID_UID_LEN + 1]);
/* Adds a certificate: to the group `uid` if given (must exist), else as a new group. */
devid_rc devid_store_put_cert(const char *uid_or_null, X509 *cert, const devid_store_attrs *attrs,
                              char uid_out[DEVID_UID_LEN + 1]);

/* Loads the key / certificate of a group. */
devid_rc devid_store_open_key(const char *uid, devid_key **key);
devid_rc devid_store_read_cert(const char *uid, X509 **cert);

devid_rc devid_store_set_attrs(const char *uid, const devid_store_attrs *attrs);
devid_rc devid_store_get_attrs(const char *uid, devid_store_attrs *attrs);

/* Removes parts of a group; the group disappears with its last part. */
enum { DEVID_STORE_KEY = 1, DEVID_STORE_CERT = 2 };
devid_rc devid_store_delete(const char *uid, unsigned parts);

/* Removes every object in the store (token re-initialisation). Factory objects are not in the
 * store and are never touched. */
devid_rc devid_store_clear(void);

/* Parses the text of an attribute file (exposed for fuzzing). */
devid_rc devid_store_parse_attrs(const char *text, size_t len, devid_store_attrs *attrs);

/* Path of a group's key file (for tools that take a file: TSS2 PRIVATE KEY PEM). */
devid_rc devid_store_key_path(const char *uid, char *path, size_t len);

#endif
