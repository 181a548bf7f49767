/* SPDX-License-Identifier: Apache-2.0 */
/* The keyd replay (keyd-replay.c and the files it is split into): the Azure IoT Identity
 * Service's key daemon replayed call by call against devid-pkcs11.so. What the parts share:
 * keyd's own building blocks (its C_Initialize arguments, its login before each operation,
 * its lookups, key generation, deletion and rename) written as keyd does them, never with a
 * shortcut keyd does not take (such as keeping a handle across steps where keyd searches
 * again). */
#ifndef DEVID_KEYD_H
#define DEVID_KEYD_H

#include "p11test.h"

extern const char *module_path, *fixture;
extern bool identities; /* the fixture has factory DevIDs (ecc, rsa) */
extern bool rsa;        /* ... and they are RSA keys */
extern bool pin_set;    /* the token has a user PIN (1234): keyd knows it and logs in */
extern CK_C_INITIALIZE_ARGS keyd_args; /* all four mutex callbacks plus both flags */

/* Before each operation: C_GetSessionInfo; not logged in and a PIN is known → C_Login(CKU_USER);
 * CKR_USER_ALREADY_LOGGED_IN counts as success. */
void keyd_login(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s);
/* keyd's lookup: {CKA_CLASS, CKA_LABEL}, one C_FindObjects with max 1. */
bool keyd_find(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *label,
               CK_OBJECT_HANDLE *h);
/* A key pair by label: the public key first, then the private key. */
bool keyd_key_pair(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *label,
                   CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv);
/* Deletes the pair with that label if there is one (C_DestroyObject on each half found). */
void keyd_delete_pair(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *label);
/* keyd's generate_key_pair: deletes any pair of that label, then C_GenerateKeyPair with its
 * templates exactly (no CLASS, KEY_TYPE, ID). */
CK_RV keyd_generate(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *label, bool want_rsa,
                    CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv);
/* keyd's HMAC-SHA256 key: C_GenerateKey(CKM_GENERIC_SECRET_KEY_GEN) with its template (a
 * token object, private, sensitive, for signing and verifying, 32 bytes, labelled). */
CK_RV keyd_generate_hmac(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *label,
                         CK_OBJECT_HANDLE *key);
/* keyd's rename_key_pair: for CKO_PUBLIC_KEY, then CKO_PRIVATE_KEY: find the object by its
 * old label, set CKA_LABEL to the new one. false ("source not found") if a lookup finds
 * nothing; `only_public` stops after the public key (a crash between the two renames). */
bool keyd_rename_pair(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *from, const char *to,
                      bool only_public);

/* Signatures as keyd makes them, verified with OpenSSL on the public key rebuilt from the
 * public object's attributes (keyd-keys.c). */
extern const unsigned char p256_oid[10];
void ec_signatures(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *label,
                   CK_OBJECT_HANDLE pub, CK_OBJECT_HANDLE priv);
void rsa_signatures(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *label,
                    CK_OBJECT_HANDLE pub, CK_OBJECT_HANDLE priv, bool raw_allowed);

/* A fresh load of the module as keyd makes one: dlopen, C_Initialize, a R/W session. */
CK_SESSION_HANDLE keyd_open(p11_mod *mod, CK_SLOT_ID slot);
void keyd_close(p11_mod *mod);

/* The parts of the replay. */
void generate_rotate_delete(CK_SLOT_ID slot); /* keyd-rotation.c */
void certd_rotation(CK_SLOT_ID slot);
void crash_between_renames(CK_SLOT_ID slot);
void fork_rule(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s); /* keyd-lifecycle.c */
void threads(CK_FUNCTION_LIST *f, CK_SLOT_ID slot);
void cycles(void);
void tpm_left_clean(void);

#endif
