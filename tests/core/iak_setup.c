/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper: makes the IAK (devid_iak_ensure, EC) and, given a file name, writes a
 * certificate for it into the IAK's NV index - issued by a throwaway CA, as a factory CA
 * would - and the certificate as PEM into that file.
 * usage: iak-setup [CERT.pem] */
#include "devid.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>

static X509 *issue(EVP_PKEY *subject)
{
    EVP_PKEY *ca = EVP_EC_gen("P-256");
    X509 *c = X509_new();
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"Test IAK", -1, -1, 0);
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), 7);
    X509_set_subject_name(c, n);
    X509_set_issuer_name(c, n);
    X509_gmtime_adj(X509_getm_notBefore(c), 0);
    X509_gmtime_adj(X509_getm_notAfter(c), 86400);
    X509_set_pubkey(c, subject);
    X509_sign(c, ca, EVP_sha256());
    X509_NAME_free(n);
    EVP_PKEY_free(ca);
    return c;
}

int main(int argc, char **argv)
{
    if (devid_core_init() != DEVID_OK)
        return 1;
    bool created = false;
    devid_key *iak = NULL;
    devid_rc rc = devid_iak_ensure(DEVID_KEY_EC, &created, &iak);
    if (rc == DEVID_OK && argc > 1) {
        X509 *cert = issue(devid_key_get_public(iak));
        unsigned char *der = NULL;
        int len = i2d_X509(cert, &der);
        rc = len > 0 ? devid_nv_write_cert(0x01C90001, der, (size_t)len, false)
                     : DEVID_ERR_INTERNAL;
        FILE *f = rc == DEVID_OK ? fopen(argv[1], "w") : NULL;
        if (rc == DEVID_OK && (!f || PEM_write_X509(f, cert) != 1))
            rc = DEVID_ERR_IO;
        if (f)
            fclose(f);
        OPENSSL_free(der);
        X509_free(cert);
    }
    if (rc != DEVID_OK)
        fprintf(stderr, "iak-setup: %s\n", devid_last_error());
    devid_key_free(iak);
    devid_core_fini();
    return rc == DEVID_OK ? 0 : 1;
}
