/* SPDX-License-Identifier: Apache-2.0 */
/* devid-pkcs11: what the attribute files share (attr.c, attr_key.c, attr_cert.c,
 * attr_secret.c). The rest of the module uses only p11_attr_get / p11_attr_match (p11.h).
 *
 * Every setter fills a p11_val and returns CKR_OK, or CKR_HOST_MEMORY / CKR_GENERAL_ERROR when
 * the value cannot be made, so that an attribute lookup ends `return p11_val_...(v, ...);`.
 */
#ifndef DEVID_P11_ATTR_H
#define DEVID_P11_ATTR_H

#include "p11.h"

#include <openssl/x509.h>

/* ---- value setters (attr.c) ------------------------------------------------------------- */

/* A CK_ULONG, held in the value itself. */
CK_RV p11_val_ulong(p11_val *v, CK_ULONG x);
/* A CK_BBOOL, held in the value itself. */
CK_RV p11_val_bool(p11_val *v, bool b);
/* n bytes at p, borrowed (p must outlive the value); n == 0 is the empty value. */
CK_RV p11_val_ref(p11_val *v, const void *p, size_t n);
/* Takes ownership of an OPENSSL_malloc'd buffer (as i2d_* returns), n < 0 meaning failure. */
CK_RV p11_val_take(p11_val *v, unsigned char *p, int n);
/* A DER X509_NAME (CKA_SUBJECT, CKA_ISSUER). */
CK_RV p11_val_name(p11_val *v, const X509_NAME *name);
/* The 20-byte key id devid gives a public key (CKA_ID of a CA certificate,
 * CKA_HASH_OF_SUBJECT_PUBLIC_KEY); CKR_GENERAL_ERROR if pub is NULL or has none. */
CK_RV p11_val_pubkey_id(p11_val *v, EVP_PKEY *pub);
/* CKA_ALLOWED_MECHANISMS: the key's list of CK_MECHANISM_TYPE. */
CK_RV p11_val_allowed_mechs(p11_val *v, devid_key *key);

/* ---- per-class attributes, after the common ones (attr.c) have answered
 * CKR_ATTRIBUTE_TYPE_INVALID; each returns CKR_ATTRIBUTE_TYPE_INVALID for what its class
 * does not have ------------------------------------------------------------------------------ */

/* A public value in PKCS#11's encoding (attr_key.c): CKA_PUBLIC_KEY_INFO (DER SPKI),
 * CKA_EC_PARAMS (the curve's DER OID), CKA_EC_POINT (DER OCTET STRING of the uncompressed
 * point), CKA_MODULUS / CKA_PUBLIC_EXPONENT (big-endian); CKR_ATTRIBUTE_TYPE_INVALID for any
 * other type and for a value the key's type does not have. */
CK_RV p11_val_public(p11_val *v, EVP_PKEY *pkey, CK_ATTRIBUTE_TYPE type);
/* CKO_DATA of a session item: CKA_APPLICATION, CKA_OBJECT_ID, CKA_VALUE (session_obj.c). */
CK_RV p11_attr_session_data(p11_object *obj, CK_ATTRIBUTE_TYPE type, p11_val *v);
/* CKO_PUBLIC_KEY of a session item: a public key the application gave (session_obj.c). */
CK_RV p11_attr_session_pub(p11_object *obj, CK_ATTRIBUTE_TYPE type, p11_val *v);
/* CKO_PRIVATE_KEY / CKO_PUBLIC_KEY of an item (attr_key.c). */
CK_RV p11_attr_key(p11_object *obj, CK_ATTRIBUTE_TYPE type, p11_val *v);
/* CKO_CERTIFICATE: the item's own certificate or one of its CA certificates (attr_cert.c). */
CK_RV p11_attr_cert(p11_object *obj, CK_ATTRIBUTE_TYPE type, p11_val *v);
/* The certificate a certificate object shows (its item's own, or CA certificate obj->chain);
 * NULL with *rv set when it cannot be had (attr_cert.c). */
X509 *p11_object_cert(p11_object *obj, CK_RV *rv);
/* CKO_SECRET_KEY of a store item: an HMAC-SHA256 key in the TPM (attr_secret.c). */
CK_RV p11_attr_store_secret(p11_object *obj, CK_ATTRIBUTE_TYPE type, p11_val *v);
/* Every attribute of a session secret (an ECDH result; no common part) (attr_secret.c). */
CK_RV p11_attr_session_secret(const p11_secret *sec, CK_ATTRIBUTE_TYPE type, p11_val *v);

#endif
