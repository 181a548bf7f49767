/* SPDX-License-Identifier: Apache-2.0 */
/* The TCG factory keys on a TPM that has only its EK (ek-only fixture): the IAK (restricted
 * signing key) and IDevID from their templates, never over an occupied handle, and
 * TPM2_Certify by the IAK checked as a verifier would: the TPMS_ATTEST parsed with tpm2-tss,
 * the attested name recomputed from the public area, the signature verified by OpenSSL. */
#include "devid_test.h"
#include "devid.h"
#include "key_internal.h"
#include "tpm.h"

#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <tss2/tss2_mu.h>

#define IAK_HANDLE 0x81020001
#define IDEVID_HANDLE 0x81020000
#define REQUIRED                                                                                   \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |            \
     TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_SIGN_ENCRYPT)

/* What a verifier does with a certification: everything from the bytes, nothing from core. */
static void verify_certification(const char *what, const devid_certification *c, devid_key *iak,
                                 const unsigned char *nonce, size_t nonce_len, TPMT_PUBLIC *pub_out)
{
    TPMS_ATTEST st;
    size_t off = 0;
    CHECK(Tss2_MU_TPMS_ATTEST_Unmarshal(c->attest, c->attest_len, &off, &st) == 0 &&
              off == c->attest_len,
          "%s: TPMS_ATTEST parses", what);
    CHECK(st.magic == TPM2_GENERATED_VALUE, "%s: magic 0x%08x", what, st.magic);
    CHECK(st.type == TPM2_ST_ATTEST_CERTIFY, "%s: type 0x%04x", what, st.type);
    CHECK(st.extraData.size == nonce_len &&
              (nonce_len == 0 || memcmp(st.extraData.buffer, nonce, nonce_len) == 0),
          "%s: extraData is the qualifying data", what);

    TPMT_PUBLIC pub;
    off = 0;
    CHECK(Tss2_MU_TPMT_PUBLIC_Unmarshal(c->public_area, c->public_len, &off, &pub) == 0 &&
              off == c->public_len,
          "%s: TPMT_PUBLIC parses", what);
    /* name = nameAlg || H(TPMT_PUBLIC marshalled) */
    unsigned char name[2 + EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    name[0] = (unsigned char)(pub.nameAlg >> 8);
    name[1] = (unsigned char)pub.nameAlg;
    CHECK(pub.nameAlg == TPM2_ALG_SHA256, "%s: nameAlg SHA-256", what);
    EVP_Digest(c->public_area, c->public_len, name + 2, &mdlen, EVP_sha256(), NULL);
    CHECK(st.attested.certify.name.size == 2 + mdlen &&
              memcmp(st.attested.certify.name.name, name, 2 + mdlen) == 0,
          "%s: attested name is the name of the public area", what);

    EVP_MD_CTX *md = EVP_MD_CTX_new();
    CHECK(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, devid_key_get_public(iak)) == 1 &&
              EVP_DigestVerify(md, c->sig_der, c->sig_der_len, c->attest, c->attest_len) == 1,
          "%s: signature verifies with the IAK's public key", what);
    /* and the check is not vacuous: one flipped bit of the statement fails it */
    unsigned char *bad = OPENSSL_memdup(c->attest, c->attest_len);
    bad[c->attest_len - 1] ^= 1;
    EVP_MD_CTX_reset(md);
    CHECK(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, devid_key_get_public(iak)) == 1 &&
              EVP_DigestVerify(md, c->sig_der, c->sig_der_len, bad, c->attest_len) != 1,
          "%s: a changed statement does not verify", what);
    OPENSSL_free(bad);
    EVP_MD_CTX_free(md);
    TPMT_SIGNATURE sig;
    off = 0;
    CHECK(Tss2_MU_TPMT_SIGNATURE_Unmarshal(c->signature, c->signature_len, &off, &sig) == 0 &&
              off == c->signature_len,
          "%s: TPMT_SIGNATURE parses", what);
    if (pub_out)
        *pub_out = pub;
}

/* A CA's TPM2_MakeCredential for the EK whose public area is `ek` and the object `name`,
 * by tpm2-tools in software (--tcti none). Its output file: 0xBADCC0DE, version 1, then the
 * TPM2B_ID_OBJECT and the TPM2B_ENCRYPTED_SECRET. */
static bool make_credential(const char *dir, devid_key *ek, const unsigned char *name,
                            size_t name_len, const unsigned char *secret, size_t secret_len,
                            unsigned char *blob, size_t *blob_len, unsigned char *enc,
                            size_t *enc_len)
{
    char path[512], cmd[2048], hex[2 * 68 + 1] = "";
    unsigned char buf[sizeof(TPM2B_PUBLIC)];
    size_t off = 0;
    TPM2B_PUBLIC pub = { .publicArea = ek->pub };
    if (Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, buf, sizeof(buf), &off) != 0)
        return false;
    snprintf(path, sizeof(path), "%s/ek.pub", dir);
    FILE *f = fopen(path, "wb");
    fwrite(buf, 1, off, f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/secret", dir);
    f = fopen(path, "wb");
    fwrite(secret, 1, secret_len, f);
    fclose(f);
    for (size_t i = 0; i < name_len; i++)
        sprintf(hex + 2 * i, "%02x", name[i]);
    snprintf(cmd, sizeof(cmd),
             "tpm2_makecredential --tcti none -u %s/ek.pub -s %s/secret "
             "-n %s -o %s/cred >/dev/null",
             dir, dir, hex, dir);
    if (system(cmd) != 0)
        return false;
    snprintf(path, sizeof(path), "%s/cred", dir);
    f = fopen(path, "rb");
    unsigned char file[4096];
    size_t n = f ? fread(file, 1, sizeof(file), f) : 0;
    if (f)
        fclose(f);
    if (n < 12 || file[0] != 0xBA || file[1] != 0xDC || file[2] != 0xC0 || file[3] != 0xDE)
        return false;
    size_t idlen = 2 + ((size_t)file[8] << 8 | file[9]);
    if (8 + idlen > n)
        return false;
    memcpy(blob, file + 8, idlen);
    *blob_len = idlen;
    memcpy(enc, file + 8 + idlen, n - 8 - idlen);
    *enc_len = n - 8 - idlen;
    return true;
}

static bool same_public(devid_key *a, devid_key *b)
{
    return a && b && EVP_PKEY_eq(devid_key_get_public(a), devid_key_get_public(b)) == 1;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Shared by the cases: the IAK and the IDevID, created on first use (the IAK by
 * /iak/create when it runs) and freed by the teardown. */
static devid_key *shared_iak, *shared_idevid;

static int setup(void)
{
    if (devid_core_init() != DEVID_OK) {
        fprintf(stderr, "core init: %s\n", devid_last_error());
        return 1;
    }
    return 0;
}

static void teardown(void)
{
    devid_key_free(shared_idevid);
    devid_key_free(shared_iak);
    devid_core_fini();
}

static devid_key *the_iak(void)
{
    bool created = false;
    if (!shared_iak)
        CHECK_RC(devid_iak_ensure(DEVID_KEY_EC, &created, &shared_iak), DEVID_OK);
    return shared_iak;
}

/* the IDevID from its template */
static devid_key *the_idevid(void)
{
    devid_provision_spec idevid_spec = { .handle = IDEVID_HANDLE,
                                         .hierarchy = DEVID_HIER_ENDORSEMENT,
                                         .type = DEVID_KEY_EC,
                                         .curve_nid = NID_X9_62_prime256v1,
                                         .tmpl = DEVID_TEMPLATE_IDEVID };
    if (!shared_idevid)
        CHECK_RC(devid_provision_key(&idevid_spec, &shared_idevid), DEVID_OK);
    return shared_idevid;
}

static void fill_nonce(unsigned char nonce[32])
{
    for (size_t i = 0; i < 32; i++)
        nonce[i] = (unsigned char)(0xA0 + i);
}

/* An occupied IAK handle holding some other key is never touched (runs before the IAK
 * exists: registered first). */
static void test_squatter(void)
{
    devid_provision_spec plain = { .handle = IAK_HANDLE,
                                   .hierarchy = DEVID_HIER_ENDORSEMENT,
                                   .type = DEVID_KEY_EC,
                                   .curve_nid = NID_X9_62_prime256v1 };
    devid_key *squatter = NULL, *found = NULL, *again = NULL;
    bool created = true;
    CHECK_RC(devid_provision_key(&plain, &squatter), DEVID_OK);
    CHECK_RC(devid_iak_ensure(DEVID_KEY_EC, &created, &found), DEVID_ERR_PROHIBITED);
    CHECK(!created && !found && strstr(devid_last_error(), "not an IAK"), "%s", devid_last_error());
    CHECK_RC(devid_key_open_persistent(IAK_HANDLE, &again), DEVID_OK);
    CHECK(same_public(squatter, again), "the key at the IAK handle is still there");
    devid_key_free(again);
    devid_key_free(squatter);
    CHECK_RC(devid_provision_remove_key(IAK_HANDLE), DEVID_OK); /* (this test's own key) */
}

/* The IAK: created once, found afterwards. */
static void test_create(void)
{
    bool created = false;
    devid_key *iak = NULL, *again = NULL;
    CHECK(!shared_iak, "no IAK before this case");
    CHECK_RC(devid_iak_ensure(DEVID_KEY_EC, &created, &iak), DEVID_OK);
    CHECK(created && iak, "IAK created");
    CHECK_RC(devid_iak_ensure(DEVID_KEY_EC, &created, &again), DEVID_OK);
    CHECK(!created && same_public(iak, again), "IAK found the second time");
    devid_key_free(again);
    unsigned f = iak ? devid_key_get_flags(iak) : 0;
    CHECK((f & DEVID_KEY_RESTRICTED) && (f & DEVID_KEY_CAN_SIGN) && (f & DEVID_KEY_FIXED_TPM) &&
              (f & DEVID_KEY_TPM_GENERATED) && !(f & DEVID_KEY_CAN_DECRYPT),
          "IAK flags 0x%x", f);
    shared_iak = iak;
}

/* Restricted: no signature over caller data, decided in core with a clear code. */
static void test_restricted(void)
{
    unsigned char digest[32] = { 1 }, sig[512];
    size_t siglen = sizeof(sig);
    devid_key *k = the_iak();
    CHECK(!devid_key_signs_arbitrary_data(k), "IAK does not sign arbitrary data");
    uint64_t before = devid_tpm_command_count();
    CHECK_RC(devid_key_sign(k, DEVID_SIG_ECDSA, NID_sha256, digest, 32, sig, &siglen),
             DEVID_ERR_KEY_USAGE);
    CHECK(devid_tpm_command_count() == before, "refused without asking the TPM");
}

/* The IDevID from its template: signing stays one TPM command; the IAK template is refused
 * in the owner hierarchy. */
static void test_idevid_sign(void)
{
    unsigned char digest[32] = { 1 }, sig[512];
    size_t siglen = sizeof(sig);
    devid_key *idevid = the_idevid(), *again = NULL;
    CHECK(devid_key_signs_arbitrary_data(idevid), "IDevID signs arbitrary data");
    CHECK_RC(devid_key_sign(idevid, DEVID_SIG_ECDSA, NID_sha256, digest, 32, sig, &siglen),
             DEVID_OK); /* warm: the first use resolves the handle */
    enum { N = 50 };
    uint64_t before = devid_tpm_command_count();
    double t0 = now_ms();
    for (int i = 0; i < N; i++) {
        siglen = sizeof(sig);
        CHECK_RC(devid_key_sign(idevid, DEVID_SIG_ECDSA, NID_sha384, digest, 32, sig, &siglen),
                 DEVID_OK);
    }
    double t1 = now_ms();
    CHECK(devid_tpm_command_count() - before == N, "%llu TPM commands for %d IDevID signatures",
          (unsigned long long)(devid_tpm_command_count() - before), N);
    printf("IDevID (TCG template) ECDSA P-256: %.2f ms per signature (one TPM2_Sign each)\n",
           (t1 - t0) / N);
    devid_provision_spec rsa_iak_bad = { .handle = 0x81020011,
                                         .hierarchy = DEVID_HIER_OWNER,
                                         .type = DEVID_KEY_RSA,
                                         .bits = 2048,
                                         .tmpl = DEVID_TEMPLATE_IAK };
    CHECK_RC(devid_provision_key(&rsa_iak_bad, &again), DEVID_ERR_ARG);
}

/* TPM2_Certify of the IDevID by the IAK, as a verifier sees it: one TPM command. */
static void test_certify_idevid(void)
{
    devid_key *iak = the_iak(), *idevid = the_idevid();
    unsigned char nonce[32];
    fill_nonce(nonce);
    devid_certification c;
    CHECK_RC(devid_certify(iak, idevid, nonce, 8, &c), DEVID_OK); /* warm: resolves the IAK */
    devid_certification_clear(&c);
    uint64_t before = devid_tpm_command_count();
    double t0 = now_ms();
    CHECK_RC(devid_certify(iak, idevid, nonce, sizeof(nonce), &c), DEVID_OK);
    double t1 = now_ms();
    CHECK(devid_tpm_command_count() - before == 1, "certify: %llu TPM commands",
          (unsigned long long)(devid_tpm_command_count() - before));
    printf("TPM2_Certify of the IDevID by the IAK: %.2f ms\n", t1 - t0);
    TPMT_PUBLIC pub;
    memset(&pub, 0, sizeof(pub));
    if (c.attest) {
        verify_certification("IDevID", &c, iak, nonce, sizeof(nonce), &pub);
        CHECK((pub.objectAttributes & REQUIRED) == REQUIRED &&
                  !(pub.objectAttributes & TPMA_OBJECT_RESTRICTED) &&
                  !(pub.objectAttributes & TPMA_OBJECT_DECRYPT),
              "IDevID attributes 0x%08x", pub.objectAttributes);
        CHECK(pub.type == TPM2_ALG_ECC && pub.parameters.eccDetail.curveID == TPM2_ECC_NIST_P256,
              "IDevID is EC P-256");
    }
    devid_certification_clear(&c);
}

/* The IAK certifies itself: its own attributes, from the TPM's statement. */
static void test_certify_self(void)
{
    devid_key *iak = the_iak();
    devid_certification c;
    TPMT_PUBLIC pub;
    memset(&pub, 0, sizeof(pub));
    CHECK_RC(devid_certify(iak, iak, NULL, 0, &c), DEVID_OK);
    if (c.attest) {
        verify_certification("IAK", &c, iak, NULL, 0, &pub);
        CHECK((pub.objectAttributes & REQUIRED) == REQUIRED &&
                  (pub.objectAttributes & TPMA_OBJECT_RESTRICTED) &&
                  !(pub.objectAttributes & TPMA_OBJECT_DECRYPT),
              "IAK attributes 0x%08x", pub.objectAttributes);
        CHECK(pub.parameters.eccDetail.scheme.scheme == TPM2_ALG_ECDSA &&
                  pub.parameters.eccDetail.scheme.details.ecdsa.hashAlg == TPM2_ALG_SHA256,
              "IAK scheme ECDSA-SHA256");
    }
    devid_certification_clear(&c);
}

/* Refusals: an unrestricted signer, too much qualifying data. */
static void test_certify_refusals(void)
{
    devid_key *iak = the_iak(), *idevid = the_idevid();
    devid_certification c;
    unsigned char big[DEVID_CERTIFY_QUALIFYING_MAX + 1] = { 0 };
    CHECK_RC(devid_certify(idevid, iak, NULL, 0, &c), DEVID_ERR_KEY_USAGE);
    CHECK_RC(devid_certify(iak, idevid, big, sizeof(big), &c), DEVID_ERR_ARG);
    CHECK(c.attest == NULL, "nothing returned on a refusal");
}

/* A store key (a future service identity), with and without an auth value: the same
 * evidence; the key's password travels in the session policy's encrypted session. */
static void test_certify_store_keys(void)
{
    devid_key *iak = the_iak();
    unsigned char nonce[32];
    fill_nonce(nonce);
    devid_certification c;
    for (int with_auth = 0; with_auth < 2; with_auth++) {
        devid_keygen kg = { .type = DEVID_KEY_EC,
                            .curve_nid = NID_X9_62_prime256v1,
                            .sign = true,
                            .auth = with_auth ? "a-password" : NULL,
                            .auth_len = with_auth ? 10 : 0 };
        devid_store_attrs attrs = { 0 };
        snprintf(attrs.label, sizeof(attrs.label), "certified-%d", with_auth);
        char uid[DEVID_UID_LEN + 1];
        devid_key *sk = NULL;
        CHECK_RC(devid_store_generate(&kg, &attrs, uid), DEVID_OK);
        CHECK_RC(devid_store_open_key(uid, &sk), DEVID_OK);
        if (sk && with_auth)
            CHECK_RC(devid_key_set_auth(sk, "a-password", 10), DEVID_OK);
        if (sk) {
            CHECK_RC(devid_certify(iak, sk, nonce, sizeof(nonce), &c), DEVID_OK);
            if (c.attest)
                verify_certification(with_auth ? "store key with auth" : "store key", &c, iak,
                                     nonce, sizeof(nonce), NULL);
            devid_certification_clear(&c);
        }
        devid_key_free(sk);
    }
}

/* An attested request: the key is open for its signature (the provider's object) and opened
 * again to be certified. Both share one loaded TPM object: the second open, the certify's
 * handing it over and the signature after it load nothing, so the SRK, the key and the IAK
 * fit swtpm's three object slots (a second load filled them: TPM2_Certify failed, 0x902). */
static void test_certify_store_key_open_twice(void)
{
    devid_key *iak = the_iak(), *idevid = the_idevid();
    unsigned char nonce[32], digest[32] = { 7 }, sig[512];
    size_t siglen = sizeof(sig);
    fill_nonce(nonce);
    devid_certification c;
    CHECK_RC(devid_certify(iak, idevid, nonce, 8, &c), DEVID_OK); /* warm: resolves the IAK */
    devid_certification_clear(&c);
    devid_keygen kg = { .type = DEVID_KEY_EC, .curve_nid = NID_X9_62_prime256v1, .sign = true };
    devid_store_attrs attrs = { 0 };
    snprintf(attrs.label, sizeof(attrs.label), "certified-twice");
    char uid[DEVID_UID_LEN + 1];
    devid_key *signer = NULL, *target = NULL;
    CHECK_RC(devid_store_generate(&kg, &attrs, uid), DEVID_OK);
    CHECK_RC(devid_store_open_key(uid, &signer), DEVID_OK);
    if (!signer)
        return;
    uint64_t before = devid_tpm_command_count();
    CHECK_RC(devid_store_open_key(uid, &target), DEVID_OK);
    CHECK(devid_tpm_command_count() == before, "second open: %llu TPM commands (want 0)",
          (unsigned long long)(devid_tpm_command_count() - before));
    before = devid_tpm_command_count();
    if (target)
        CHECK_RC(devid_certify(iak, target, nonce, sizeof(nonce), &c), DEVID_OK);
    CHECK(devid_tpm_command_count() - before == 1, "certify: %llu TPM commands (want 1)",
          (unsigned long long)(devid_tpm_command_count() - before));
    if (c.attest)
        verify_certification("store key opened twice", &c, iak, nonce, sizeof(nonce), NULL);
    devid_certification_clear(&c);
    before = devid_tpm_command_count();
    devid_key_free(target); /* hands the loaded object back: no flush */
    CHECK_RC(devid_key_sign(signer, DEVID_SIG_ECDSA, NID_sha256, digest, 32, sig, &siglen),
             DEVID_OK);
    CHECK(devid_tpm_command_count() - before == 1, "free + sign: %llu TPM commands (want 1)",
          (unsigned long long)(devid_tpm_command_count() - before));
    devid_key_free(signer);
    CHECK_RC(devid_store_delete(uid, DEVID_STORE_KEY), DEVID_OK);
}

/* TPM2_ActivateCredential: a secret wrapped for this EK and the IAK's name comes back;
 * wrapped for another name (a key that is not this IAK), it does not. */
static void test_activate_credential(void)
{
    devid_key *iak = the_iak(), *idevid = the_idevid();
    uint64_t before;
    devid_key *ek = NULL;
    char dir[] = "/tmp/devid-iak-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "temp dir");
    CHECK_RC(devid_key_open_persistent(0x81010001, &ek), DEVID_OK);
    const unsigned char *iak_name = NULL, *idevid_name = NULL;
    size_t iak_name_len = 0, idevid_name_len = 0;
    CHECK_RC(devid_key_get_name(iak, &iak_name, &iak_name_len), DEVID_OK);
    CHECK_RC(devid_key_get_name(idevid, &idevid_name, &idevid_name_len), DEVID_OK);
    unsigned char blob[1024], enc[1024], got[DEVID_CREDENTIAL_MAX];
    size_t blob_len = 0, enc_len = 0, got_len = 0;
    static const unsigned char wrapped[32] = "a secret for the IAK of this TPM";
    if (ek && iak_name && idevid_name) {
        CHECK(make_credential(dir, ek, iak_name, iak_name_len, wrapped, sizeof(wrapped), blob,
                              &blob_len, enc, &enc_len),
              "tpm2_makecredential");
        before = devid_tpm_command_count();
        CHECK_RC(devid_activate_credential(iak, ek, blob, blob_len, enc, enc_len, got, &got_len),
                 DEVID_OK);
        CHECK(got_len == sizeof(wrapped) && memcmp(got, wrapped, got_len) == 0,
              "the wrapped secret comes back");
        printf("TPM2_ActivateCredential with the EK's policy session: %llu TPM commands\n",
               (unsigned long long)(devid_tpm_command_count() - before));
        CHECK_RC(devid_activate_credential(iak, ek, blob, blob_len, enc, enc_len, got, &got_len),
                 DEVID_OK); /* again: the policy session of the first was not left behind */

        CHECK(make_credential(dir, ek, idevid_name, idevid_name_len, wrapped, sizeof(wrapped), blob,
                              &blob_len, enc, &enc_len),
              "tpm2_makecredential");
        got_len = 99;
        devid_rc rc = devid_activate_credential(iak, ek, blob, blob_len, enc, enc_len, got,
                                                &got_len);
        CHECK(rc != DEVID_OK && got_len == 0, "a credential for another name is refused (%s: %s)",
              devid_rc_name(rc), devid_last_error());
        CHECK_RC(devid_activate_credential(idevid, ek, blob, blob_len, enc, enc_len, got, &got_len),
                 DEVID_ERR_KEY_USAGE);
        CHECK_RC(devid_activate_credential(iak, idevid, blob, blob_len, enc, enc_len, got,
                                           &got_len),
                 DEVID_ERR_KEY_USAGE);
        before = devid_tpm_command_count();
        CHECK_RC(devid_activate_credential(iak, ek, blob, blob_len - 1, enc, enc_len, got,
                                           &got_len),
                 DEVID_ERR_FORMAT);
        CHECK_RC(devid_activate_credential(iak, ek, blob, blob_len, enc, enc_len + 1, got,
                                           &got_len),
                 DEVID_ERR_FORMAT);
        CHECK(devid_tpm_command_count() == before, "malformed credentials never reach the TPM");
    }
    char rm[600];
    snprintf(rm, sizeof(rm), "rm -rf %s", dir);
    CHECK(system(rm) == 0, "cleanup");
    devid_key_free(ek);
}

/* The RSA option: a 2048-bit IAK certifying the IDevID, RSASSA-SHA256. */
static void test_rsa_iak(void)
{
    devid_key *idevid = the_idevid();
    unsigned char nonce[32];
    fill_nonce(nonce);
    devid_certification c;
    devid_provision_spec rsa_iak_spec = { .handle = 0x81020011,
                                          .hierarchy = DEVID_HIER_ENDORSEMENT,
                                          .type = DEVID_KEY_RSA,
                                          .bits = 2048,
                                          .tmpl = DEVID_TEMPLATE_IAK };
    devid_key *rsa_iak = NULL;
    CHECK_RC(devid_provision_key(&rsa_iak_spec, &rsa_iak), DEVID_OK);
    if (rsa_iak) {
        CHECK(devid_key_get_bits(rsa_iak) == 2048, "RSA IAK is 2048 bits");
        CHECK_RC(devid_certify(rsa_iak, idevid, nonce, 16, &c), DEVID_OK);
        if (c.attest)
            verify_certification("IDevID by RSA IAK", &c, rsa_iak, nonce, 16, NULL);
        devid_certification_clear(&c);
    }
    devid_key_free(rsa_iak);
}

int main(int argc, char **argv)
{
    devid_test_fixture(setup, teardown);
    devid_test(test_squatter, "/iak/squatter");
    devid_test(test_create, "/iak/create");
    devid_test(test_restricted, "/iak/restricted");
    devid_test(test_idevid_sign, "/iak/idevid-sign");
    devid_test(test_certify_idevid, "/iak/certify/idevid");
    devid_test(test_certify_self, "/iak/certify/self");
    devid_test(test_certify_refusals, "/iak/certify/refusals");
    devid_test(test_certify_store_keys, "/iak/certify/store-keys");
    devid_test(test_certify_store_key_open_twice, "/iak/certify/store-key-open-twice");
    devid_test(test_activate_credential, "/iak/activate-credential");
    devid_test(test_rsa_iak, "/iak/rsa-iak");
    return devid_test_run("iak", argc, argv);
}
