/* SPDX-License-Identifier: Apache-2.0 */
/* What this TPM can do (tpm_caps.h): key sizes and curves by TPM2_TestParms; its
 * dictionary-attack state by TPM2_GetCapability. */
#include "tpm_caps.h"
#include "tpm.h"

#include <pthread.h>
#include <string.h>

static const struct {
    devid_key_type type;
    unsigned bits;
    TPM2_ECC_CURVE curve;
} candidates[] = {
    { DEVID_KEY_RSA, 1024, 0 },
    { DEVID_KEY_RSA, 2048, 0 },
    { DEVID_KEY_RSA, 3072, 0 },
    { DEVID_KEY_RSA, 4096, 0 },
    { DEVID_KEY_EC, 256, TPM2_ECC_NIST_P256 },
    { DEVID_KEY_EC, 384, TPM2_ECC_NIST_P384 },
    { DEVID_KEY_EC, 521, TPM2_ECC_NIST_P521 },
};
#define N_CANDIDATES (sizeof(candidates) / sizeof(candidates[0]))

/* Asked once; guarded by its own mutex (the answers do not change while the TPM is the same). */
static struct {
    pthread_mutex_t lock;
    bool known;
    bool ok[N_CANDIDATES];
} caps = { .lock = PTHREAD_MUTEX_INITIALIZER };

static devid_rc test_parms_op(ESYS_CONTEXT *ctx, void *arg)
{
    bool *ok = arg;
    for (size_t i = 0; i < N_CANDIDATES; i++) {
        TPMT_PUBLIC_PARMS p;
        memset(&p, 0, sizeof(p));
        if (candidates[i].type == DEVID_KEY_RSA) {
            p.type = TPM2_ALG_RSA;
            p.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
            p.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
            p.parameters.rsaDetail.keyBits = (TPMI_RSA_KEY_BITS)candidates[i].bits;
        } else {
            p.type = TPM2_ALG_ECC;
            p.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
            p.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
            p.parameters.eccDetail.curveID = candidates[i].curve;
            p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
        }
        TSS2_RC rc = DEVID_ESYS_RAW(Esys_TestParms, ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                    &p);
        /* A TPM error that is no warning (format one, or format zero without the warning
         * bit) is the TPM's "not supported"; anything else (busy, connection) is an error. */
        bool refused = (rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER &&
                       ((rc & TPM2_RC_FMT1) || !(rc & TPM2_RC_WARN));
        if (rc != TSS2_RC_SUCCESS && !refused)
            return devid_tpm_result_locked(rc, "TPM2_TestParms");
        ok[i] = rc == TSS2_RC_SUCCESS;
    }
    return DEVID_OK;
}

static devid_rc known(void)
{
    pthread_mutex_lock(&caps.lock);
    devid_rc rc = DEVID_OK;
    if (!caps.known) {
        bool ok[N_CANDIDATES] = { false };
        rc = devid_tpm_run(test_parms_op, ok);
        if (rc == DEVID_OK) {
            memcpy(caps.ok, ok, sizeof(ok));
            caps.known = true;
        }
    }
    pthread_mutex_unlock(&caps.lock);
    return rc;
}

devid_rc devid_tpm_key_sizes(devid_key_type type, unsigned *min_bits, unsigned *max_bits)
{
    devid_rc rc = known();
    if (rc != DEVID_OK)
        return rc;
    unsigned lo = 0, hi = 0;
    for (size_t i = 0; i < N_CANDIDATES; i++) {
        if (candidates[i].type != type || !caps.ok[i])
            continue;
        if (!lo || candidates[i].bits < lo)
            lo = candidates[i].bits;
        if (candidates[i].bits > hi)
            hi = candidates[i].bits;
    }
    if (!hi)
        return devid_fail(DEVID_ERR_UNSUPPORTED, "the TPM accepts no key of this type");
    *min_bits = lo;
    *max_bits = hi;
    return DEVID_OK;
}

devid_rc devid_tpm_key_size_ok(devid_key_type type, unsigned bits, bool *ok)
{
    devid_rc rc = known();
    if (rc != DEVID_OK)
        return rc;
    *ok = false;
    for (size_t i = 0; i < N_CANDIDATES; i++)
        if (candidates[i].type == type && candidates[i].bits == bits)
            *ok = caps.ok[i];
    return DEVID_OK;
}

_Static_assert(TPM2_PT_MAX_AUTH_FAIL == TPM2_PT_LOCKOUT_COUNTER + 1 &&
                   TPM2_PT_LOCKOUT_INTERVAL == TPM2_PT_LOCKOUT_COUNTER + 2 &&
                   TPM2_PT_LOCKOUT_RECOVERY == TPM2_PT_LOCKOUT_COUNTER + 3,
               "the lockout properties are read as one range");

static devid_rc lockout_op(ESYS_CONTEXT *ctx, void *arg)
{
    devid_lockout_state *st = arg;
    UINT32 v[4] = { 0 };
    unsigned seen = 0;
    devid_rc rc = devid_tpm_properties(ctx, "reading the TPM's lockout state",
                                       TPM2_PT_LOCKOUT_COUNTER, 4, v, &seen);
    if (rc != DEVID_OK)
        return rc;
    if (seen != 15)
        return devid_fail(DEVID_ERR_TPM, "the TPM did not report its lockout state");
    st->counter = v[0];
    st->max_tries = v[1];
    st->interval = v[2];
    st->recovery = v[3];
    return DEVID_OK;
}

devid_rc devid_tpm_lockout_state(devid_lockout_state *out)
{
    devid_lockout_state st;
    memset(&st, 0, sizeof(st));
    devid_rc rc = devid_tpm_run(lockout_op, &st);
    if (rc == DEVID_OK)
        *out = st;
    return rc;
}
