/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper (never part of the product): TPM2_Certify of the persistent key HANDLE by the
 * IAK with any qualifying data, the way devid_certify does it for a request, written as the
 * three files a request's evidence carries: DIR/attest.bin (TPMS_ATTEST), DIR/sig.bin
 * (TPMT_SIGNATURE), DIR/public.bin (TPMT_PUBLIC). tpm2_certify (tpm2-tools 5.4) takes no
 * qualifying data, so the refusal tests of tests/enroll/attested.sh make their evidence here.
 * usage: certify-key HANDLE QUALIFYING_HEX DIR */
#include "devid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int write_file(const char *dir, const char *name, const unsigned char *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(data, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = 0;
    return ok;
}

int main(int argc, char **argv)
{
    unsigned char q[DEVID_CERTIFY_QUALIFYING_MAX];
    size_t qlen = 0;
    if (argc != 4 || strlen(argv[2]) % 2 || strlen(argv[2]) / 2 > sizeof(q)) {
        fprintf(stderr, "usage: certify-key HANDLE QUALIFYING_HEX DIR\n");
        return 2;
    }
    for (const char *p = argv[2]; *p; p += 2) {
        unsigned v;
        if (sscanf(p, "%2x", &v) != 1)
            return 2;
        q[qlen++] = (unsigned char)v;
    }
    if (devid_core_init() != DEVID_OK)
        return 1;
    devid_key *key = NULL, *iak = NULL;
    devid_certification c = { 0 };
    devid_rc rc = devid_key_open_persistent((uint32_t)strtoul(argv[1], NULL, 0), &key);
    if (rc == DEVID_OK)
        rc = devid_key_open_persistent(devid_core_config()->map[DEVID_MAP_IAK].key_handle, &iak);
    if (rc == DEVID_OK)
        rc = devid_certify(iak, key, q, qlen, &c);
    if (rc == DEVID_OK && !(write_file(argv[3], "attest.bin", c.attest, c.attest_len) &&
                            write_file(argv[3], "sig.bin", c.signature, c.signature_len) &&
                            write_file(argv[3], "public.bin", c.public_area, c.public_len)))
        rc = DEVID_ERR_IO;
    if (rc != DEVID_OK)
        fprintf(stderr, "certify-key: %s\n", devid_last_error());
    devid_certification_clear(&c);
    devid_key_free(key);
    devid_key_free(iak);
    devid_core_fini();
    return rc == DEVID_OK ? 0 : 1;
}
