/* SPDX-License-Identifier: Apache-2.0 */
/* devid_credential_parse (core/attest.h): the credential a CA returns from
 * TPM2_MakeCredential (a TPM2B_ID_OBJECT and a TPM2B_ENCRYPTED_SECRET, marshalled), which
 * devid hands to TPM2_ActivateCredential.
 *
 * Input: two bytes (big-endian) giving the credential's length, the credential, then the
 * secret (the rest).
 * Properties: an accepted pair fills each buffer exactly and re-marshals to the same bytes,
 * neither part empty; a refused one is DEVID_ERR_FORMAT and leaves the outputs untouched. */
#include "fuzz.h"

#include "attest.h"

#include <string.h>
#include <tss2/tss2_mu.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t clen = (size_t)data[0] << 8 | data[1];
    if (clen > size - 2)
        clen = size - 2;
    const unsigned char *cred = data + 2, *sec = data + 2 + clen;
    size_t slen = size - 2 - clen;
    TPM2B_ID_OBJECT id, id_before;
    TPM2B_ENCRYPTED_SECRET es, es_before;
    memset(&id, 0xA5, sizeof(id));
    memset(&es, 0x5A, sizeof(es));
    id_before = id;
    es_before = es;
    devid_rc rc = devid_credential_parse(cred, clen, sec, slen, &id, &es);
    if (rc != DEVID_OK) {
        FUZZ_ASSERT(rc == DEVID_ERR_FORMAT, "rc %s", devid_rc_name(rc));
        FUZZ_ASSERT(memcmp(&id, &id_before, sizeof(id)) == 0 &&
                        memcmp(&es, &es_before, sizeof(es)) == 0,
                    "outputs changed on a refusal");
        return 0;
    }
    FUZZ_ASSERT(id.size > 0 && es.size > 0, "an empty part accepted");
    unsigned char buf[sizeof(TPM2B_ID_OBJECT) + sizeof(TPM2B_ENCRYPTED_SECRET)];
    size_t off = 0;
    FUZZ_ASSERT(Tss2_MU_TPM2B_ID_OBJECT_Marshal(&id, buf, sizeof(buf), &off) == 0 && off == clen &&
                    memcmp(buf, cred, clen) == 0,
                "the credential re-marshals differently");
    off = 0;
    FUZZ_ASSERT(Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(&es, buf, sizeof(buf), &off) == 0 &&
                    off == slen && memcmp(buf, sec, slen) == 0,
                "the secret re-marshals differently");
    /* both NULL outputs: same verdict */
    FUZZ_ASSERT(devid_credential_parse(cred, clen, sec, slen, NULL, NULL) == DEVID_OK,
                "verdict depends on the outputs");
    return 0;
}
