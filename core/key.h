/* SPDX-License-Identifier: Apache-2.0 */
/* TPM-resident keys: the public part as an OpenSSL EVP_PKEY, and private-key operations done
 * by the TPM. No private-key byte ever leaves the TPM.
 *
 * Hashing is done by the caller in software; the TPM only signs digests (no TPM hash sequences:
 * they cost round trips and object slots). A devid_key keeps its TPM object resolved between
 * calls, so a signature with an empty-auth key is exactly one TPM command; after a reconnect
 * (fork, TPM restart) it re-resolves on its own.
 */
#ifndef DEVID_KEY_H
#define DEVID_KEY_H

#include "error.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct devid_key devid_key;

/* DEVID_KEY_HMAC: a TPM KEYEDHASH object with the sign attribute and the HMAC-SHA256 scheme;
 * a secret key, so it has no public part (devid_key_get_public returns NULL). */
typedef enum devid_key_type {
    DEVID_KEY_EC = 1,
    DEVID_KEY_RSA = 2,
    DEVID_KEY_HMAC = 3
} devid_key_type;

/* Key attributes, from the TPM object's TPMA_OBJECT. */
enum {
    DEVID_KEY_CAN_SIGN = 1u << 0,
    DEVID_KEY_CAN_DECRYPT = 1u << 1,
    DEVID_KEY_RESTRICTED = 1u << 2, /* attestation/storage key: no arbitrary digests */
    DEVID_KEY_FIXED_TPM = 1u << 3,
    DEVID_KEY_TPM_GENERATED = 1u << 4, /* sensitiveDataOrigin: never existed outside a TPM */
    DEVID_KEY_NEEDS_AUTH = 1u << 5,    /* an auth value has been set on this handle */
};

typedef enum devid_sig_scheme {
    DEVID_SIG_ECDSA,     /* tbs: a digest of any length (truncated/padded to the curve order
                             as ECDSA does); sig: r||s, each the size of the order */
    DEVID_SIG_RSA_PKCS1, /* md given: tbs is that digest. md NID_undef: tbs is a DigestInfo, or
                             other data padded in software (needs a decrypt-capable key) */
    DEVID_SIG_RSA_PSS,   /* tbs: digest of md; salt length = digest length (TLS 1.3) */
    DEVID_SIG_RSA_RAW,   /* tbs: a block of exactly the modulus size; raw RSA (X.509) */
} devid_sig_scheme;

/* Opens the persistent key at `handle` (0x81xxxxxx). DEVID_ERR_NOT_FOUND if absent. */
devid_rc devid_key_open_persistent(uint32_t handle, devid_key **out);
void devid_key_free(devid_key *key);

/* Sets the auth value used for private-key operations; a non-empty value switches them to a
 * salted, encrypted session. The copy is cleansed on free. */
devid_rc devid_key_set_auth(devid_key *key, const void *auth, size_t len);

/* True for a loaded key whose file says it has an auth value (not emptyAuth). */
bool devid_key_needs_auth(const devid_key *key);
/* Should a PIN given for this key be used as its auth value? Loadable keys: if their file says
 * they have one. Persistent keys: unless they are DevID map keys (EK, IDevID, IAK, LDevID),
 * which by design have none, so that a wrong PIN never counts against the TPM's lockout. */
bool devid_key_takes_pin_as_auth(const devid_key *key);

/* True for a store key whose auth value is the token secret: a front-end given the user PIN
 * logs in to the token (devid_token_login) instead of using the PIN as the key's auth. */
bool devid_key_token_bound(const devid_key *key);
void devid__key_mark_token_bound(devid_key *key); /* core-internal (the store marks its keys) */

devid_key_type devid_key_get_type(const devid_key *key);
unsigned devid_key_get_flags(const devid_key *key);
uint32_t devid_key_get_handle(const devid_key *key);
int devid_key_get_bits(const devid_key *key);
/* The public key (borrowed; valid as long as the key), converted to OpenSSL's form on first
 * use. NULL for an HMAC key (or if OpenSSL cannot build it: logged). */
EVP_PKEY *devid_key_get_public(const devid_key *key);
/* The TPM's name of a persistent key's object (nameAlg || digest of its public area): a
 * stable identifier that needs no OpenSSL. DEVID_ERR_NOT_FOUND for other keys. */
devid_rc devid_key_get_name(const devid_key *key, const unsigned char **name, size_t *len);
/* A stable 20-byte identifier of a public key: SHA-1 of its subjectPublicKey bits (RFC 5280
 * key identifier method 1). Used as CKA_ID for factory objects, shared by key and cert. */
devid_rc devid_pubkey_id(EVP_PKEY *pub, unsigned char id[20]);

/* Largest signature devid_key_sign can produce. */
size_t devid_key_sig_size(const devid_key *key);

/* Signs tbs (see devid_sig_scheme). On DEVID_ERR_BUFFER, *siglen holds the size needed;
 * sig == NULL asks only for the size. */
devid_rc devid_key_sign(devid_key *key, devid_sig_scheme scheme, int md_nid,
                        const unsigned char *tbs, size_t tbslen, unsigned char *sig,
                        size_t *siglen);
/* Whether devid_key_sign can sign with this scheme and digest on this TPM: an RSA key signs
 * with a hash the TPM lacks only if it allows raw RSA (the encoding is then done in software).
 * ECDSA takes any digest. May ask the TPM once (devid_tpm_hash_implemented). */
devid_rc devid_key_sign_hash_ok(devid_key *key, devid_sig_scheme scheme, int md_nid, bool *ok);

typedef enum devid_dec_scheme {
    DEVID_DEC_RSA_OAEP,  /* md_nid: OAEP hash (MGF1 uses the same); label optional */
    DEVID_DEC_RSA_PKCS1, /* PKCS#1 v1.5 encryption padding */
    DEVID_DEC_RSA_RAW,   /* no padding: out is the modulus-size block */
} devid_dec_scheme;

/* RSA decryption in the TPM (keys with the decrypt attribute). out == NULL asks for the
 * maximum size; DEVID_ERR_BUFFER reports the needed size in *outlen. */
devid_rc devid_key_decrypt(devid_key *key, devid_dec_scheme scheme, int md_nid,
                           const unsigned char *label, size_t label_len, const unsigned char *in,
                           size_t inlen, unsigned char *out, size_t *outlen);

/* ECDH (TPM2_ECDH_ZGen): the x-coordinate of d*peer, for an EC key with the decrypt
 * attribute. peer is an uncompressed point (04 || X || Y). */
devid_rc devid_key_ecdh(devid_key *key, const unsigned char *peer, size_t peer_len,
                        unsigned char *secret, size_t *secret_len);

/* Loads a key from a TSS2 PRIVATE KEY (PEM or DER), under the parent it names. The key stays
 * loaded in the TPM while the devid_key lives (re-loaded after a reconnect). */
devid_rc devid_key_load_tss2(const unsigned char *data, size_t len, devid_key **out);

/* HMAC-SHA256 computed by the TPM with an HMAC key (DEVID_KEY_HMAC). Up to
 * DEVID_HMAC_ONESHOT_MAX bytes take one TPM2_HMAC; longer data goes through an HMAC sequence
 * (TPM2_HMAC_Start, TPM2_SequenceUpdate..., TPM2_SequenceComplete), which needs a second
 * object slot while it runs. */
#define DEVID_HMAC_SIZE 32
#define DEVID_HMAC_ONESHOT_MAX 1024
devid_rc devid_key_hmac(devid_key *key, const unsigned char *data, size_t len,
                        unsigned char mac[DEVID_HMAC_SIZE]);
/* Recomputes the HMAC in the TPM and compares in constant time; *match says whether mac (of
 * any length: a wrong length never matches) is the HMAC of data. */
devid_rc devid_key_hmac_verify(devid_key *key, const unsigned char *data, size_t len,
                               const unsigned char *mac, size_t mac_len, bool *match);

/* Random bytes from the TPM's generator (TPM2_GetRandom), for callers that ask the token. */
devid_rc devid_tpm_random(unsigned char *buf, size_t len);

#endif
