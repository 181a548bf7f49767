/* SPDX-License-Identifier: Apache-2.0 */
/* Core on a TPM with SHA-1 and SHA-256 only (swtpm behind the devidfault TCTI's hash filter,
 * rsa fixture), with the TPM commands each step costs:
 *   - devid_tpm_hash_implemented: SHA-256 and SHA-1 yes, SHA-384/512 no; one
 *     TPM2_GetCapability the first time a hash other than SHA-256 is asked, none after;
 *   - an RSA SHA-256 signature: one command (TPM2_Sign), as without the filter;
 *   - SHA-512 with the sign-only IDevID: DEVID_ERR_UNSUPPORTED naming the hash, and nothing
 *     sent to the TPM; with the LDevID (raw RSA allowed): PKCS#1 v1.5 and PSS encoded in
 *     software, one raw RSA command, and the signatures verify.
 * argv[1]: the built libtss2-tcti-devidfault.so. */
#include "devid_test.h"
#include "devid.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

static devid_key *idevid, *ldevid;

/* Signs a random digest of `md` and returns the result; when it signed, CHECKs the signature
 * with OpenSSL and that it cost `want_cmds` TPM commands. */
static devid_rc sign_counted(devid_key *key, devid_sig_scheme scheme, const char *md,
                             uint64_t want_cmds, const char *what)
{
    const EVP_MD *m = EVP_get_digestbyname(md);
    unsigned char digest[64], sig[512];
    size_t dlen = (size_t)EVP_MD_get_size(m), siglen = sizeof(sig);
    CHECK(RAND_bytes(digest, (int)dlen) == 1, "%s: random digest", what);
    uint64_t before = devid_tpm_command_count();
    devid_rc rc = devid_key_sign(key, scheme, EVP_MD_get_type(m), digest, dlen, sig, &siglen);
    uint64_t cmds = devid_tpm_command_count() - before;
    if (rc != DEVID_OK) {
        CHECK(cmds == 0, "%s: refused without a TPM command (%llu sent)", what,
              (unsigned long long)cmds);
        return rc;
    }
    CHECK(cmds == want_cmds, "%s: %llu TPM commands (want %llu)", what, (unsigned long long)cmds,
          (unsigned long long)want_cmds);
    EVP_PKEY_CTX *v = EVP_PKEY_CTX_new(devid_key_get_public(key), NULL);
    bool pss = scheme == DEVID_SIG_RSA_PSS;
    int ok = v && EVP_PKEY_verify_init(v) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(v, pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) ==
                 1 &&
             EVP_PKEY_CTX_set_signature_md(v, m) == 1 &&
             (!pss || EVP_PKEY_CTX_set_rsa_pss_saltlen(v, RSA_PSS_SALTLEN_DIGEST) == 1) &&
             EVP_PKEY_verify(v, sig, siglen, digest, dlen) == 1;
    CHECK(ok, "%s: the signature verifies", what);
    EVP_PKEY_CTX_free(v);
    printf("%-40s %llu TPM command(s)\n", what, (unsigned long long)cmds);
    return rc;
}

static void hashes_asked_once(void)
{
    static const struct {
        int nid;
        bool want;
        uint64_t cmds; /* the first non-SHA-256 question asks the TPM, once */
    } q[] = { { NID_sha256, true, 0 }, { NID_sha512, false, 1 }, { NID_sha384, false, 0 },
              { NID_sha1, true, 0 },   { NID_sha512, false, 0 }, { NID_sha224, false, 0 } };
    for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
        bool ok = !q[i].want;
        uint64_t before = devid_tpm_command_count();
        CHECK_RC(devid_tpm_hash_implemented(q[i].nid, &ok), DEVID_OK);
        uint64_t cmds = devid_tpm_command_count() - before;
        CHECK(ok == q[i].want, "%s implemented: %d", OBJ_nid2sn(q[i].nid), ok);
        CHECK(cmds == q[i].cmds, "%s asked with %llu TPM commands (want %llu)",
              OBJ_nid2sn(q[i].nid), (unsigned long long)cmds, (unsigned long long)q[i].cmds);
    }
}

static void sign_only_key(void)
{
    CHECK_RC(sign_counted(idevid, DEVID_SIG_RSA_PKCS1, "SHA256", 1, "IDevID SHA-256 PKCS#1"),
             DEVID_OK);
    CHECK_RC(sign_counted(idevid, DEVID_SIG_RSA_PKCS1, "SHA1", 1, "IDevID SHA-1 PKCS#1"), DEVID_OK);
    devid_rc rc = sign_counted(idevid, DEVID_SIG_RSA_PKCS1, "SHA512", 0, "IDevID SHA-512 PKCS#1");
    CHECK(rc == DEVID_ERR_UNSUPPORTED, "IDevID SHA-512: %s", devid_rc_name(rc));
    CHECK(strstr(devid_last_error(), "does not implement SHA512"),
          "the error names the hash the TPM lacks: '%s'", devid_last_error());
    rc = sign_counted(idevid, DEVID_SIG_RSA_PSS, "SHA384", 0, "IDevID SHA-384 PSS");
    CHECK(rc == DEVID_ERR_UNSUPPORTED, "IDevID SHA-384 PSS: %s", devid_rc_name(rc));
    bool ok = true;
    CHECK_RC(devid_key_sign_hash_ok(idevid, DEVID_SIG_RSA_PKCS1, NID_sha512, &ok), DEVID_OK);
    CHECK(!ok, "IDevID cannot sign SHA-512 here");
    CHECK_RC(devid_key_sign_hash_ok(idevid, DEVID_SIG_RSA_PSS, NID_sha256, &ok), DEVID_OK);
    CHECK(ok, "IDevID signs SHA-256");
}

static void raw_rsa_key(void)
{
    bool ok = false;
    CHECK_RC(devid_key_sign_hash_ok(ldevid, DEVID_SIG_RSA_PKCS1, NID_sha512, &ok), DEVID_OK);
    CHECK(ok, "LDevID signs SHA-512 (raw RSA)");
    CHECK_RC(sign_counted(ldevid, DEVID_SIG_RSA_PKCS1, "SHA512", 1, "LDevID SHA-512 PKCS#1 (raw)"),
             DEVID_OK);
    CHECK_RC(sign_counted(ldevid, DEVID_SIG_RSA_PSS, "SHA384", 1, "LDevID SHA-384 PSS (raw)"),
             DEVID_OK);
    CHECK_RC(sign_counted(ldevid, DEVID_SIG_RSA_PKCS1, "SHA256", 1, "LDevID SHA-256 PKCS#1"),
             DEVID_OK);
}

int main(int argc, char **argv)
{
    const char *inner = getenv("DEVID_TCTI");
    if (argc < 2 || !inner) {
        fprintf(stderr, "usage: test_tpm_hashes LIBTSS2_TCTI_DEVIDFAULT (under with-swtpm rsa)\n");
        return 2;
    }
    char tcti[1024];
    snprintf(tcti, sizeof(tcti), "%s:%s", argv[1], inner);
    setenv("DEVID_TCTI", tcti, 1);
    setenv("DEVID_FAULT_HASHES", "sha1,sha256", 1);
    if (devid_core_init() != DEVID_OK) {
        fprintf(stderr, "core init: %s\n", devid_last_error());
        return 1;
    }
    CHECK_RC(devid_key_open_persistent(0x81020000, &idevid), DEVID_OK);
    CHECK_RC(devid_key_open_persistent(0x81000002, &ldevid), DEVID_OK);
    if (!idevid || !ldevid)
        return 1;
    /* Their public areas are read: from here on only the steps' own commands count. */
    CHECK(devid_key_get_public(idevid) && devid_key_get_public(ldevid), "public keys");
    devid_test(hashes_asked_once, "/tpm-hashes/asked-once");
    devid_test(sign_only_key, "/tpm-hashes/sign-only-key");
    devid_test(raw_rsa_key, "/tpm-hashes/raw-rsa-key");
    int rc = devid_test_run("test_tpm_hashes", argc, argv);
    devid_key_free(idevid);
    devid_key_free(ldevid);
    devid_core_fini();
    return rc;
}
