/* SPDX-License-Identifier: Apache-2.0 */
/* Digest mechanisms (software: OpenSSL), and the digest lookups the signature mechanisms
 * share. */
#include "p11.h"

#include <openssl/objects.h>

/* clang-format off */ /* braced lists in macros: clang-format 14 and 19 lay them out differently */
#define DIGEST(ck, nid, nm) \
    { .type = ck, .name = nm, .key_type = P11_KEY_NONE, .flags = CKF_DIGEST, .hash_nid = nid }
/* clang-format on */

const p11_mech p11_mech_digest[] = {
    DIGEST(CKM_SHA_1, NID_sha1, "SHA-1"),     DIGEST(CKM_SHA224, NID_sha224, "SHA224"),
    DIGEST(CKM_SHA256, NID_sha256, "SHA256"), DIGEST(CKM_SHA384, NID_sha384, "SHA384"),
    DIGEST(CKM_SHA512, NID_sha512, "SHA512"),
};
const size_t p11_mech_digest_count = sizeof(p11_mech_digest) / sizeof(p11_mech_digest[0]);

static const struct {
    int nid;
    CK_MECHANISM_TYPE mech;
    CK_RSA_PKCS_MGF_TYPE mgf;
} hashes[] = {
    { NID_sha1, CKM_SHA_1, CKG_MGF1_SHA1 },      { NID_sha224, CKM_SHA224, CKG_MGF1_SHA224 },
    { NID_sha256, CKM_SHA256, CKG_MGF1_SHA256 }, { NID_sha384, CKM_SHA384, CKG_MGF1_SHA384 },
    { NID_sha512, CKM_SHA512, CKG_MGF1_SHA512 },
};
#define N_HASHES (sizeof(hashes) / sizeof(hashes[0]))

static EVP_MD *cache[N_HASHES];

int p11_md_nid(CK_MECHANISM_TYPE hash_mech)
{
    for (size_t i = 0; i < N_HASHES; i++)
        if (hashes[i].mech == hash_mech)
            return hashes[i].nid;
    return 0;
}

int p11_mgf_nid(CK_RSA_PKCS_MGF_TYPE mgf)
{
    for (size_t i = 0; i < N_HASHES; i++)
        if (hashes[i].mgf == mgf)
            return hashes[i].nid;
    return 0;
}

const EVP_MD *p11_md_get(int nid)
{
    for (size_t i = 0; i < N_HASHES; i++) {
        if (hashes[i].nid != nid)
            continue;
        if (!cache[i])
            cache[i] = EVP_MD_fetch(NULL, OBJ_nid2sn(nid), P11_SW_PROPQ);
        return cache[i];
    }
    return NULL;
}

size_t p11_md_size(int nid)
{
    const EVP_MD *md = p11_md_get(nid);
    return md ? (size_t)EVP_MD_get_size(md) : 0;
}

void p11_md_cache_free(void)
{
    for (size_t i = 0; i < N_HASHES; i++) {
        EVP_MD_free(cache[i]);
        cache[i] = NULL;
    }
}
