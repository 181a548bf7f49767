/* SPDX-License-Identifier: Apache-2.0 */
/* What the TCG device identity templates' authPolicy costs, measured with ESAPI alone on the
 * ek-only fixture (no devid code: this checks the reasoning behind devid's templates).
 *
 * The specification's IDevID/IAK templates set userWithAuth and adminWithPolicy with a
 * PolicyOR authPolicy. userWithAuth keeps the USER role (TPM2_Sign) on the auth value:
 * a signature stays one command with a password session. adminWithPolicy moves the ADMIN
 * role (TPM2_Certify of the key, TPM2_ActivateCredential) to a policy session: this test
 * shows the password is then refused, and measures what a policy session per use costs
 * (with a policy it can satisfy: PolicyCommandCode(TPM2_CC_Certify)). */
#include "devid_test.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

/* The specification's SHA-256 authPolicy of the IDevID template (published digest) */
static const unsigned char spec_idevid_policy[32] = {
    0xad, 0x6b, 0x3a, 0x22, 0x84, 0xfd, 0x69, 0x8a, 0x07, 0x10, 0xbf, 0x5c, 0xc1, 0xb9, 0xbd, 0xf1,
    0x5e, 0x25, 0x32, 0xe3, 0xf6, 0x01, 0xfa, 0x4b, 0x93, 0xa6, 0xa8, 0xfa, 0x8d, 0xe5, 0x79, 0xea,
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static TPM2B_PUBLIC ecc_template(bool restricted, bool admin_policy, const unsigned char *policy)
{
    TPM2B_PUBLIC t = { 0 };
    TPMT_PUBLIC *p = &t.publicArea;
    p->type = TPM2_ALG_ECC;
    p->nameAlg = TPM2_ALG_SHA256;
    p->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                          TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                          TPMA_OBJECT_SIGN_ENCRYPT | (restricted ? TPMA_OBJECT_RESTRICTED : 0) |
                          (admin_policy ? TPMA_OBJECT_ADMINWITHPOLICY : 0);
    if (policy) {
        p->authPolicy.size = 32;
        memcpy(p->authPolicy.buffer, policy, 32);
    }
    TPMS_ECC_PARMS *e = &p->parameters.eccDetail;
    e->symmetric.algorithm = TPM2_ALG_NULL;
    e->kdf.scheme = TPM2_ALG_NULL;
    e->curveID = TPM2_ECC_NIST_P256;
    e->scheme.scheme = restricted ? TPM2_ALG_ECDSA : TPM2_ALG_NULL;
    e->scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
    p->unique.ecc.x.size = restricted ? 3 : 6; /* distinct primaries */
    p->unique.ecc.y.size = p->unique.ecc.x.size;
    memcpy(p->unique.ecc.x.buffer, restricted ? "IAK" : "IDEVID", p->unique.ecc.x.size);
    memcpy(p->unique.ecc.y.buffer, restricted ? "IAK" : "IDEVID", p->unique.ecc.x.size);
    return t;
}

static TSS2_RC primary(ESYS_CONTEXT *ctx, TPM2B_PUBLIC *t, ESYS_TR *out)
{
    TPM2B_SENSITIVE_CREATE s = { 0 };
    TPM2B_DATA outside = { 0 };
    TPML_PCR_SELECTION pcrs = { 0 };
    return Esys_CreatePrimary(ctx, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                              ESYS_TR_NONE, &s, t, &outside, &pcrs, out, NULL, NULL, NULL, NULL);
}

static TSS2_RC certify(ESYS_CONTEXT *ctx, ESYS_TR obj, ESYS_TR obj_session, ESYS_TR iak)
{
    TPM2B_DATA q = { .size = 8 };
    TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_NULL };
    TPM2B_ATTEST *a = NULL;
    TPMT_SIGNATURE *sig = NULL;
    TSS2_RC rc = Esys_Certify(ctx, obj, iak, obj_session, ESYS_TR_PASSWORD, ESYS_TR_NONE, &q,
                              &scheme, &a, &sig);
    Esys_Free(a);
    Esys_Free(sig);
    return rc;
}

/* One ESAPI connection and one IAK (the certifier) shared by the cases. */
static TSS2_TCTI_CONTEXT *tcti;
static ESYS_CONTEXT *ctx;
static ESYS_TR iak = ESYS_TR_NONE;
enum { N = 50 };

static int setup(void)
{
    const char *tcti_conf = getenv("DEVID_TCTI");
    if (!tcti_conf || Tss2_TctiLdr_Initialize(tcti_conf, &tcti) != 0 ||
        Esys_Initialize(&ctx, tcti, NULL) != 0) {
        fprintf(stderr, "no TPM (DEVID_TCTI)\n");
        return 1;
    }
    TPM2B_PUBLIC t = ecc_template(true, false, NULL);
    CHECK(primary(ctx, &t, &iak) == 0, "an IAK");
    return 0;
}

static void teardown(void)
{
    Esys_FlushContext(ctx, iak);
    Esys_Finalize(&ctx);
    Tss2_TctiLdr_Finalize(&tcti);
}

static void test_spec_idevid(void)
{
    /* the specification's IDevID shape: adminWithPolicy, its published authPolicy */
    TPM2B_PUBLIC t = ecc_template(false, true, spec_idevid_policy);
    ESYS_TR idevid = ESYS_TR_NONE;
    CHECK(primary(ctx, &t, &idevid) == 0, "IDevID with the specification's authPolicy");

    TPM2B_DIGEST digest = { .size = 32 };
    TPMT_SIG_SCHEME ecdsa = { .scheme = TPM2_ALG_ECDSA, .details.ecdsa.hashAlg = TPM2_ALG_SHA256 };
    TPMT_TK_HASHCHECK ticket = { .tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL };
    int ok = 0;
    double t0 = now_ms();
    for (int i = 0; i < N; i++) {
        TPMT_SIGNATURE *sig = NULL;
        ok += Esys_Sign(ctx, idevid, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &digest, &ecdsa,
                        &ticket, &sig) == 0;
        Esys_Free(sig);
    }
    double t1 = now_ms();
    CHECK(ok == N, "USER role: TPM2_Sign with a password session (%d of %d)", ok, N);
    printf("spec IDevID template: TPM2_Sign, password session: %.2f ms per signature\n",
           (t1 - t0) / N);
    TSS2_RC rc = certify(ctx, idevid, ESYS_TR_PASSWORD, iak);
    CHECK((rc & 0xFFFF) == TPM2_RC_AUTH_TYPE,
          "ADMIN role refuses the password: TPM_RC_AUTH_TYPE (TPM2_Certify: 0x%x)", rc);
    Esys_FlushContext(ctx, idevid); /* swtpm has three transient object slots */
}

static void test_certify_policy_session(void)
{
    /* a policy session per use, with a policy this test can satisfy */
    ESYS_TR polkey = ESYS_TR_NONE;
    TSS2_RC rc = 1;
    int ok = 0;
    unsigned char pol[32], buf[32 + 8] = { 0 };
    unsigned int len = 0;
    buf[32 + 2] = 0x01, buf[32 + 3] = 0x6C; /* TPM2_CC_PolicyCommandCode */
    buf[32 + 6] = 0x01, buf[32 + 7] = 0x48; /* TPM2_CC_Certify */
    EVP_Digest(buf, sizeof(buf), pol, &len, EVP_sha256(), NULL);
    TPM2B_PUBLIC t = ecc_template(false, true, pol);
    t.publicArea.unique.ecc.x.buffer[0] = 'P'; /* yet another primary */
    CHECK(primary(ctx, &t, &polkey) == 0, "key with PolicyCommandCode(Certify)");
    double t0 = now_ms();
    for (int i = 0; i < N; i++) {
        ESYS_TR s = ESYS_TR_NONE;
        TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_NULL };
        ok = Esys_StartAuthSession(ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                   ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256,
                                   &s) == 0 &&
             Esys_PolicyCommandCode(ctx, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                    TPM2_CC_Certify) == 0;
        if (ok)
            Esys_TRSess_SetAttributes(ctx, s, 0, TPMA_SESSION_CONTINUESESSION);
        rc = ok ? certify(ctx, polkey, s, iak) : 1;
        if (!ok || rc != 0) {
            Esys_FlushContext(ctx, s);
            break;
        }
    }
    double t1 = now_ms();
    CHECK(rc == 0, "ADMIN role with a policy session (0x%x)", rc);
    printf("TPM2_Certify: %.2f ms with a policy session started per use (3 commands)\n",
           (t1 - t0) / N);
    Esys_FlushContext(ctx, polkey);
}

/* TPM2_Certify of a key without a policy: one command with a password session. */
static void test_certify_password(void)
{
    TPM2B_PUBLIC t = ecc_template(false, false, NULL);
    t.publicArea.unique.ecc.x.buffer[0] = 'Q';
    ESYS_TR plain = ESYS_TR_NONE;
    CHECK(primary(ctx, &t, &plain) == 0, "key without policy");
    TSS2_RC rc = 0;
    double t0 = now_ms();
    for (int i = 0; i < N; i++)
        rc |= certify(ctx, plain, ESYS_TR_PASSWORD, iak);
    double t1 = now_ms();
    CHECK(rc == 0, "TPM2_Certify with a password session (0x%x)", rc);
    printf("TPM2_Certify: %.2f ms with a password session (1 command)\n", (t1 - t0) / N);
    Esys_FlushContext(ctx, plain);
}

int main(int argc, char **argv)
{
    devid_test_fixture(setup, teardown);
    devid_test(test_spec_idevid, "/tcg-policy/spec-idevid");
    devid_test(test_certify_policy_session, "/tcg-policy/certify/policy-session");
    devid_test(test_certify_password, "/tcg-policy/certify/password");
    return devid_test_run("tcg-policy", argc, argv);
}
