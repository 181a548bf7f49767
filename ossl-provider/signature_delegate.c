/* SPDX-License-Identifier: Apache-2.0 */
/* SIGNATURE done by the default provider: the delegated path of signature.c. Verifying with
 * any key, and every operation on a soft key (provider.h), runs in a default-provider context
 * ("provider=default": never back into devid). */
#include "signature.h"

#include <openssl/evp.h>

/* digest-sign / digest-verify: an EVP_MD_CTX of the default provider does all of it. */
static int digest_init(sig_ctx *s, const char *mdname, const OSSL_PARAM params[])
{
    const char *md = mdname[0] ? mdname : NULL;
    s->dmd = EVP_MD_CTX_new();
    int ok = s->dmd != NULL;
    if (ok && s->op == EVP_PKEY_OP_SIGN)
        ok = EVP_DigestSignInit_ex(s->dmd, &s->d, md, NULL, DP_SW_PROPQ, s->key->pub, params) == 1;
    else if (ok)
        ok = EVP_DigestVerifyInit_ex(s->dmd, &s->d, md, NULL, DP_SW_PROPQ, s->key->pub, params) ==
             1;
    if (!ok)
        dp_raise(s->ctx, DP_R_OPENSSL, "setting up a %s signature", dp_key_type_name(s->key->type));
    return ok;
}

int dp_sig_delegate_init(sig_ctx *s, const char *mdname, const OSSL_PARAM params[])
{
    if (mdname)
        return digest_init(s, mdname, params);
    s->d = EVP_PKEY_CTX_new_from_pkey(NULL, s->key->pub, DP_SW_PROPQ);
    int ok = s->d != NULL;
    if (ok && s->op == EVP_PKEY_OP_VERIFY)
        ok = EVP_PKEY_verify_init(s->d) == 1;
    else if (ok && s->op == EVP_PKEY_OP_SIGN)
        ok = EVP_PKEY_sign_init(s->d) == 1;
    else if (ok)
        ok = EVP_PKEY_verify_recover_init(s->d) == 1;
    if (!ok) {
        dp_raise(s->ctx, DP_R_OPENSSL, "setting up a %s signature", dp_key_type_name(s->key->type));
        return 0;
    }
    return dp_sig_set_params(s, params);
}
