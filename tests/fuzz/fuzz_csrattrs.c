/* SPDX-License-Identifier: Apache-2.0 */
/* est_parse_csrattrs (enroll/est_msg.h): the DER CsrAttrs an EST server returns from
 * /csrattrs. Properties: only DEVID_ERR_FORMAT as an error; accepted input gives wishes in
 * range (a known key type, a digest devid can use or none); parsing twice gives the same. */
#include "fuzz.h"

#include "est_msg.h"

#include <openssl/err.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    est_csr_wishes w, again;
    devid_rc rc = est_parse_csrattrs(data, size, &w);
    if (rc != DEVID_OK) {
        FUZZ_ASSERT(rc == DEVID_ERR_FORMAT, "rc %s", devid_rc_name(rc));
        ERR_clear_error();
        return 0;
    }
    FUZZ_ASSERT(w.key_type == 0 || w.key_type == EVP_PKEY_EC || w.key_type == EVP_PKEY_RSA,
                "key type %d", w.key_type);
    FUZZ_ASSERT(w.rsa_bits >= 0 && w.rsa_bits <= 16384, "rsa bits %d", w.rsa_bits);
    FUZZ_ASSERT(w.ignored >= 0, "ignored %d", w.ignored);
    FUZZ_ASSERT(est_parse_csrattrs(data, size, &again) == DEVID_OK &&
                    memcmp(&w, &again, sizeof(w)) == 0,
                "parsing twice differs");
    ERR_clear_error();
    return 0;
}
