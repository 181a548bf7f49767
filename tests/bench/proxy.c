/* SPDX-License-Identifier: Apache-2.0 */
/* A TPM command counter between a client and swtpm.
 *
 * tpm2-tss's swtpm TCTI sends raw TPM command buffers on the TPM port P (each one a 10-byte
 * header holding its size and command code, then the rest) and opens the control port P+1
 * for control commands. The proxy listens on Q and Q+1, forwards each TPM command and its
 * response unchanged and counts the command codes; the control channel is a plain pipe. It
 * only ever runs in a counting pass, never in a timed one (it adds a hop).
 *
 * libc + pthreads only: devid-coldstart links it too.
 */
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <tss2/tss2_tpm2_types.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static bench_counts counts;
static int upstream_port;
static struct in_addr upstream_addr;
static int listen_tpm = -1, listen_ctl = -1;

static int connect_upstream(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port),
                              .sin_addr = upstream_addr };
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static bool read_full(int fd, unsigned char *buf, size_t len)
{
    while (len) {
        ssize_t n = read(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

static bool write_full(int fd, const unsigned char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads one TPM message (header + body) into *buf (grown as needed). */
static bool read_message(int fd, unsigned char **buf, size_t *cap, size_t *len)
{
    unsigned char hdr[10];
    if (!read_full(fd, hdr, sizeof(hdr)))
        return false;
    uint32_t size = be32(hdr + 2);
    if (size < 10 || size > 1u << 20)
        return false;
    if (*cap < size) {
        unsigned char *n = realloc(*buf, size);
        if (!n)
            return false;
        *buf = n;
        *cap = size;
    }
    memcpy(*buf, hdr, sizeof(hdr));
    if (!read_full(fd, *buf + 10, size - 10))
        return false;
    *len = size;
    return true;
}

static void *tpm_relay(void *arg)
{
    int client = (int)(intptr_t)arg;
    int up = connect_upstream(upstream_port);
    unsigned char *buf = NULL;
    size_t cap = 0, len;
    while (up >= 0 && read_message(client, &buf, &cap, &len)) {
        uint32_t cc = be32(buf + 6);
        pthread_mutex_lock(&lock);
        counts.total++;
        counts.by_cc[cc >= 0x100 && cc < 0x100 + BENCH_CC_SLOTS ? cc - 0x100 : BENCH_CC_SLOTS]++;
        pthread_mutex_unlock(&lock);
        if (!write_full(up, buf, len) || !read_message(up, &buf, &cap, &len) ||
            !write_full(client, buf, len))
            break;
    }
    free(buf);
    if (up >= 0)
        close(up);
    close(client);
    return NULL;
}

static void *ctl_relay(void *arg)
{
    int client = (int)(intptr_t)arg;
    int up = connect_upstream(upstream_port + 1);
    unsigned char buf[4096];
    while (up >= 0) {
        struct pollfd p[2] = { { .fd = client, .events = POLLIN }, { .fd = up, .events = POLLIN } };
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        int from = (p[0].revents & (POLLIN | POLLHUP | POLLERR)) ? client : up;
        int to = from == client ? up : client;
        ssize_t n = read(from, buf, sizeof(buf));
        if (n <= 0 || !write_full(to, buf, (size_t)n))
            break;
    }
    if (up >= 0)
        close(up);
    close(client);
    return NULL;
}

static void *acceptor(void *unused)
{
    (void)unused;
    for (;;) {
        struct pollfd p[2] = { { .fd = listen_tpm, .events = POLLIN },
                               { .fd = listen_ctl, .events = POLLIN } };
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return NULL;
        }
        for (int i = 0; i < 2; i++) {
            if (!(p[i].revents & POLLIN))
                continue;
            int fd = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0)
                continue;
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            pthread_t t;
            if (pthread_create(&t, NULL, i == 0 ? tpm_relay : ctl_relay, (void *)(intptr_t)fd))
                close(fd);
            else
                pthread_detach(t);
        }
    }
}

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1; /* earlier runs' connections may linger in TIME_WAIT on these ports */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 8) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int bench_proxy_listen(char *conf, size_t conflen, char *err, size_t errlen)
{
    static char started[96];
    if (started[0]) {
        snprintf(conf, conflen, "%s", started);
        return 0;
    }
    const char *tcti = getenv("DEVID_TCTI");
    const char *h = tcti ? strstr(tcti, "host=") : NULL, *p = tcti ? strstr(tcti, "port=") : NULL;
    char host[64] = "127.0.0.1";
    if (!tcti || strncmp(tcti, "swtpm:", 6) != 0 || !p) {
        snprintf(err, errlen, "DEVID_TCTI is not swtpm:host=...,port=... (%s)",
                 tcti ? tcti : "unset");
        return -1;
    }
    if (h) {
        size_t n = strcspn(h + 5, ",");
        if (n >= sizeof(host))
            n = sizeof(host) - 1;
        memcpy(host, h + 5, n);
        host[n] = 0;
        if (!strcmp(host, "localhost"))
            strcpy(host, "127.0.0.1");
    }
    upstream_port = atoi(p + 5);
    if (inet_pton(AF_INET, host, &upstream_addr) != 1 || upstream_port <= 0) {
        snprintf(err, errlen, "cannot parse %s", tcti);
        return -1;
    }
    /* a random pair below the ephemeral range (bind(0) keeps handing back the same even
     * port, whose odd neighbour is often an outgoing connection's) */
    unsigned seed = (unsigned)getpid() * 2654435761u ^ (unsigned)time(NULL);
    int port = 0;
    for (int tries = 0; tries < 200 && listen_ctl < 0; tries++) {
        port = 20000 + (int)(rand_r(&seed) % 6000) * 2;
        listen_tpm = listen_on(port);
        if (listen_tpm < 0)
            continue;
        listen_ctl = listen_on(port + 1);
        if (listen_ctl < 0) {
            close(listen_tpm);
            listen_tpm = -1;
        }
    }
    if (listen_ctl < 0) {
        snprintf(err, errlen, "proxy: no free port pair");
        return -1;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, acceptor, NULL)) {
        snprintf(err, errlen, "proxy: pthread_create failed");
        return -1;
    }
    pthread_detach(t);
    snprintf(started, sizeof(started), "swtpm:host=127.0.0.1,port=%d", port);
    snprintf(conf, conflen, "%s", started);
    return 0;
}

int bench_proxy_start(char *err, size_t errlen)
{
    char conf[96];
    if (bench_proxy_listen(conf, sizeof(conf), err, errlen))
        return -1;
    setenv("DEVID_TCTI", conf, 1);
    setenv("TPM2OPENSSL_TCTI", conf, 1);
    setenv("TPM2_PKCS11_TCTI", conf, 1);
    setenv("TPM2TOOLS_TCTI", conf, 1);
    return 0;
}

void bench_proxy_snapshot(bench_counts *out)
{
    pthread_mutex_lock(&lock);
    *out = counts;
    pthread_mutex_unlock(&lock);
}

void bench_counts_apply(bench_result *r, const bench_counts *a, const bench_counts *b, uint64_t ops)
{
    if (!ops)
        return;
    r->wire_cmds = (double)(b->total - a->total) / (double)ops;
    memset(r->mix, 0, sizeof(r->mix));
    bool used[BENCH_CC_SLOTS + 1] = { false };
    for (int k = 0; k < BENCH_MIX_MAX; k++) {
        int best = -1;
        uint64_t best_n = 0;
        for (int i = 0; i <= BENCH_CC_SLOTS; i++) {
            uint64_t n = b->by_cc[i] - a->by_cc[i];
            if (!used[i] && n > best_n) {
                best = i;
                best_n = n;
            }
        }
        if (best < 0)
            break;
        used[best] = true;
        r->mix[k].cc = best == BENCH_CC_SLOTS ? 0 : 0x100u + (uint32_t)best;
        r->mix[k].per_op = (double)best_n / (double)ops;
    }
}

/* Names of the TPM 2.0 command codes, from tpm2-tss's TPM2_CC_* constants (the name is the
 * constant's, without its prefix). */
/* clang-format off */ /* braced lists in macros: clang-format 14 and 19 lay them out differently */
#define CC(name) { TPM2_CC_##name, #name }
/* clang-format on */
static const struct {
    uint32_t cc;
    const char *name;
} cc_names[] = {
    CC(NV_UndefineSpaceSpecial),
    CC(EvictControl),
    CC(HierarchyControl),
    CC(NV_UndefineSpace),
    CC(ChangeEPS),
    CC(ChangePPS),
    CC(Clear),
    CC(ClearControl),
    CC(ClockSet),
    CC(HierarchyChangeAuth),
    CC(NV_DefineSpace),
    CC(PCR_Allocate),
    CC(PCR_SetAuthPolicy),
    CC(PP_Commands),
    CC(SetPrimaryPolicy),
    CC(FieldUpgradeStart),
    CC(ClockRateAdjust),
    CC(CreatePrimary),
    CC(NV_GlobalWriteLock),
    CC(GetCommandAuditDigest),
    CC(NV_Increment),
    CC(NV_SetBits),
    CC(NV_Extend),
    CC(NV_Write),
    CC(NV_WriteLock),
    CC(DictionaryAttackLockReset),
    CC(DictionaryAttackParameters),
    CC(NV_ChangeAuth),
    CC(PCR_Event),
    CC(PCR_Reset),
    CC(SequenceComplete),
    CC(SetAlgorithmSet),
    CC(SetCommandCodeAuditStatus),
    CC(FieldUpgradeData),
    CC(IncrementalSelfTest),
    CC(SelfTest),
    CC(Startup),
    CC(Shutdown),
    CC(StirRandom),
    CC(ActivateCredential),
    CC(Certify),
    CC(PolicyNV),
    CC(CertifyCreation),
    CC(Duplicate),
    CC(GetTime),
    CC(GetSessionAuditDigest),
    CC(NV_Read),
    CC(NV_ReadLock),
    CC(ObjectChangeAuth),
    CC(PolicySecret),
    CC(Rewrap),
    CC(Create),
    CC(ECDH_ZGen),
    CC(HMAC),
    CC(Import),
    CC(Load),
    CC(Quote),
    CC(RSA_Decrypt),
    CC(HMAC_Start),
    CC(SequenceUpdate),
    CC(Sign),
    CC(Unseal),
    CC(PolicySigned),
    CC(ContextLoad),
    CC(ContextSave),
    CC(ECDH_KeyGen),
    CC(EncryptDecrypt),
    CC(FlushContext),
    CC(LoadExternal),
    CC(MakeCredential),
    CC(NV_ReadPublic),
    CC(PolicyAuthorize),
    CC(PolicyAuthValue),
    CC(PolicyCommandCode),
    CC(PolicyCounterTimer),
    CC(PolicyCpHash),
    CC(PolicyLocality),
    CC(PolicyNameHash),
    CC(PolicyOR),
    CC(PolicyTicket),
    CC(ReadPublic),
    CC(RSA_Encrypt),
    CC(StartAuthSession),
    CC(VerifySignature),
    CC(ECC_Parameters),
    CC(FirmwareRead),
    CC(GetCapability),
    CC(GetRandom),
    CC(GetTestResult),
    CC(Hash),
    CC(PCR_Read),
    CC(PolicyPCR),
    CC(PolicyRestart),
    CC(ReadClock),
    CC(PCR_Extend),
    CC(PCR_SetAuthValue),
    CC(NV_Certify),
    CC(EventSequenceComplete),
    CC(HashSequenceStart),
    CC(PolicyPhysicalPresence),
    CC(PolicyDuplicationSelect),
    CC(PolicyGetDigest),
    CC(TestParms),
    CC(Commit),
    CC(PolicyPassword),
    CC(ZGen_2Phase),
    CC(EC_Ephemeral),
    CC(PolicyNvWritten),
    CC(PolicyTemplate),
    CC(CreateLoaded),
    CC(PolicyAuthorizeNV),
    CC(EncryptDecrypt2),
    CC(CertifyX509),
    CC(ACT_SetTimeout),
};
#undef CC

const char *bench_cc_name(uint32_t cc)
{
    for (size_t i = 0; i < sizeof(cc_names) / sizeof(cc_names[0]); i++)
        if (cc_names[i].cc == cc)
            return cc_names[i].name;
    return NULL;
}
