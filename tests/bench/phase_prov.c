/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSL 3 providers: the key comes from OSSL_STORE, as openssl(1), curl or a TLS stack
 * would load it, in a library context holding the TPM provider and the default provider.
 *
 *  sign         EVP_PKEY_sign over a SHA-256 digest (new EVP_PKEY_CTX per signature)
 *  digest-sign  EVP_DigestSign (SHA-256) over a 64-byte message, new EVP_MD_CTX per signature:
 *               the call TLS 1.3 makes for CertificateVerify
 *
 * "devid": build/ossl-provider/devid.so (DEVID_BENCH_PROVIDER_DIR), devid:object=LDevID.
 * "tpm2":  Debian's tpm2-openssl, handle:0x81000002, TCTI from TPM2OPENSSL_TCTI.
 */
#include "bench.h"
#include "tpm.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef DEVID_BENCH_PROVIDER_DIR_DEFAULT
#define DEVID_BENCH_PROVIDER_DIR_DEFAULT "build/ossl-provider"
#endif

static int sign_op(void *arg, bench_op_io *io, char *err, size_t errlen)
{
    prov_ctx *p = arg;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(p->lib, p->key, NULL);
    size_t len = 160;
    int ok = ctx && EVP_PKEY_sign_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
             EVP_PKEY_sign(ctx, io->sig, &len, io->dgst, 32) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        bench_ossl_err(err, errlen, "EVP_PKEY_sign");
        return -1;
    }
    io->sig_len = len;
    return 0;
}

static int digest_sign_op(void *arg, bench_op_io *io, char *err, size_t errlen)
{
    prov_ctx *p = arg;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t len = 160;
    int ok = md && EVP_DigestSignInit_ex(md, NULL, "SHA256", p->lib, NULL, p->key, NULL) == 1 &&
             EVP_DigestSign(md, io->sig, &len, io->msg, io->msg_len) == 1;
    EVP_MD_CTX_free(md);
    if (!ok) {
        bench_ossl_err(err, errlen, "EVP_DigestSign");
        return -1;
    }
    io->sig_len = len;
    return 0;
}

static double core_count(void)
{
    return (double)devid_tpm_command_count();
}

/* Library context with the TPM provider + default, and the key from OSSL_STORE.
 * 0 ok, 1 skipped, -1 failed (note says why). */
int bench_prov_open(const char *which, prov_ctx *p, char *note, size_t notelen)
{
    memset(p, 0, sizeof(*p));
    const char *uri, *name;
    p->lib = OSSL_LIB_CTX_new();
    if (!p->lib) {
        snprintf(note, notelen, "OSSL_LIB_CTX_new failed");
        return -1;
    }
    if (!strcmp(which, "devid")) {
        const char *dir = bench_env("DEVID_BENCH_PROVIDER_DIR", DEVID_BENCH_PROVIDER_DIR_DEFAULT);
        char path[4096];
        snprintf(path, sizeof(path), "%s/devid.so", dir);
        if (access(path, R_OK)) {
            snprintf(note, notelen, "not built yet (no %s)", path);
            return 1;
        }
        OSSL_PROVIDER_set_default_search_path(p->lib, dir);
        name = "devid";
        uri = bench_env("DEVID_BENCH_PROVIDER_URI", "devid:object=LDevID");
    } else {
        name = "tpm2";
        uri = bench_env("DEVID_BENCH_TPM2_URI", "handle:0x81000002");
    }
    p->tpm = OSSL_PROVIDER_load(p->lib, name);
    if (!p->tpm) {
        bench_ossl_err(note, notelen, name);
        return strcmp(which, "tpm2") ? -1 : 1; /* tpm2-openssl not installed: skip */
    }
    p->dflt = OSSL_PROVIDER_load(p->lib, "default");
    OSSL_STORE_CTX *sc = OSSL_STORE_open_ex(uri, p->lib, NULL, NULL, NULL, NULL, NULL, NULL);
    if (!sc) {
        bench_ossl_err(note, notelen, uri);
        return -1;
    }
    OSSL_STORE_expect(sc, OSSL_STORE_INFO_PKEY);
    while (!p->key && !OSSL_STORE_eof(sc)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(sc);
        if (info && OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
            p->key = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
        if (!info && OSSL_STORE_error(sc))
            break;
    }
    OSSL_STORE_close(sc);
    if (!p->key) {
        bench_ossl_err(note, notelen, uri);
        return -1;
    }
    ERR_clear_error();
    return 0;
}

void bench_prov_close(prov_ctx *p)
{
    EVP_PKEY_free(p->key);
    if (p->tpm)
        OSSL_PROVIDER_unload(p->tpm);
    if (p->dflt)
        OSSL_PROVIDER_unload(p->dflt);
    OSSL_LIB_CTX_free(p->lib);
    memset(p, 0, sizeof(*p));
}

void phase_prov(bench_result *r, const bench_opts *o, const char *which, bool digest_sign)
{
    char note[320];
    prov_ctx p;
    void *pub = bench_ldevid_pub(note, sizeof(note));
    if (!pub) {
        bench_fail(r, "%s", note);
        return;
    }
    int rc = bench_prov_open(which, &p, note, sizeof(note));
    if (rc > 0)
        bench_skip(r, "%s", note);
    else if (rc < 0)
        bench_fail(r, "%s", note);
    else
        bench_loop(r, o, digest_sign ? digest_sign_op : sign_op, &p, SIG_DER, pub,
                   !strcmp(which, "devid") ? core_count : NULL);
    bench_prov_close(&p);
    EVP_PKEY_free(pub);
}
