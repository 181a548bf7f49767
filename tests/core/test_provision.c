/* SPDX-License-Identifier: Apache-2.0 */
/* Factory and owner provisioning (core/provision.h) on a TPM that only has its EK
 * (ek-only fixture): IDevID in the endorsement hierarchy with its certificate in NV, LDevID
 * under the SRK, never overwriting an occupied handle. */
#include "devid_test.h"
#include "devid.h"

#include <openssl/obj_mac.h>
#include <openssl/x509.h>
#include <string.h>

static X509 *make_cert(EVP_PKEY *subject, const char *cn)
{
    EVP_PKEY *ca = EVP_EC_gen("P-256");
    X509 *c = X509_new();
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), 42);
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

static bool signs(devid_key *key)
{
    unsigned char d[32] = { 4 }, sig[512];
    size_t siglen = sizeof(sig);
    devid_sig_scheme s = devid_key_get_type(key) == DEVID_KEY_EC ? DEVID_SIG_ECDSA
                                                                 : DEVID_SIG_RSA_PSS;
    return devid_key_sign(key, s, NID_sha256, d, 32, sig, &siglen) == DEVID_OK;
}

static devid_identity *id;
static devid_key *key; /* the IDevID between its two steps */

static int setup(void)
{
    return devid_core_init() == DEVID_OK ? 0 : 1;
}

/* IDevID: an endorsement-hierarchy primary, persisted */
static void test_idevid(void)
{
    CHECK_RC(devid_identity_load(DEVID_MAP_IDEVID, &id), DEVID_ERR_NOT_FOUND);

    /* IDevID: an endorsement-hierarchy primary, persisted */
    devid_provision_spec idevid = { .handle = 0x81020000,
                                    .hierarchy = DEVID_HIER_ENDORSEMENT,
                                    .type = DEVID_KEY_EC,
                                    .curve_nid = NID_X9_62_prime256v1 };
    CHECK_RC(devid_provision_key(&idevid, &key), DEVID_OK);
    CHECK(key && signs(key), "new IDevID signs");
    devid_key *again = NULL;
    CHECK_RC(devid_provision_key(&idevid, &again), DEVID_ERR_PROHIBITED);
    CHECK(strstr(devid_last_error(), "in use") != NULL, "%s", devid_last_error());
    /* primaries are derived from the endorsement seed: the same template gives the same key */
    devid_provision_spec twin = idevid;
    twin.handle = 0x81020010;
    CHECK_RC(devid_provision_key(&twin, &again), DEVID_OK);
    CHECK(key && again && EVP_PKEY_eq(devid_key_get_public(key), devid_key_get_public(again)) == 1,
          "deterministic IDevID");
    devid_key_free(again);
    CHECK_RC(devid_provision_remove_key(0x81020010), DEVID_OK);
    CHECK_RC(devid_provision_remove_key(0x81020010), DEVID_ERR_NOT_FOUND);
}

static void test_idevid_cert(void)
{
    /* its certificate into NV: platform-defined, write-locked */
    X509 *cert = key ? make_cert(devid_key_get_public(key), "IDevID") : NULL;
    unsigned char *der = NULL;
    int derlen = cert ? i2d_X509(cert, &der) : -1;
    CHECK_RC(devid_nv_write_cert(0x01C90000, der, (size_t)derlen, false), DEVID_OK);
    CHECK_RC(devid_nv_write_cert(0x01C90000, der, (size_t)derlen, false), DEVID_ERR_PROHIBITED);
    CHECK_RC(devid_identity_load(DEVID_MAP_IDEVID, &id), DEVID_OK);
    CHECK(id && id->key && id->cert && X509_cmp(id->cert, cert) == 0, "IDevID identity complete");
    devid_identity_free(id);
    id = NULL;
    X509 *cert2 = key ? make_cert(devid_key_get_public(key), "IDevID renewed") : NULL;
    unsigned char *der2 = NULL;
    int der2len = cert2 ? i2d_X509(cert2, &der2) : -1;
    CHECK_RC(devid_nv_write_cert(0x01C90000, der2, (size_t)der2len, true), DEVID_OK);
    CHECK_RC(devid_identity_load(DEVID_MAP_IDEVID, &id), DEVID_OK);
    CHECK(id && id->cert && X509_cmp(id->cert, cert2) == 0, "certificate replaced");
    devid_identity_free(id);
    OPENSSL_free(der);
    OPENSSL_free(der2);
    X509_free(cert);
    X509_free(cert2);
    devid_key_free(key);
    key = NULL;
}

static void test_ldevid(void)
{
    /* LDevID: a child of the (standard, transient) SRK, persisted in the owner range */
    devid_provision_spec ldevid = { .handle = 0x81000002,
                                    .hierarchy = DEVID_HIER_OWNER,
                                    .type = DEVID_KEY_RSA,
                                    .bits = 2048 };
    CHECK_RC(devid_provision_key(&ldevid, &key), DEVID_OK);
    CHECK(key && signs(key), "new RSA LDevID signs (PSS)");
    CHECK(key && (devid_key_get_flags(key) & DEVID_KEY_CAN_DECRYPT), "RSA LDevID allows raw RSA");
    devid_key_free(key);
    key = NULL;
    CHECK_RC(devid_provision_remove_key(0x81000002), DEVID_OK);
    CHECK_RC(devid_key_open_persistent(0x81000002, &key), DEVID_ERR_NOT_FOUND);
    CHECK_RC(devid_provision_remove_key(0x01C90000), DEVID_ERR_ARG);
}

int main(int argc, char **argv)
{
    devid_test_fixture(setup, devid_core_fini);
    devid_test(test_idevid, "/provision/idevid");
    devid_test_step(test_idevid_cert, "/provision/idevid-cert");
    devid_test(test_ldevid, "/provision/ldevid");
    return devid_test_run("test_provision", argc, argv);
}
