/* SPDX-License-Identifier: Apache-2.0 */
/* libtss2-tcti-devidfault.so: a TCTI for tests that wraps a real one and answers chosen
 * commands with a chosen TPM response code instead of sending them, so core's handling of
 * TPM_RC_RETRY, TPM_RC_TESTING, TPM_RC_YIELDED and TPM_RC_LOCKOUT can be exercised against a
 * real (software) TPM. A test fake: it is built under tests/ and never installed.
 *
 * TCTI configuration:   devidfault:<inner TCTI configuration>
 *   e.g. DEVID_TCTI="/path/libtss2-tcti-devidfault.so:swtpm:host=127.0.0.1,port=2321"
 *
 * What to inject, read when the TCTI is initialised:
 *   DEVID_FAULT="cc=0x15d rc=0x922 count=3"
 *     cc     command code to answer (hex; "any" for every command)
 *     rc     the response code to answer with (hex, e.g. 0x922 TPM_RC_RETRY)
 *     count  how many times (-1: for ever); then commands pass through again
 * In-process tests change it at run time through the exported devid_fault_set() (found with
 * dlopen(path, RTLD_NOLOAD) + dlsym) and read devid_fault_injected().
 *
 * Or kill the TPM with a command in flight, as a crash or power loss of the TPM would:
 *   DEVID_FAULT="cc=0x120 action=kill-before-response skip=1 count=1"
 *     action  kill-before-command: run the kill command; the command is never sent (it
 *               never executes) and fails with a TCTI I/O error;
 *             kill-before-response: send the command, wait until the TPM has answered (so it
 *               did execute it), then run the kill command: the response is lost (a TCTI
 *               I/O error)
 *     skip    let this many matching commands through first (0)
 *     count   how many times (1)
 *   DEVID_FAULT_KILL  the kill command, run with /bin/sh -c (default
 *             "$DEVID_FIXTURE/swtpm-ctl restart": SIGKILL swtpm and start it again from its
 *             saved NV state, i.e. a TPM reset; "... stop" leaves it dead)
 * In-process: devid_fault_kill(cc, before_response, skip, command).
 *
 * Or make the TPM look like one with fewer hashes (hash_filter.c):
 *   DEVID_FAULT_HASHES="sha1,sha256" */
#include "hash_filter.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <tss2/tss2_tcti.h>
#include <tss2/tss2_tctildr.h>
#include <unistd.h>

extern char **environ;

#define FAULT_MAGIC 0x646576696466746cULL /* "devidftl" */
#define CC_ANY 0xFFFFFFFFu

typedef struct fault_ctx {
    TSS2_TCTI_CONTEXT_COMMON_V2 common;
    TSS2_TCTI_CONTEXT *inner;
    bool pending; /* the last command was answered here: receive returns `pending_rc` */
    uint32_t pending_rc;
    bool lost;            /* the TPM was killed with the last command in flight: no response */
    bool filter_response; /* the response lists algorithms: hide the filtered hashes */
} fault_ctx;

/* Process-wide, like core's one TPM connection. */
static pthread_mutex_t fault_mutex = PTHREAD_MUTEX_INITIALIZER;
typedef enum { ACT_RC, ACT_KILL_BEFORE_COMMAND, ACT_KILL_BEFORE_RESPONSE } fault_action;
static struct {
    uint32_t cc, rc;
    fault_action action;
    long skip;      /* matching commands still to let through */
    long remaining; /* -1: for ever */
    unsigned long injected;
    char kill_cmd[1024];
} fault = { .cc = CC_ANY, .remaining = 0 };

/* The build hides symbols by default: these are the library's interface. */
#define EXPORT __attribute__((visibility("default")))
EXPORT void devid_fault_set(uint32_t cc, uint32_t rc, long count);
EXPORT void devid_fault_kill(uint32_t cc, int before_response, long skip, const char *command);
EXPORT unsigned long devid_fault_injected(void);
EXPORT const TSS2_TCTI_INFO *Tss2_Tcti_Info(void);

void devid_fault_set(uint32_t cc, uint32_t rc, long count)
{
    pthread_mutex_lock(&fault_mutex);
    fault.cc = cc;
    fault.rc = rc;
    fault.action = ACT_RC;
    fault.skip = 0;
    fault.remaining = count;
    fault.injected = 0;
    pthread_mutex_unlock(&fault_mutex);
}

static void set_kill_command(const char *command)
{
    const char *dir = getenv("DEVID_FIXTURE");
    if (command && *command)
        snprintf(fault.kill_cmd, sizeof(fault.kill_cmd), "%s", command);
    else
        snprintf(fault.kill_cmd, sizeof(fault.kill_cmd), "'%s/swtpm-ctl' restart", dir ? dir : ".");
}

/* Kill the TPM once, at the (skip+1)-th command `cc` (CC_ANY: any). command NULL: the
 * default (DEVID_FAULT_KILL, else restart the fixture's swtpm). */
void devid_fault_kill(uint32_t cc, int before_response, long skip, const char *command)
{
    pthread_mutex_lock(&fault_mutex);
    fault.cc = cc;
    fault.action = before_response ? ACT_KILL_BEFORE_RESPONSE : ACT_KILL_BEFORE_COMMAND;
    fault.skip = skip;
    fault.remaining = 1;
    fault.injected = 0;
    set_kill_command(command ? command : getenv("DEVID_FAULT_KILL"));
    pthread_mutex_unlock(&fault_mutex);
}

unsigned long devid_fault_injected(void)
{
    pthread_mutex_lock(&fault_mutex);
    unsigned long n = fault.injected;
    pthread_mutex_unlock(&fault_mutex);
    return n;
}

static void read_env_once(void)
{
    const char *spec = getenv("DEVID_FAULT");
    if (!spec || !*spec)
        return;
    char cc[16] = "any", action[32] = "";
    unsigned rc = 0;
    long count = -1, skip = 0;
    const char *p = strstr(spec, "cc=");
    if (p)
        sscanf(p, "cc=%15s", cc);
    uint32_t code = strcmp(cc, "any") == 0 ? CC_ANY : (uint32_t)strtoul(cc, NULL, 16);
    p = strstr(spec, "action=");
    if (p && sscanf(p, "action=%31s", action) == 1) {
        bool before_response = strcmp(action, "kill-before-response") == 0;
        if (!before_response && strcmp(action, "kill-before-command") != 0) {
            fprintf(stderr, "devidfault: unknown action '%s'\n", action);
            return;
        }
        p = strstr(spec, "skip=");
        if (p)
            sscanf(p, "skip=%ld", &skip);
        count = 1;
        p = strstr(spec, "count=");
        if (p)
            sscanf(p, "count=%ld", &count);
        devid_fault_kill(code, before_response, skip, NULL);
        pthread_mutex_lock(&fault_mutex);
        fault.remaining = count;
        pthread_mutex_unlock(&fault_mutex);
        return;
    }
    p = strstr(spec, "rc=");
    if (!p || sscanf(p, "rc=%x", &rc) != 1) {
        fprintf(stderr, "devidfault: DEVID_FAULT needs rc=HEX: '%s'\n", spec);
        return;
    }
    p = strstr(spec, "count=");
    if (p)
        sscanf(p, "count=%ld", &count);
    devid_fault_set(code, rc, count);
}

/* Runs the kill command and waits for it. posix_spawn, not fork: fork runs core's atfork
 * handler, which takes the TPM lock this thread holds. The child gets none of our
 * descriptors (a restarted swtpm must not inherit the test's sockets or pipes). */
static void run_kill_command(const char *cmd)
{
    fflush(NULL);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    const char *argv[] = { "sh", "-c", cmd, NULL };
    pid_t pid = -1;
    int status = 0;
    /* posix_spawn does not write argv (POSIX), its type is historical */
    int err = posix_spawn(&pid, "/bin/sh", &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err != 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        fprintf(stderr, "devidfault: kill command '%s' failed (error %d, status 0x%x)\n", cmd, err,
                status);
}

/* Waits (up to 10 s) until the TPM's response can be read: it executed the command. */
static void wait_response_ready(TSS2_TCTI_CONTEXT *inner)
{
    TSS2_TCTI_POLL_HANDLE h[4];
    size_t n = 4;
    if (Tss2_Tcti_GetPollHandles(inner, h, &n) != TSS2_RC_SUCCESS || n == 0 || n > 4) {
        usleep(200 * 1000); /* no poll handles: give the TPM time to execute it */
        return;
    }
    for (size_t i = 0; i < n; i++)
        h[i].events = POLLIN;
    poll(h, n, 10000);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static TSS2_RC fault_transmit(TSS2_TCTI_CONTEXT *tcti, size_t size, const uint8_t *command)
{
    fault_ctx *c = (fault_ctx *)tcti;
    uint32_t hash_rc = 0;
    if (command && hash_filter_command(command, size, &hash_rc)) {
        c->pending = true; /* a TPM without that hash refuses it */
        c->pending_rc = hash_rc;
        return TSS2_RC_SUCCESS;
    }
    c->filter_response = command && hash_filter_wants_response(command, size);
    if (size >= 10 && command) {
        uint32_t cc = be32(command + 6);
        pthread_mutex_lock(&fault_mutex);
        bool hit = fault.remaining != 0 && (fault.cc == CC_ANY || fault.cc == cc);
        if (hit && fault.skip > 0) {
            fault.skip--;
            hit = false;
        }
        fault_action action = fault.action;
        char kill_cmd[sizeof(fault.kill_cmd)] = "";
        if (hit) {
            memcpy(kill_cmd, fault.kill_cmd, sizeof(kill_cmd));
            if (fault.remaining > 0)
                fault.remaining--;
            fault.injected++;
            c->pending = action == ACT_RC;
            c->pending_rc = fault.rc;
        }
        pthread_mutex_unlock(&fault_mutex);
        if (hit && action == ACT_RC)
            return TSS2_RC_SUCCESS; /* never reaches the TPM, as a TPM refusing it would */
        /* The command dies with the TPM: never executed, or executed with its response
         * lost. Either way this connection reports an I/O error, as a TCTI whose TPM went
         * away does (swtpm's TCTI opens a new socket per command: forwarding the command
         * after the kill would reach the restarted TPM instead). */
        if (hit && action == ACT_KILL_BEFORE_COMMAND) {
            fprintf(stderr, "devidfault: killing the TPM before command 0x%x\n", cc);
            run_kill_command(kill_cmd);
            return TSS2_TCTI_RC_IO_ERROR;
        }
        if (hit && action == ACT_KILL_BEFORE_RESPONSE) {
            TSS2_RC rc = Tss2_Tcti_Transmit(c->inner, size, command);
            if (rc == TSS2_RC_SUCCESS)
                wait_response_ready(c->inner); /* the TPM executed it */
            fprintf(stderr, "devidfault: killing the TPM before the response to 0x%x\n", cc);
            run_kill_command(kill_cmd);
            c->lost = true;
            return rc;
        }
    }
    return Tss2_Tcti_Transmit(c->inner, size, command);
}

static TSS2_RC fault_receive(TSS2_TCTI_CONTEXT *tcti, size_t *size, uint8_t *response,
                             int32_t timeout)
{
    fault_ctx *c = (fault_ctx *)tcti;
    if (c->lost) {
        c->lost = false;
        return TSS2_TCTI_RC_IO_ERROR;
    }
    if (!c->pending) {
        TSS2_RC rc = Tss2_Tcti_Receive(c->inner, size, response, timeout);
        if (rc == TSS2_RC_SUCCESS && response && c->filter_response) {
            hash_filter_response(response, size);
            c->filter_response = false;
        }
        return rc;
    }
    if (!response) {
        *size = 10;
        return TSS2_RC_SUCCESS;
    }
    if (*size < 10)
        return TSS2_TCTI_RC_INSUFFICIENT_BUFFER;
    /* TPM_ST_NO_SESSIONS, size 10, the response code: a bare error response. */
    const uint8_t hdr[10] = { 0x80,
                              0x01,
                              0,
                              0,
                              0,
                              10,
                              (uint8_t)(c->pending_rc >> 24),
                              (uint8_t)(c->pending_rc >> 16),
                              (uint8_t)(c->pending_rc >> 8),
                              (uint8_t)c->pending_rc };
    memcpy(response, hdr, sizeof(hdr));
    *size = 10;
    c->pending = false;
    return TSS2_RC_SUCCESS;
}

static void fault_finalize(TSS2_TCTI_CONTEXT *tcti)
{
    fault_ctx *c = (fault_ctx *)tcti;
    Tss2_TctiLdr_Finalize(&c->inner);
}

static TSS2_RC fault_cancel(TSS2_TCTI_CONTEXT *tcti)
{
    return Tss2_Tcti_Cancel(((fault_ctx *)tcti)->inner);
}

static TSS2_RC fault_get_poll_handles(TSS2_TCTI_CONTEXT *tcti, TSS2_TCTI_POLL_HANDLE *handles,
                                      size_t *num)
{
    return Tss2_Tcti_GetPollHandles(((fault_ctx *)tcti)->inner, handles, num);
}

static TSS2_RC fault_set_locality(TSS2_TCTI_CONTEXT *tcti, uint8_t locality)
{
    return Tss2_Tcti_SetLocality(((fault_ctx *)tcti)->inner, locality);
}

static TSS2_RC fault_make_sticky(TSS2_TCTI_CONTEXT *tcti, TPM2_HANDLE *handle, uint8_t sticky)
{
    return Tss2_Tcti_MakeSticky(((fault_ctx *)tcti)->inner, handle, sticky);
}

static TSS2_RC fault_init(TSS2_TCTI_CONTEXT *tcti, size_t *size, const char *conf)
{
    if (!size)
        return TSS2_TCTI_RC_BAD_VALUE;
    if (!tcti) {
        *size = sizeof(fault_ctx);
        return TSS2_RC_SUCCESS;
    }
    if (!conf || !*conf) {
        fprintf(stderr, "devidfault: needs the inner TCTI: devidfault:<tcti>:<conf>\n");
        return TSS2_TCTI_RC_BAD_VALUE;
    }
    fault_ctx *c = (fault_ctx *)tcti;
    memset(c, 0, sizeof(*c));
    TSS2_RC rc = Tss2_TctiLdr_Initialize(conf, &c->inner);
    if (rc != TSS2_RC_SUCCESS)
        return rc;
    c->common.v1.magic = FAULT_MAGIC;
    c->common.v1.version = 2;
    c->common.v1.transmit = fault_transmit;
    c->common.v1.receive = fault_receive;
    c->common.v1.finalize = fault_finalize;
    c->common.v1.cancel = fault_cancel;
    c->common.v1.getPollHandles = fault_get_poll_handles;
    c->common.v1.setLocality = fault_set_locality;
    c->common.makeSticky = fault_make_sticky;
    static pthread_once_t env_once = PTHREAD_ONCE_INIT;
    pthread_once(&env_once, read_env_once); /* not again on core's reconnects */
    return TSS2_RC_SUCCESS;
}

static const TSS2_TCTI_INFO info = {
    .version = 2,
    .name = "devidfault",
    .description = "devid test TCTI: injects TPM response codes in front of another TCTI",
    .config_help = "<inner tcti>:<inner conf>; DEVID_FAULT=\"cc=HEX|any rc=HEX count=N\" or "
                   "\"cc=HEX action=kill-before-command|kill-before-response skip=N\"",
    .init = fault_init,
};

const TSS2_TCTI_INFO *Tss2_Tcti_Info(void)
{
    return &info;
}
