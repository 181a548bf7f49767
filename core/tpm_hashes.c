/* SPDX-License-Identifier: Apache-2.0 */
/* Which hash algorithms this TPM implements (tpm_caps.h): one TPM2_GetCapability(TPM_CAP_ALGS),
 * asked the first time a hash other than SHA-256 matters, then remembered. */
#include "tpm_caps.h"
#include "tpm.h"
#include "tpm_pub.h"

#include <pthread.h>

/* Bits for the hashes devid signs with; others are never asked about. */
static const TPM2_ALG_ID asked[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384,
                                     TPM2_ALG_SHA512 };
#define N_ASKED (sizeof(asked) / sizeof(asked[0]))

static struct {
    pthread_mutex_t lock;
    bool known;
    unsigned implemented; /* bit i: asked[i] */
} hashes = { .lock = PTHREAD_MUTEX_INITIALIZER };

static devid_rc algs_op(ESYS_CONTEXT *ctx, void *arg)
{
    unsigned *bits = arg;
    TPMI_YES_NO more = 1;
    TPM2_ALG_ID next = TPM2_ALG_FIRST;
    /* One command on every TPM seen so far; `more` is followed in case a TPM pages it. */
    for (int round = 0; more && round < 8; round++) {
        TPMS_CAPABILITY_DATA *cap = NULL;
        devid_rc rc = DEVID_ESYS("reading the TPM's algorithms", Esys_GetCapability, ctx,
                                 ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_ALGS, next,
                                 TPM2_MAX_CAP_ALGS, &more, &cap);
        if (rc != DEVID_OK)
            return rc;
        const TPML_ALG_PROPERTY *l = &cap->data.algorithms;
        for (UINT32 i = 0; i < l->count; i++) {
            for (size_t j = 0; j < N_ASKED; j++)
                if (l->algProperties[i].alg == asked[j] &&
                    (l->algProperties[i].algProperties & TPMA_ALGORITHM_HASH))
                    *bits |= 1u << j;
            next = (TPM2_ALG_ID)(l->algProperties[i].alg + 1);
        }
        if (l->count == 0)
            more = 0;
        Esys_Free(cap);
    }
    return DEVID_OK;
}

devid_rc devid_tpm_hash_implemented(int md_nid, bool *ok)
{
    TPM2_ALG_ID alg = devid_tpm_hash_from_nid(md_nid);
    *ok = false;
    if (alg == TPM2_ALG_ERROR)
        return DEVID_OK;
    /* Every TPM 2.0 implements SHA-256 (and devid's objects are named with it): not asked, so
     * the common signature costs no extra command. */
    if (alg == TPM2_ALG_SHA256) {
        *ok = true;
        return DEVID_OK;
    }
    size_t idx = N_ASKED;
    for (size_t j = 0; j < N_ASKED; j++)
        if (asked[j] == alg)
            idx = j;
    if (idx == N_ASKED)
        return DEVID_OK;
    pthread_mutex_lock(&hashes.lock);
    devid_rc rc = DEVID_OK;
    if (!hashes.known) {
        unsigned bits = 0;
        rc = devid_tpm_run(algs_op, &bits);
        if (rc == DEVID_OK) {
            hashes.implemented = bits;
            hashes.known = true;
        }
    }
    if (rc == DEVID_OK)
        *ok = (hashes.implemented >> idx) & 1u;
    pthread_mutex_unlock(&hashes.lock);
    return rc;
}
