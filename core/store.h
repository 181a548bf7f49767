/* SPDX-License-Identifier: Apache-2.0 */
/* The object store: owner-created keys and imported certificates (docs/design.md "The store").
 *
 * One directory ($DEVID_STORE, config `store`). Each object is a group of files named by a
 * stable random uid: <uid>.key (TSS2 PRIVATE KEY PEM, readable by tpm2-openssl and friends),
 * <uid>.crt (PEM certificate), <uid>.dat (a data object's value), <uid>.attr (label, CKA_ID,
 * flags). Writes are atomic (temp,
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
#include <sys/types.h>

#define DEVID_UID_LEN 32 /* hex characters */
#define DEVID_LABEL_MAX 128
#define DEVID_ID_MAX 64
#define DEVID_APP_MAX 256          /* a data object's CKA_APPLICATION, bytes */
#define DEVID_OID_MAX 128          /* a data object's CKA_OBJECT_ID, DER bytes */
#define DEVID_DATA_MAX (64 * 1024) /* a data object's value */

typedef struct devid_keygen {
    devid_key_type type;
    int bits;      /* RSA: 2048, 3072, 4096 */
    int curve_nid; /* EC: NID_X9_62_prime256v1, NID_secp384r1 */
    bool sign;
    bool decrypt;     /* RSA: raw/OAEP decrypt (needed for CKM_RSA_X_509); EC: ECDH */
    const void *auth; /* auth value (a password the user chose), NULL/0 for none: then
                                 the token secret while PINs are set */
    size_t auth_len;
    bool auth_is_secret;             /* core: auth is the random token secret, not guessable */
    const unsigned char *hmac_value; /* HMAC: import this key value (sensitive data of the
                                        TPM object) instead of letting the TPM generate one */
    size_t hmac_value_len;
    bool map_key;     /* the key is to become a DevID map key at a persistent handle
                                 (devid_provision_persist_store_key): those are opened with an
                                 empty auth value, so it never gets the token secret; auth
                                 must be empty */
    bool id_from_key; /* devid_store_generate: CKA_ID = the public key's id
                                 (devid_pubkey_id), written with the other attributes */
} devid_keygen;

/* The label and CKA_ID of one object of a group whose name is its own (see below). */
typedef struct devid_store_name {
    bool own; /* false: the object shows the group's label and id */
    char label[DEVID_LABEL_MAX + 1];
    unsigned char id[DEVID_ID_MAX];
    size_t id_len;
} devid_store_name;

/* Label and id are attributes of one object each: the group's `label`/`id` are its key's
 * (private or secret key; a group without key: its certificate's), and the public key and
 * certificate show them too unless they have a name of their own (`pub`, `cert`), which a
 * rename of one object gives them. Files of groups whose objects share one name are written
 * as before this existed. */
typedef struct devid_store_attrs {
    char label[DEVID_LABEL_MAX + 1];
    unsigned char id[DEVID_ID_MAX];
    size_t id_len;
    devid_store_name pub;  /* the public-key object's own name, if any */
    devid_store_name cert; /* the certificate's own name, if any */
    bool public_hidden;    /* the PKCS#11 public-key object was destroyed, the key kept */
    bool token_bound;      /* the key's auth value is the token secret (token.h): log in
                                 with the user PIN to use it; set by core */
    bool secret;           /* the key is a secret (HMAC) key: no public part. Set by
                                 devid_store_generate from the key type. */
    size_t value_len;      /* secret keys: the key's length in bytes; 0 for a key the TPM
                                 generated (DEVID_HMAC_SIZE). Set by devid_store_import_hmac. */
    /* data objects (a group with a <uid>.dat value file, no key, no certificate) */
    bool data_private;                      /* CKA_PRIVATE: seen (and read) only after login */
    char application[DEVID_APP_MAX + 1];    /* CKA_APPLICATION */
    unsigned char object_id[DEVID_OID_MAX]; /* CKA_OBJECT_ID (DER), object_id_len bytes */
    size_t object_id_len;
} devid_store_attrs;

/* One object group as listed: what it has, its attributes. */
typedef struct devid_store_entry {
    char uid[DEVID_UID_LEN + 1];
    devid_store_attrs attrs;
    bool has_key;
    bool has_cert;
    bool has_data; /* a data object: its value is in <uid>.dat */
} devid_store_entry;

/* Lists the store's key and certificate groups (an absent store directory is an empty store).
 * *entries is malloc'd. Data objects are left out: their labels are no identities' names. */
devid_rc devid_store_list(devid_store_entry **entries, size_t *count);
/* devid_store_list with the data objects (has_data), for PKCS#11. */
devid_rc devid_store_list_objects(devid_store_entry **entries, size_t *count);

/* Creates a key in the TPM under the storage root key and writes it to the store (also an
 * HMAC key: params->type DEVID_KEY_HMAC; attrs->secret then says so in the listing). */
devid_rc devid_store_generate(const devid_keygen *params, const devid_store_attrs *attrs,
                              char uid[DEVID_UID_LEN + 1]);
/* Creates a key like devid_store_generate (under the SRK, bound to the token secret while PINs
 * are set) but writes nothing: the key is loaded and lives as long as *key (PKCS#11 session
 * key pairs). */
devid_rc devid_store_generate_unstored(const devid_keygen *params, devid_key **key);
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
/* Imports an HMAC key value like devid_store_import_hmac, writing nothing: the key lives as
 * long as *key (PKCS#11 session secret keys). */
devid_rc devid_hmac_import_unstored(const unsigned char *value, size_t len, devid_key **key);
/* Adds a certificate: to the group `uid` if given (must exist), else as a new group. */
devid_rc devid_store_put_cert(const char *uid_or_null, X509 *cert, const devid_store_attrs *attrs,
                              char uid_out[DEVID_UID_LEN + 1]);

/* Stores a data object as a new group: its value (at most DEVID_DATA_MAX bytes) in <uid>.dat,
 * written with the key files' mode when attrs->data_private, else the certificates'; then its
 * attributes (label, application, object id, private). */
devid_rc devid_store_put_data(const unsigned char *value, size_t len,
                              const devid_store_attrs *attrs, char uid_out[DEVID_UID_LEN + 1]);
/* Reads a data object's value (*value malloc'd; cleanse and free it). */
devid_rc devid_store_read_data(const char *uid, unsigned char **value, size_t *len);

/* The group whose key file holds the same TPM key as data (TSS2 PRIVATE KEY, PEM or DER): a
 * key file copied out of the store (openssl genpkey's output) is that store key, bound to the
 * token like it. DEVID_ERR_NOT_FOUND if no group holds it. */
devid_rc devid_store_find_key(const unsigned char *data, size_t len, char uid[DEVID_UID_LEN + 1]);

/* Loads the key / certificate of a group. */
devid_rc devid_store_open_key(const char *uid, devid_key **key);
devid_rc devid_store_read_cert(const char *uid, X509 **cert);

devid_rc devid_store_set_attrs(const char *uid, const devid_store_attrs *attrs);
devid_rc devid_store_get_attrs(const char *uid, devid_store_attrs *attrs);

/* The objects of a group, by the name each shows. */
typedef enum devid_store_object {
    DEVID_STORE_OBJ_KEY,    /* the private or secret key */
    DEVID_STORE_OBJ_PUBLIC, /* the public-key object of a key pair */
    DEVID_STORE_OBJ_CERT,   /* the certificate */
} devid_store_object;

/* The label and id object `which` of a group shows. */
static inline const char *devid_store_label_of(const devid_store_attrs *a, devid_store_object which)
{
    const devid_store_name *n = which == DEVID_STORE_OBJ_PUBLIC ? &a->pub
                                : which == DEVID_STORE_OBJ_CERT ? &a->cert
                                                                : NULL;
    return n && n->own ? n->label : a->label;
}
static inline const unsigned char *devid_store_id_of(const devid_store_attrs *a,
                                                     devid_store_object which, size_t *len)
{
    const devid_store_name *n = which == DEVID_STORE_OBJ_PUBLIC ? &a->pub
                                : which == DEVID_STORE_OBJ_CERT ? &a->cert
                                                                : NULL;
    *len = n && n->own ? n->id_len : a->id_len;
    return n && n->own ? n->id : a->id;
}

/* Renames one object of a group: its label (label not NULL) and/or its id (id not NULL),
 * leaving the other objects' names as they are. Read, changed and written under the store
 * lock in one atomic write, so concurrent renames of a group's objects are all kept and a
 * crash leaves every object with its old or its new name. The group's attributes after the
 * change are returned in *out (may be NULL). */
devid_rc devid_store_rename(const char *uid, devid_store_object which, const char *label,
                            const unsigned char *id, size_t id_len, devid_store_attrs *out);
/* Marks the group's public-key object destroyed (public_hidden), under the store lock. */
devid_rc devid_store_hide_public(const char *uid, devid_store_attrs *out);

/* Removes parts of a group; the group disappears with its last part. */
enum { DEVID_STORE_KEY = 1, DEVID_STORE_CERT = 2, DEVID_STORE_DATA = 4 };
devid_rc devid_store_delete(const char *uid, unsigned parts);

/* Removes every object group in the store (token re-initialisation), each whole in one step:
 * key, certificate, attributes and the CA chain file <store>/<label>-chain.pem devid-enroll
 * keeps for a service identity (never a DevID map entry's certificate file). Factory objects
 * are not in the store and are never touched. */
devid_rc devid_store_clear(void);

/* Parses the text of an attribute file (core-internal, for fuzzing and tests). */
devid_rc devid_store_parse_attrs(const char *text, size_t len, devid_store_attrs *attrs);

/* Creates the store directory, with the configured store_dir_mode, if it does not exist. */
devid_rc devid_store_ensure_dir(void);
/* The configured mode of store files: store_key_mode for secrets (keys, PIN seals), else
 * store_cert_mode. */
mode_t devid_store_file_mode(bool secret);

/* Path of a group's key file (for tools that take a file: TSS2 PRIVATE KEY PEM). */
devid_rc devid_store_key_path(const char *uid, char *path, size_t len);

#endif
