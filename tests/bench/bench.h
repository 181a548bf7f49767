/* SPDX-License-Identifier: Apache-2.0 */
/* devid benchmark suite: shared definitions.
 *
 * devid-bench runs every measurement ("phase") in a child process of its own, so that each
 * phase gets the single swtpm connection to itself and releases it by exiting. A child sends
 * its bench_result back over a pipe as raw bytes (same binary, or devid-coldstart built from
 * the same header), and the parent prints the table and the JSON.
 */
#ifndef DEVID_BENCH_H
#define DEVID_BENCH_H

#include <openssl/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum bench_status {
    BENCH_OK = 0,
    BENCH_SKIPPED, /* not built yet / not set up: note says why, no numbers */
    BENCH_FAILED,  /* ran and failed: note says how */
};

/* Per-op TPM command mix, as seen on the wire: the most frequent command codes. */
#define BENCH_MIX_MAX 6
typedef struct {
    uint32_t cc;
    double per_op;
} bench_mix;

/* Cold-start steps of a PKCS#11 module (devid-coldstart). */
enum {
    CS_DLOPEN,     /* dlopen + C_GetFunctionList */
    CS_INITIALIZE, /* C_Initialize */
    CS_OPEN,       /* C_GetSlotList + C_GetTokenInfo + C_OpenSession */
    CS_LOGIN,      /* C_Login (0 when the token needs none) */
    CS_FIND,       /* C_FindObjectsInit/C_FindObjects/Final for the key */
    CS_SIGN,       /* C_SignInit + C_Sign, the first signature */
    CS_STEPS
};

typedef struct {
    char name[48];
    int status;
    char note[320];

    /* throughput phases */
    uint64_t ops;
    double seconds;
    double ops_per_s;
    double p50_us, p99_us;
    double client_cpu_us;   /* user+sys of this process per op */
    double tpm_cpu_us;      /* user+sys of the swtpm process per op (-1: unknown) */
    double core_cmds;       /* devid_tpm_command_count() per op (-1: n/a) */
    double wire_cmds;       /* TPM commands per op counted on the wire (-1: not counted) */
    double setup_wire_cmds; /* TPM commands before the first op (-1: not counted) */
    bench_mix mix[BENCH_MIX_MAX];
    int verified; /* signatures checked against the certificate's public key */
#define MAX_ROUNDS 8
    int rounds; /* devid-bench: rounds run, and each one's throughput */
    double round_ops_per_s[MAX_ROUNDS];
    int verify_failed;

    /* cold start (devid-coldstart) */
    double step_ms[CS_STEPS];
    double step_cmds[CS_STEPS]; /* TPM commands per step (-1: not counted) */
    double exec_ms;             /* fork+exec until main() (measured by the parent) */
    double total_ms;            /* fork until the first signature is back */
    long rss_base_kb;           /* ru_maxrss at main() entry */
    long rss_peak_kb;           /* ru_maxrss after the first signature */
    /* coldstart hands back what was signed, for the parent to verify */
    unsigned char sig[132];
    uint32_t sig_len;
    unsigned char point[133]; /* uncompressed EC point of the key (CKA_EC_POINT content) */
    uint32_t point_len;
} bench_result;

void bench_result_init(bench_result *r, const char *name);
void bench_skip(bench_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bench_fail(bench_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- time and resources ---- */
double bench_now(void);         /* CLOCK_MONOTONIC seconds */
double bench_cpu_self(void);    /* user+sys seconds of this process */
double bench_cpu_pid(long pid); /* user+sys seconds of another process (-1 on error) */
long bench_maxrss_kb(void);
long bench_swtpm_pid(void); /* from $DEVID_FIXTURE/swtpm.pid, -1 if unknown */

/* ---- the counting proxy (proxy.c) ----
 * Listens on 127.0.0.1:Q (TPM) and Q+1 (control) and forwards to the swtpm of $DEVID_TCTI,
 * counting TPM command codes on the way. bench_proxy_start() points DEVID_TCTI,
 * TPM2OPENSSL_TCTI, TPM2_PKCS11_TCTI and TPM2TOOLS_TCTI at itself. */
#define BENCH_CC_SLOTS 0x100 /* TPM2_CC_FIRST (0x11f) .. 0x1ff */
typedef struct {
    uint64_t total;
    uint64_t by_cc[BENCH_CC_SLOTS + 1]; /* [cc - 0x100], last slot: anything else */
} bench_counts;

int bench_proxy_start(char *err, size_t errlen);
/* The same without touching the environment: conf gets the TCTI string for the proxy. */
int bench_proxy_listen(char *conf, size_t conflen, char *err, size_t errlen);
void bench_proxy_snapshot(bench_counts *out);
/* Fills r->wire_cmds / r->mix from the difference b - a over `ops` operations. */
void bench_counts_apply(bench_result *r, const bench_counts *a, const bench_counts *b,
                        uint64_t ops);
const char *bench_cc_name(uint32_t cc);

/* ---- the timed loop (harness.c) ---- */
typedef struct {
    const unsigned char *msg; /* the message (digest-sign phases) */
    size_t msg_len;
    const unsigned char *dgst; /* SHA-256 of msg (digest phases) */
    unsigned char *sig;        /* out: signature, up to 160 bytes */
    size_t sig_len;            /* out */
} bench_op_io;

typedef enum { SIG_NONE, SIG_RAW_RS, SIG_DER } bench_sig_format;

typedef struct {
    double seconds;     /* time budget of the timed loop */
    uint64_t max_ops;   /* 0: no limit */
    uint64_t count_ops; /* >0: counting run through the proxy, this many ops */
    int warmup;
    bool verify_all;
} bench_opts;

typedef int (*bench_op_fn)(void *arg, bench_op_io *io, char *err, size_t errlen);
typedef double (*bench_counter_fn)(void); /* commands so far (devid core counter) */

/* Runs op until the budget is spent, filling r. pub (may be NULL) verifies signatures. */
void bench_loop(bench_result *r, const bench_opts *o, bench_op_fn op, void *arg,
                bench_sig_format fmt, void *pub /* EVP_PKEY* */, bench_counter_fn core_count);

/* ---- the PKCS#11 modules measured ----
 * "devid": build/pkcs11/devid-pkcs11.so (DEVID_BENCH_PKCS11), token DevID, key LDevID, no PIN.
 * "tpm2":  Debian's tpm2-pkcs11 (DEVID_BENCH_TPM2_PKCS11) on the store that
 *          setup-tpm2-pkcs11.sh made (TPM2_PKCS11_STORE; DEVID_BENCH_TPM2_TOKEN/_KEY/_PIN). */
typedef struct {
    const char *path, *token, *key, *pin;
    bool key_is_ldevid; /* verify against the LDevID certificate (else CKA_EC_POINT) */
} bench_p11_target;
/* 0, or -1 with the reason (not built yet / not set up) in note. */
int bench_p11_target_get(const char *which, bench_p11_target *t, char *note, size_t notelen);

/* ---- OpenSSL providers (phase_prov.c) ---- */
typedef struct {
    OSSL_LIB_CTX *lib;
    OSSL_PROVIDER *tpm, *dflt;
    EVP_PKEY *key;
} prov_ctx;
/* A library context with the TPM provider ("devid" or "tpm2") and the default provider, and
 * the LDevID from OSSL_STORE. 0 ok, 1 skipped (not built / not installed), -1 failed. */
int bench_prov_open(const char *which, prov_ctx *p, char *note, size_t notelen);
void bench_prov_close(prov_ctx *p);

/* ---- phases (one child process each) ---- */
void phase_floor(bench_result *r, const bench_opts *o, bool encrypted);
void phase_core(bench_result *r, const bench_opts *o, bool with_auth);
void phase_p11(bench_result *r, const bench_opts *o, const char *which);
void phase_prov(bench_result *r, const bench_opts *o, const char *which, bool digest_sign);
void phase_tls(bench_result *r, const bench_opts *o, const char *which);

/* Frees every transient object and session left in the TPM (no resource manager on swtpm:
 * a process that exits without flushing leaves them loaded). Returns how many, -1 on error. */
int bench_tpm_sweep(char *err, size_t errlen);

/* ---- helpers (util.c) ---- */
void *bench_ldevid_pub(char *err, size_t errlen); /* EVP_PKEY* from $DEVID_FIXTURE/pki */
bool bench_verify(void *pub, bench_sig_format fmt, const unsigned char *dgst,
                  const unsigned char *sig, size_t sig_len);
void *bench_pub_from_point(const unsigned char *point, size_t len); /* P-256 EVP_PKEY* */
void bench_ossl_err(char *buf, size_t len, const char *what);
const char *bench_env(const char *name, const char *dflt);

#endif
