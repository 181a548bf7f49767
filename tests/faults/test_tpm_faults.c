/* SPDX-License-Identifier: Apache-2.0 */
/* Transient TPM conditions against a real swtpm (ecc fixture), through the fault-injecting
 * TCTI (tcti_fault.c) wrapped around the fixture's TCTI:
 *   - TPM_RC_RETRY, TPM_RC_TESTING, TPM_RC_YIELDED a few times: signing, key generation, NV
 *     reads, GetRandom and PIN checks (token login) still succeed (ESAPI's own
 *     resubmissions, then core's backoff), and the signatures verify;
 *   - a TPM that answers RETRY for ever: a clear DEVID_ERR_RETRY within a bounded time, after
 *     a bounded number of attempts; the next call works once the TPM does;
 *   - TPM_RC_LOCKOUT: DEVID_ERR_LOCKOUT at once (no retry, which would only add failures), and
 *     the same process signs again once the lockout is gone, without reconnecting by hand.
 * argv[1]: the built libtss2-tcti-devidfault.so. */
#include "devid_test.h"
#include "sign_check.h"
#include "devid.h"
#include "keygen.h"
#include "nv.h"
#include "store.h"
#include "token.h"
#include "tpm.h"

#include <dlfcn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CC_CREATE 0x153u
#define CC_NV_READ 0x14Eu
#define CC_SIGN 0x15Du
#define CC_GET_RANDOM 0x17Bu
#define CC_UNSEAL 0x15Eu
#define RC_YIELDED 0x908u
#define RC_TESTING 0x90Au
#define RC_LOCKOUT 0x921u
#define RC_RETRY 0x922u

static void (*fault_set)(uint32_t cc, uint32_t rc, long count);
static unsigned long (*fault_injected)(void);

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static devid_rc keygen(void)
{
    devid_keygen p = { .type = DEVID_KEY_EC, .curve_nid = NID_X9_62_prime256v1, .sign = true };
    devid_tss2_key blob;
    return devid_keygen_create(&p, &blob);
}

static devid_rc nv_read(void)
{
    unsigned char *data = NULL;
    size_t len = 0;
    devid_rc rc = devid__nv_read(0x01C90000, &data, &len); /* the IDevID certificate */
    if (rc == DEVID_OK)
        CHECK(len > 100 && data[0] == 0x30, "NV read returns the certificate");
    free(data);
    return rc;
}

static devid_rc get_random(void)
{
    unsigned char buf[48];
    return devid_tpm_random(buf, sizeof(buf));
}

/* PIN check (TPM2_Unseal of the token secret): a busy TPM counts no failed authorisation,
 * so retrying is safe. */
static devid_rc login(void)
{
    devid_rc rc = devid_token_login(DEVID_ROLE_USER, "1234", 4);
    devid_token_logout();
    return rc;
}

static devid_key *idevid;
static devid_rc sign_idevid(void)
{
    return sign_and_verify(idevid, "IDevID signature");
}

typedef struct op {
    const char *name;
    uint32_t cc;
    devid_rc (*run)(void);
} op;

/* A transient code `times` times in a row: the operation succeeds, having been answered with
 * it exactly that often. More than ESAPI's own five resubmissions, so core's retry runs too. */
static void transient_then_ok(const op *o, uint32_t rc, const char *rc_name, long times)
{
    fault_set(o->cc, rc, times);
    double t0 = now_s();
    devid_rc r = o->run();
    CHECK(r == DEVID_OK, "%s after %ld x %s: %s (%s)", o->name, times, rc_name, devid_rc_name(r),
          devid_last_error());
    CHECK(fault_injected() == (unsigned long)times, "%s: %lu of %ld %s answers used", o->name,
          fault_injected(), times, rc_name);
    printf("%-10s %ld x %-14s → OK in %.0f ms\n", o->name, times, rc_name, 1000 * (now_s() - t0));
}

/* A TPM that keeps answering RETRY: a clear error, in bounded time and attempts. */
static void retry_forever(const op *o)
{
    fault_set(o->cc, RC_RETRY, -1);
    double t0 = now_s();
    devid_rc r = o->run();
    double took = now_s() - t0;
    unsigned long attempts = fault_injected();
    fault_set(o->cc, 0, 0);
    CHECK(r == DEVID_ERR_RETRY, "%s with a TPM answering RETRY for ever: %s (%s)", o->name,
          devid_rc_name(r), devid_last_error());
    CHECK(strstr(devid_last_error(), "still busy after 6 retries") &&
              strstr(devid_last_error(), "(0x922)"),
          "%s: the error says the TPM stayed busy: '%s'", o->name, devid_last_error());
    /* the backoff sleeps 0.63 s in all; the upper bound only says "bounded" (loaded CI) */
    CHECK(took > 0.6 && took < 5.0, "%s: gave up after %.2f s (backoff ~0.63 s)", o->name, took);
    /* 7 attempts by core (1 + DEVID_TPM_RETRIES), each resubmitted by ESAPI up to 5 times */
    CHECK(attempts >= 7 && attempts <= 7 * 5, "%s: %lu commands sent (bounded)", o->name, attempts);
    printf("%-10s RETRY for ever  → %s after %lu answers, %.0f ms: %s\n", o->name, devid_rc_name(r),
           attempts, 1000 * took, devid_last_error());
    CHECK_RC(o->run(), DEVID_OK); /* the TPM is fine again: so is the next call */
}

static void lockout_then_recover(void)
{
    fault_set(CC_SIGN, RC_LOCKOUT, -1);
    devid_rc r = sign_idevid();
    CHECK(r == DEVID_ERR_LOCKOUT, "sign in lockout: %s (%s)", devid_rc_name(r), devid_last_error());
    CHECK(strstr(devid_last_error(), "TPM2_Sign") && strstr(devid_last_error(), "lockout"),
          "the lockout error names the command and the lockout: '%s'", devid_last_error());
    CHECK(fault_injected() == 1, "lockout is not retried (%lu commands sent)", fault_injected());
    printf("lockout    %s: %s\n", devid_rc_name(r), devid_last_error());
    r = sign_idevid();
    CHECK(r == DEVID_ERR_LOCKOUT, "still locked out: %s", devid_rc_name(r));
    fault_set(CC_SIGN, 0, 0); /* the lockout clears (its recovery time passed) */
    CHECK_RC(sign_idevid(), DEVID_OK);
    CHECK_RC(sign_idevid(), DEVID_OK);

    /* a PIN check during the lockout: the lockout error, not "wrong PIN" */
    fault_set(CC_UNSEAL, RC_LOCKOUT, -1);
    CHECK_RC(login(), DEVID_ERR_LOCKOUT);
    CHECK(fault_injected() == 1, "login in lockout not retried (%lu)", fault_injected());
    fault_set(CC_UNSEAL, 0, 0);
    CHECK_RC(login(), DEVID_OK);
}

/* The fixture: core on the fault TCTI (wrapping the fixture's swtpm), the IDevID open, the
 * fault controls found, PINs set for the login operation. */
static const char *fault_tcti;

static int setup(void)
{
    const char *inner = getenv("DEVID_TCTI");
    if (!fault_tcti || !inner) {
        fprintf(stderr, "usage: test_tpm_faults LIBTSS2_TCTI_DEVIDFAULT (DEVID_TCTI set: run "
                        "under tests/fixture/with-swtpm)\n");
        return 2;
    }
    char tcti[1024];
    snprintf(tcti, sizeof(tcti), "%s:%s", fault_tcti, inner);
    setenv("DEVID_TCTI", tcti, 1);
    if (devid_core_init() != DEVID_OK) {
        fprintf(stderr, "core init: %s\n", devid_last_error());
        return 1;
    }
    CHECK_RC(devid_key_open_persistent(0x81020000, &idevid), DEVID_OK); /* connects */
    /* tpm2-tss loaded the fault TCTI already: the same handle, for its controls. */
    void *lib = dlopen(fault_tcti, RTLD_NOW | RTLD_NOLOAD);
    fault_set = lib ? (void (*)(uint32_t, uint32_t, long))dlsym(lib, "devid_fault_set") : NULL;
    fault_injected = lib ? (unsigned long (*)(void))dlsym(lib, "devid_fault_injected") : NULL;
    if (!idevid || !fault_set || !fault_injected) {
        fprintf(stderr, "the fault TCTI is not loaded (%s)\n", dlerror());
        return 1;
    }
    CHECK_RC(sign_idevid(), DEVID_OK);
    /* PINs for the login operation (the store is the fixture's private copy). */
    CHECK_RC(devid_token_init("so-pin", 6), DEVID_OK);
    CHECK_RC(devid_token_login(DEVID_ROLE_SO, "so-pin", 6), DEVID_OK);
    CHECK_RC(devid_token_set_pin(DEVID_ROLE_USER, "1234", 4), DEVID_OK);
    devid_token_logout();
    return 0;
}

static void teardown(void)
{
    devid_key_free(idevid);
    devid_tpm_disconnect();
    devid_core_fini();
}

/* Each transient code, then one that never stops, for one operation. */
static void test_operation(const void *data)
{
    const op *o = data;
    transient_then_ok(o, RC_RETRY, "TPM_RC_RETRY", 3);
    transient_then_ok(o, RC_RETRY, "TPM_RC_RETRY", 12);
    transient_then_ok(o, RC_TESTING, "TPM_RC_TESTING", 12);
    transient_then_ok(o, RC_YIELDED, "TPM_RC_YIELDED", 12);
    retry_forever(o);
}

int main(int argc, char **argv)
{
    static const op op_sign = { "sign", CC_SIGN, sign_idevid },
                    op_keygen = { "keygen", CC_CREATE, keygen },
                    op_nv_read = { "nv-read", CC_NV_READ, nv_read },
                    op_random = { "random", CC_GET_RANDOM, get_random },
                    op_login = { "login", CC_UNSEAL, login };
    fault_tcti = devid_test_arg(argc, argv, 0);
    devid_test_fixture(setup, teardown);
    devid_testx(test_operation, &op_sign, "/tpm-faults/sign");
    devid_testx(test_operation, &op_keygen, "/tpm-faults/keygen");
    devid_testx(test_operation, &op_nv_read, "/tpm-faults/nv-read");
    devid_testx(test_operation, &op_random, "/tpm-faults/random");
    devid_testx(test_operation, &op_login, "/tpm-faults/login");
    devid_test(lockout_then_recover, "/tpm-faults/lockout-then-recover");
    return devid_test_run("tpm-faults", argc, argv);
}
