/* SPDX-License-Identifier: Apache-2.0 */
/* The RSA padding schemes a TPM key can use, checked here once for every front-end.
 *
 * A TPM signs PSS with salt length = digest length and MGF1 over the signature hash (what
 * TLS 1.3 uses); it decrypts OAEP with MGF1 over the OAEP hash, and hashes an OAEP label with
 * a terminating zero byte (TPM 2.0 Part 1, B.4) that other implementations omit, so labelled
 * ciphertexts never decrypt. Other choices are refused (DEVID_ERR_UNSUPPORTED, or
 * DEVID_ERR_ARG for a missing digest) rather than silently changed; front-ends translate the
 * result into their own error codes. */
#ifndef DEVID_RSA_SCHEME_H
#define DEVID_RSA_SCHEME_H

#include "error.h"

#include <openssl/rsa.h>
#include <stddef.h>

/* PSS over digest md_nid with MGF1 over mgf1_nid. salt_len is in bytes, or OpenSSL's
 * RSA_PSS_SALTLEN_DIGEST / RSA_PSS_SALTLEN_AUTO, which both mean the digest length here. */
devid_rc devid_rsa_check_pss(int md_nid, int mgf1_nid, int salt_len);

/* OAEP decryption with hash md_nid, MGF1 over mgf1_nid and a label of label_len bytes. (Which
 * hashes the TPM has is checked when it decrypts.) */
devid_rc devid_rsa_check_oaep(int md_nid, int mgf1_nid, size_t label_len);

#endif
