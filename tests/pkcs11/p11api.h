/* SPDX-License-Identifier: Apache-2.0 */
/* The p11-api test, split by concern: what the files share. */
#ifndef DEVID_P11API_H
#define DEVID_P11API_H

#include "p11test.h"

#include "../../pkcs11/pkcs11_3.h"

extern const char *variant; /* ecc, rsa, empty, no-tpm */
extern CK_FUNCTION_LIST *f;
extern CK_FUNCTION_LIST_3_0 *f3; /* the same module's 3.0 list (C_SessionCancel, ...) */

/* The one object of class cls labelled label (CK_INVALID_HANDLE if not exactly one). */
CK_OBJECT_HANDLE one(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *label);

void attributes(CK_SESSION_HANDLE s); /* p11-api-objects.c */
void create_refusals(CK_SESSION_HANDLE rw, CK_SESSION_HANDLE ro);
void keygen_refusals(CK_SESSION_HANDLE rw, CK_SESSION_HANDLE ro);
void store_key_changes(CK_SESSION_HANDLE rw, CK_SESSION_HANDLE ro);
void signatures_refusals(CK_SESSION_HANDLE s); /* p11-api-crypto.c */
void signatures_operation(CK_SESSION_HANDLE s);
void signatures_ecdsa_lengths(CK_SESSION_HANDLE s);
void signatures_rsa_lengths(CK_SESSION_HANDLE s);
void signatures_rsa_decrypt(CK_SESSION_HANDLE s);
void ecdh(CK_SESSION_HANDLE rw, CK_SESSION_HANDLE ro);
void hmac_mechanisms(CK_SESSION_HANDLE rw); /* p11-api-hmac.c */
void hmac_refusals(CK_SESSION_HANDLE rw);
void hmac_keys(CK_SESSION_HANDLE rw); /* then the steps: */
void hmac_macs(CK_SESSION_HANDLE rw);
void hmac_verify(CK_SESSION_HANDLE rw);
void hmac_wrong_mechanisms(CK_SESSION_HANDLE rw);
void hmac_destroy(CK_SESSION_HANDLE rw);
void hmac_import_refusals(CK_SESSION_HANDLE rw);
void hmac_import_32(CK_SESSION_HANDLE rw);
void hmac_import_sizes(CK_SESSION_HANDLE rw);
void lazy_discovery(void);    /* p11-api-lazy.c */
void tpm_sizes_measure(void); /* p11-api-mechs.c */
void advertised(CK_SESSION_HANDLE rw);
void operation_states(CK_SESSION_HANDLE rw);                      /* p11-api-opstate.c */
void session_objects(CK_SESSION_HANDLE rw, CK_SESSION_HANDLE ro); /* p11-api-session.c */
void session_objects_at_close_all(CK_SESSION_HANDLE s);
void session_key_pairs(CK_SESSION_HANDLE rw);
void session_secret_keys(void);
void session_data_objects(void);
void token_data_objects(CK_SESSION_HANDLE rw, CK_SESSION_HANDLE ro); /* p11-api-data.c */
void token_data_objects_pin(void); /* sets the PINs: the last step */

#endif
