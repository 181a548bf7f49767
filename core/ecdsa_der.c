/* SPDX-License-Identifier: Apache-2.0 */
/* r||s -> DER ECDSA-Sig-Value with OpenSSL's ECDSA_SIG (see ecdsa_der.h). */
#include "ecdsa_der.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>

size_t devid_ecdsa_der_max(size_t half)
{
    size_t content = 2 * (half + 3); /* two INTEGERs, each with a possible leading zero */
    return content + (content < 128 ? 2 : 3);
}

size_t devid_ecdsa_rs_to_der(const unsigned char *rs, size_t rslen, unsigned char *der,
                             size_t dersize)
{
    if (!rs || rslen == 0 || rslen % 2 || rslen > 2 * 256)
        return 0;
    int half = (int)(rslen / 2);
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs, half, NULL), *s = BN_bin2bn(rs + half, half, NULL);
    int len = -1;
    if (es && r && s && ECDSA_SIG_set0(es, r, s) == 1) {
        r = s = NULL; /* owned by es */
        len = i2d_ECDSA_SIG(es, NULL);
    }
    if (len > 0 && der) {
        unsigned char *p = der;
        if ((size_t)len > dersize || i2d_ECDSA_SIG(es, &p) != len)
            len = -1;
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return len > 0 ? (size_t)len : 0;
}
