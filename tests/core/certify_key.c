/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper (never part of the product): TPM2_Certify of the persistent key HANDLE by the
 * IAK at its DevID map handle, with any qualifying data, the way devid_certify does it for a
 * request. Prints the size of the TPMS_ATTEST and the TPM commands it took (the hierarchy-auth
 * tests check that no hierarchy value is needed); with DIR, also writes the three files a
 * request's evidence carries: DIR/attest.bin (TPMS_ATTEST), DIR/sig.bin (TPMT_SIGNATURE),
 * DIR/public.bin (TPMT_PUBLIC). tpm2_certify (tpm2-tools 5.4) takes no qualifying data, so the
 * refusal tests of tests/enroll/attested.sh make their evidence here.
 * usage: certify-key HANDLE QUALIFYING_HEX [DIR] */
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

static int write_evidence(const char *dir, const devid_certification *c)
{
    return write_file(dir, "attest.bin", c->attest, c->attest_len) &&
           write_file(dir, "sig.bin", c->signature, c->signature_len) &&
           write_file(dir, "public.bin", c->public_area, c->public_len);
}

/* QUALIFYING_HEX into Q (at most DEVID_CERTIFY_QUALIFYING_MAX bytes); 0 when it is not hex */
static int parse_hex(const char *hex, unsigned char *q, size_t *qlen)
{
    size_t n = strlen(hex);
    if (n % 2 || n / 2 > DEVID_CERTIFY_QUALIFYING_MAX || strspn(hex, "0123456789abcdefABCDEF") != n)
        return 0;
    for (*qlen = 0; *hex; hex += 2) {
        unsigned v;
        if (sscanf(hex, "%2x", &v) != 1)
            return 0;
        q[(*qlen)++] = (unsigned char)v;
    }
    return 1;
}

static devid_rc certify(uint32_t handle, const unsigned char *q, size_t qlen, const char *dir)
{
    devid_key *key = NULL, *iak = NULL;
    devid_certification c = { 0 };
    devid_rc rc = devid_key_open_persistent(handle, &key);
    if (rc == DEVID_OK)
        rc = devid_key_open_persistent(devid_core_config()->map[DEVID_MAP_IAK].key_handle, &iak);
    if (rc == DEVID_OK)
        rc = devid_certify(iak, key, q, qlen, &c);
    if (rc == DEVID_OK && dir && !write_evidence(dir, &c))
        rc = DEVID_ERR_IO;
    if (rc == DEVID_OK)
        printf("certified: %zu-byte TPMS_ATTEST, %llu TPM commands\n", c.attest_len,
               (unsigned long long)devid_tpm_command_count());
    devid_certification_clear(&c);
    devid_key_free(key);
    devid_key_free(iak);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned char q[DEVID_CERTIFY_QUALIFYING_MAX];
    size_t qlen = 0;
    char *end = NULL;
    unsigned long handle = argc > 1 ? strtoul(argv[1], &end, 0) : 0;
    if ((argc != 3 && argc != 4) || !end || *end || !parse_hex(argv[2], q, &qlen)) {
        fprintf(stderr, "usage: certify-key HANDLE QUALIFYING_HEX [DIR] (at most %d bytes)\n",
                DEVID_CERTIFY_QUALIFYING_MAX);
        return 2;
    }
    if (devid_core_init() != DEVID_OK) {
        fprintf(stderr, "certify-key: %s\n", devid_last_error());
        return 1;
    }
    devid_rc rc = certify((uint32_t)handle, q, qlen, argc == 4 ? argv[3] : NULL);
    if (rc != DEVID_OK)
        fprintf(stderr, "certify-key: %s\n", devid_last_error());
    devid_core_fini();
    return rc == DEVID_OK ? 0 : 1;
}
