/* SPDX-License-Identifier: Apache-2.0 */
/* The devidfault TCTI's hash filter (hash_filter.h): makes a TPM that implements every hash
 * (swtpm) look like one with fewer, as many discrete TPM 2.0 chips are (SHA-1 and SHA-256
 * only). The hashes it hides disappear from TPM2_GetCapability(TPM_CAP_ALGS) answers, and
 * TPM2_Sign, TPM2_HMAC(_Start), TPM2_Hash(SequenceStart) and TPM2_TestParms naming one are
 * answered with TPM_RC_HASH on the parameter, as such a TPM does, without reaching the TPM.
 * Layouts: TPM 2.0 Part 3 (command and response structures) and Part 2 (TPMT_SIG_SCHEME,
 * TPMT_PUBLIC_PARMS, TPML_ALG_PROPERTY). */
#include "hash_filter.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_SESSIONS 0x8002u
#define CC_HMAC 0x155u
#define CC_HMAC_START 0x15Bu
#define CC_HASH_SEQUENCE_START 0x186u
#define CC_SIGN 0x15Du
#define CC_GET_CAPABILITY 0x17Au
#define CC_HASH 0x17Du
#define CC_TEST_PARMS 0x18Au
#define CAP_ALGS 0u
#define ALG_NULL 0x10u
#define RC_HASH 0x083u /* format one */
#define RC_P 0x040u    /* ... the error is in parameter n: (n << 8) | RC_P */

static const struct {
    const char *name;
    uint16_t alg;
} known[] = {
    { "sha1", 0x04 },    { "sha256", 0x0B },   { "sha384", 0x0C },   { "sha512", 0x0D },
    { "sm3_256", 0x12 }, { "sha3_256", 0x27 }, { "sha3_384", 0x28 }, { "sha3_512", 0x29 },
};
#define N_KNOWN (sizeof(known) / sizeof(known[0]))

static bool hidden[N_KNOWN];
static bool active;

static void read_env(void)
{
    const char *spec = getenv("DEVID_FAULT_HASHES");
    if (!spec || !*spec)
        return;
    active = true;
    for (size_t i = 0; i < N_KNOWN; i++) {
        /* hidden unless named (as a whole word: "sha3_256" does not name "sha256") */
        hidden[i] = true;
        size_t n = strlen(known[i].name);
        for (const char *p = strstr(spec, known[i].name); p; p = strstr(p + 1, known[i].name))
            if ((p == spec || p[-1] == ',' || p[-1] == ' ') &&
                (p[n] == 0 || p[n] == ',' || p[n] == ' '))
                hidden[i] = false;
    }
    fprintf(stderr, "devidfault: the TPM implements only the hashes %s\n", spec);
}

static bool is_hidden(uint16_t alg)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, read_env);
    for (size_t i = 0; active && i < N_KNOWN; i++)
        if (known[i].alg == alg)
            return hidden[i];
    return false;
}

bool hash_filter_active(void)
{
    is_hidden(0);
    return active;
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A bounded reader over the command's parameters. */
typedef struct {
    const uint8_t *p, *end;
    bool bad;
} rd;

static uint16_t rd16(rd *r)
{
    if (r->end - r->p < 2) {
        r->bad = true;
        return 0;
    }
    uint16_t v = be16(r->p);
    r->p += 2;
    return v;
}

static void rd_skip(rd *r, size_t n)
{
    if ((size_t)(r->end - r->p) < n)
        r->bad = true;
    else
        r->p += n;
}

/* TPMT_PUBLIC_PARMS: the scheme's hash of an RSA, ECC or keyed-hash object (0: none). */
static uint16_t public_parms_hash(rd *r)
{
    uint16_t type = rd16(r);
    if (type == 0x0008) { /* KEYEDHASH: TPMT_KEYEDHASH_SCHEME */
        uint16_t scheme = rd16(r);
        return scheme == ALG_NULL ? 0 : rd16(r);
    }
    if (type != 0x0001 && type != 0x0023) /* RSA, ECC */
        return 0;
    if (rd16(r) != ALG_NULL) /* TPMT_SYM_DEF_OBJECT: keyBits, mode */
        rd_skip(r, 4);
    uint16_t scheme = rd16(r);
    return scheme == ALG_NULL ? 0 : rd16(r);
}

bool hash_filter_command(const uint8_t *cmd, size_t size, uint32_t *rc)
{
    if (!hash_filter_active() || size < 10)
        return false;
    uint32_t cc = be32(cmd + 6);
    size_t handles = cc == CC_SIGN || cc == CC_HMAC || cc == CC_HMAC_START ? 1 : 0;
    if (cc != CC_SIGN && cc != CC_HMAC && cc != CC_HMAC_START && cc != CC_HASH &&
        cc != CC_HASH_SEQUENCE_START && cc != CC_TEST_PARMS)
        return false;
    rd r = { cmd + 10, cmd + size, false };
    rd_skip(&r, 4 * handles);
    if (be16(cmd) == ST_SESSIONS && !r.bad) {
        if (r.end - r.p < 4)
            return false;
        uint32_t auth = be32(r.p);
        rd_skip(&r, 4);
        rd_skip(&r, auth);
    }
    uint16_t hash = 0;
    unsigned param = 2;
    if (cc == CC_TEST_PARMS) {
        hash = public_parms_hash(&r);
        param = 1;
    } else {
        rd_skip(&r, rd16(&r)); /* the digest, buffer, data or auth (TPM2B) */
        hash = rd16(&r);
        if (cc == CC_SIGN) /* TPMT_SIG_SCHEME: the scheme, then its hash */
            hash = hash == ALG_NULL ? 0 : rd16(&r);
    }
    if (r.bad || !is_hidden(hash))
        return false;
    *rc = RC_HASH | RC_P | (param << 8);
    return true;
}

bool hash_filter_wants_response(const uint8_t *cmd, size_t size)
{
    if (!hash_filter_active() || size < 22 || be32(cmd + 6) != CC_GET_CAPABILITY)
        return false;
    /* no handles; after any authorisation area: capability, property, propertyCount */
    size_t off = 10;
    if (be16(cmd) == ST_SESSIONS)
        off += 4 + be32(cmd + 10);
    return off + 4 <= size && be32(cmd + off) == CAP_ALGS;
}

void hash_filter_response(uint8_t *resp, size_t *size)
{
    size_t n = *size;
    if (n < 10 || be32(resp + 6) != 0)
        return; /* an error: nothing to filter */
    size_t off = 10 + (be16(resp) == ST_SESSIONS ? 4 : 0);
    /* moreData, capability, TPML_ALG_PROPERTY { count, { alg, algProperties }[count] } */
    if (off + 9 > n || be32(resp + off + 1) != CAP_ALGS)
        return;
    size_t count_at = off + 5, entries = count_at + 4;
    uint32_t count = be32(resp + count_at);
    if (count > (n - entries) / 6)
        return;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = resp + entries + 6 * i;
        if (is_hidden(be16(e)))
            continue;
        memmove(resp + entries + 6 * kept, e, 6);
        kept++;
    }
    size_t removed = 6 * (size_t)(count - kept);
    if (!removed)
        return;
    size_t tail = entries + 6 * (size_t)count;
    memmove(resp + tail - removed, resp + tail, n - tail);
    put32(resp + count_at, kept);
    put32(resp + 2, (uint32_t)(n - removed));
    if (be16(resp) == ST_SESSIONS)
        put32(resp + 10, be32(resp + 10) - (uint32_t)removed);
    *size = n - removed;
}
