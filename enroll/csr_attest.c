/* SPDX-License-Identifier: Apache-2.0 */
#include "csr_attest.h"
#include "evidence.h"

#include "devid.h"
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static devid_rc open_key(const enroll_key_ref *ref, devid_key **key)
{
    if (ref->handle)
        return devid_key_open_persistent(ref->handle, key);
    return devid_store_open_key(ref->uid, key);
}

/* A certificate time for a message (ISO 8601, UTC). */
static void time_text(const ASN1_TIME *t, char *buf, size_t n)
{
    BIO *b = BIO_new(BIO_s_mem());
    int len = -1;
    if (b && ASN1_TIME_print_ex(b, t, ASN1_DTFLGS_ISO8601) == 1)
        len = BIO_read(b, buf, (int)n - 1);
    if (len > 0)
        buf[len] = '\0';
    else
        snprintf(buf, n, "(unreadable time)");
    BIO_free(b);
}

/* Whether the IAK certificate is within its validity period now; if not, why (its NV index
 * and validity: what the owner looks up and has renewed). A CA verifying the evidence refuses
 * an expired IAK certificate; the device says so itself, before the request. */
static bool iak_cert_current(const devid_identity *id, char *why, size_t n)
{
    const ASN1_TIME *not_before = X509_get0_notBefore(id->cert);
    const ASN1_TIME *not_after = X509_get0_notAfter(id->cert);
    int after = X509_cmp_current_time(not_after), before = X509_cmp_current_time(not_before);
    if (after > 0 && before < 0)
        return true; /* (0: a time that cannot be read, not current either) */
    char where[64], nb[64], na[64];
    if (id->cert_nv)
        snprintf(where, sizeof(where), "NV 0x%08x", id->cert_nv);
    else
        snprintf(where, sizeof(where), "%s", id->entry->cert_file ? id->entry->cert_file : "?");
    time_text(not_before, nb, sizeof(nb));
    time_text(not_after, na, sizeof(na));
    if (before >= 0 && after > 0)
        snprintf(why, n, "the IAK certificate (%s) is not valid yet (notBefore %s, notAfter %s)",
                 where, nb, na);
    else
        snprintf(why, n, "the IAK certificate (%s) %s (notAfter %s)", where,
                 after < 0 ? "has expired" : "has an unreadable validity period", na);
    return false;
}

/* The IAK and its certificate, if the device has both and the certificate is current.
 * *iak NULL: it has not. */
static devid_rc load_iak(enroll_attest_mode mode, devid_identity **iak)
{
    *iak = NULL;
    devid_identity *id = NULL;
    devid_rc rc = devid_identity_load(DEVID_MAP_IAK, &id);
    if (rc != DEVID_OK && rc != DEVID_ERR_NOT_FOUND)
        return rc;
    const char *why = NULL;
    char validity[256] = "";
    if (rc == DEVID_ERR_NOT_FOUND || !id->key)
        why = "the device has no IAK";
    else if (!id->cert)
        why = "the IAK has no certificate";
    else if (EVP_PKEY_eq(X509_get0_pubkey(id->cert), devid_key_get_public(id->key)) != 1)
        why = "the IAK certificate is not for the IAK";
    else if (!iak_cert_current(id, validity, sizeof(validity)))
        why = validity;
    ERR_clear_error();
    devid_clear_error();
    if (!why) {
        *iak = id;
        return DEVID_OK;
    }
    devid_identity_free(id);
    if (mode == ENROLL_ATTEST_ALWAYS)
        return devid_fail(DEVID_ERR_CONFIG,
                          "est.attestation = always, but %s: no evidence "
                          "for the request",
                          why);
    if (why == validity) /* (a device without IAK certificate is normal; this is not) */
        fprintf(stderr,
                "devid-enroll: warning: %s: the request is sent without evidence "
                "(est.attestation = auto)\n",
                why);
    else
        devid_debug("request without evidence: %s", why);
    return DEVID_OK;
}

devid_rc csr_attest_evidence(enroll_attest_mode mode, const enroll_key_ref *ref, EVP_PKEY *key,
                             const X509_NAME *subject, unsigned char **der, size_t *len)
{
    *der = NULL;
    *len = 0;
    if (mode == ENROLL_ATTEST_NEVER || !ref)
        return DEVID_OK;
    devid_identity *iak = NULL;
    devid_rc rc = load_iak(mode, &iak);
    if (rc != DEVID_OK || !iak)
        return rc;
    unsigned char qualifying[EVIDENCE_QUALIFYING_LEN];
    devid_key *target = NULL;
    devid_certification cert = { 0 };
    rc = evidence_qualifying_data(key, subject, qualifying);
    if (rc == DEVID_OK)
        rc = open_key(ref, &target);
    if (rc == DEVID_OK && EVP_PKEY_eq(devid_key_get_public(target), key) != 1)
        rc = devid_fail(DEVID_ERR_INTERNAL, "the key to attest is not the request's key");
    if (rc == DEVID_OK)
        rc = devid_certify(iak->key, target, qualifying, sizeof(qualifying), &cert);
    if (rc == DEVID_OK) {
        evidence_tpm_certify c = {
            .attest = cert.attest,
            .attest_len = cert.attest_len,
            .signature = cert.signature,
            .signature_len = cert.signature_len,
            .public_area = cert.public_area,
            .public_len = cert.public_len,
        };
        rc = evidence_encode(&c, iak->cert, iak->chain, der, len);
    }
    if (rc == DEVID_OK)
        devid_info("request carries evidence: TPM2_Certify by the IAK (0x%08x)",
                   devid_key_get_handle(iak->key));
    else
        rc = devid_fail(rc, "attesting the request's key: %s", devid_last_error());
    devid_certification_clear(&cert);
    devid_key_free(target);
    devid_identity_free(iak);
    ERR_clear_error();
    return rc;
}

bool csr_attest_cert_id(X509 *cert, char hex[CSR_ATTEST_ID_LEN + 1])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (!cert || X509_digest(cert, EVP_sha256(), md, &mdlen) != 1 || mdlen != sizeof(md))
        return false;
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return true;
}

static bool record_path(X509 *cert, char *path, size_t n, char *dir, size_t dn)
{
    char hex[CSR_ATTEST_ID_LEN + 1];
    if (!csr_attest_cert_id(cert, hex))
        return false;
    const char *store = devid_core_config()->store;
    return (size_t)snprintf(dir, dn, "%s/attested", store) < dn &&
           (size_t)snprintf(path, n, "%s/%s", dir, hex) < n;
}

devid_rc csr_attest_record(X509 *cert)
{
    char path[4096], dir[4096];
    if (!record_path(cert, path, sizeof(path), dir, sizeof(dir)))
        return devid_fail(DEVID_ERR_INTERNAL, "the attested record's path");
    /* the store's modes: a record made by root (an owner step run by the station) is
     * replaced by the service user's renewals and removed by its retire, as the identities */
    devid_rc rc = devid_store_ensure_dir();
    if (rc == DEVID_OK)
        rc = devid_ensure_dir(dir, (mode_t)devid_core_config()->store_dir_mode);
    if (rc == DEVID_OK)
        rc = devid_write_file_atomic(path, "", 0, devid_store_file_mode(false));
    return rc;
}

bool csr_attest_recorded(X509 *cert)
{
    char path[4096], dir[4096];
    return record_path(cert, path, sizeof(path), dir, sizeof(dir)) && access(path, F_OK) == 0;
}

void csr_attest_forget(X509 *cert)
{
    char path[4096], dir[4096];
    if (record_path(cert, path, sizeof(path), dir, sizeof(dir)))
        unlink(path); /* (none is fine: it was not attested) */
}

devid_rc csr_attest_forget_all(void)
{
    char dir[4096];
    if ((size_t)snprintf(dir, sizeof(dir), "%s/attested", devid_core_config()->store) >=
        sizeof(dir))
        return devid_fail(DEVID_ERR_INTERNAL, "the attested records' path");
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? DEVID_OK
                               : devid_fail(DEVID_ERR_IO, "%s: %s", dir, strerror(errno));
    devid_rc rc = DEVID_OK;
    for (struct dirent *ent; rc == DEVID_OK && (ent = readdir(d));) {
        char path[4096 + 256];
        if (ent->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, ent->d_name);
        if (unlink(path) != 0 && errno != ENOENT)
            rc = devid_fail(DEVID_ERR_IO, "removing %s: %s", path, strerror(errno));
    }
    closedir(d);
    if (rc == DEVID_OK && rmdir(dir) != 0 && errno != ENOENT)
        rc = devid_fail(DEVID_ERR_IO, "removing %s: %s", dir, strerror(errno));
    return rc;
}
