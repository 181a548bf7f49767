/* SPDX-License-Identifier: Apache-2.0 */
/* Attributes of certificate objects (CKO_CERTIFICATE, X.509): an item's own certificate and,
 * for DevID map identities, its CA certificates, each read from the certificate when asked for.
 */
#include "attr.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

X509 *p11_object_cert(p11_object *obj, CK_RV *rv)
{
    if (obj->chain >= 0) {
        X509 *c = p11_item_chain_cert(obj->item, obj->chain);
        *rv = c ? CKR_OK : CKR_OBJECT_HANDLE_INVALID;
        return c;
    }
    X509 *c = NULL;
    *rv = p11_item_cert(obj->item, &c);
    return c;
}

/* CKA_START_DATE / CKA_END_DATE: a CK_DATE ("YYYYMMDD"); empty when t cannot be read. */
static CK_RV val_date(p11_val *v, const ASN1_TIME *t)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return p11_val_ref(v, NULL, 0);
    char buf[16];
    snprintf(buf, sizeof(buf), "%04d%02d%02d", (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
             tm.tm_mday % 100);
    unsigned char *p = OPENSSL_malloc(sizeof(CK_DATE));
    if (!p)
        return CKR_HOST_MEMORY;
    memcpy(p, buf, sizeof(CK_DATE));
    return p11_val_take(v, p, (int)sizeof(CK_DATE));
}

CK_RV p11_attr_cert(p11_object *obj, CK_ATTRIBUTE_TYPE type, p11_val *v)
{
    CK_RV rv;
    X509 *cert = p11_object_cert(obj, &rv);
    if (!cert)
        return rv;
    unsigned char *p = NULL;
    int n;
    switch (type) {
    case CKA_CERTIFICATE_TYPE:
        return p11_val_ulong(v, CKC_X_509);
    case CKA_TRUSTED:
        return p11_val_bool(v, false);
    case CKA_CERTIFICATE_CATEGORY:
        /* 1 = token user (the certificate of a key held here), 2 = authority */
        return p11_val_ulong(v, obj->chain >= 0 ? 2 : 1);
    case CKA_VALUE:
        n = i2d_X509(cert, &p);
        return p11_val_take(v, p, n);
    case CKA_CHECK_VALUE: {
        unsigned char md[SHA_DIGEST_LENGTH];
        n = i2d_X509(cert, &p);
        if (n <= 0 || !EVP_Digest(p, (size_t)n, md, NULL, EVP_sha1(), NULL)) {
            OPENSSL_free(p);
            return CKR_GENERAL_ERROR;
        }
        OPENSSL_free(p);
        unsigned char *cv = OPENSSL_malloc(3);
        if (cv)
            memcpy(cv, md, 3);
        return p11_val_take(v, cv, cv ? 3 : -1);
    }
    case CKA_SUBJECT:
        return p11_val_name(v, X509_get_subject_name(cert));
    case CKA_ISSUER:
        return p11_val_name(v, X509_get_issuer_name(cert));
    case CKA_SERIAL_NUMBER:
        n = i2d_ASN1_INTEGER((ASN1_INTEGER *)X509_get0_serialNumber(cert), &p);
        return p11_val_take(v, p, n);
    case CKA_START_DATE:
        return val_date(v, X509_get0_notBefore(cert));
    case CKA_END_DATE:
        return val_date(v, X509_get0_notAfter(cert));
    case CKA_PUBLIC_KEY_INFO:
        n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &p);
        return p11_val_take(v, p, n);
    case CKA_HASH_OF_SUBJECT_PUBLIC_KEY:
        return p11_val_pubkey_id(v, X509_get0_pubkey(cert));
    case CKA_URL:
    case CKA_HASH_OF_ISSUER_PUBLIC_KEY:
        return p11_val_ref(v, NULL, 0);
    case CKA_JAVA_MIDP_SECURITY_DOMAIN:
        return p11_val_ulong(v, 0 /* CK_SECURITY_DOMAIN_UNSPECIFIED */);
    case CKA_NAME_HASH_ALGORITHM:
        return p11_val_ulong(v, CKM_SHA_1);
    default:
        return CKR_ATTRIBUTE_TYPE_INVALID;
    }
}
