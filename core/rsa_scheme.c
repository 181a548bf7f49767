/* SPDX-License-Identifier: Apache-2.0 */
/* TPM limits on RSA padding schemes (see rsa_scheme.h). */
#include "rsa_scheme.h"

#include <openssl/evp.h>
#include <openssl/objects.h>

#ifndef RSA_PSS_SALTLEN_AUTO_DIGEST_MAX /* OpenSSL < 3.1 */
#define RSA_PSS_SALTLEN_AUTO_DIGEST_MAX -4
#endif

static const char *md_name(int nid)
{
    const char *sn = OBJ_nid2sn(nid);
    return sn ? sn : "unknown";
}

devid_rc devid_rsa_check_pss(int md_nid, int mgf1_nid, int salt_len)
{
    const EVP_MD *md = md_nid != NID_undef ? EVP_get_digestbynid(md_nid) : NULL;
    if (!md)
        return devid_fail(DEVID_ERR_ARG, "PSS needs a digest");
    int mdsize = EVP_MD_get_size(md);
    if (salt_len != RSA_PSS_SALTLEN_DIGEST && salt_len != RSA_PSS_SALTLEN_AUTO &&
        salt_len != RSA_PSS_SALTLEN_AUTO_DIGEST_MAX && salt_len != mdsize)
        return devid_fail(DEVID_ERR_UNSUPPORTED,
                          "TPM keys sign PSS with salt length = digest length (%d), not %d", mdsize,
                          salt_len);
    if (mgf1_nid != md_nid)
        return devid_fail(DEVID_ERR_UNSUPPORTED,
                          "TPM keys use MGF1 with the signature digest (%s), not %s",
                          md_name(md_nid), md_name(mgf1_nid));
    return DEVID_OK;
}

devid_rc devid_rsa_check_oaep(int md_nid, int mgf1_nid, size_t label_len)
{
    if (label_len)
        return devid_fail(DEVID_ERR_UNSUPPORTED, "OAEP labels are not supported by TPM decryption");
    if (md_nid == NID_undef || !EVP_get_digestbynid(md_nid))
        return devid_fail(DEVID_ERR_UNSUPPORTED, "OAEP digest %s", md_name(md_nid));
    if (mgf1_nid != md_nid)
        return devid_fail(DEVID_ERR_UNSUPPORTED,
                          "TPM OAEP uses MGF1 with the OAEP digest (%s), not %s", md_name(md_nid),
                          md_name(mgf1_nid));
    return DEVID_OK;
}
