/* SPDX-License-Identifier: Apache-2.0 */
/* The keyd replay: the life of the module in keyd's process: fork, threads, and loading the
 * module for every single operation (leaking nothing: threads, descriptors, memory, TPM
 * objects). */
#include "keyd.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- fork: the child must initialise again ------------------------------------------------ */

void fork_rule(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        CK_ULONG n = 0;
        int bad = 0;
        bad |= f->C_GetSlotList(CK_FALSE, NULL, &n) != CKR_CRYPTOKI_NOT_INITIALIZED;
        bad |= f->C_GetSessionInfo(s, &(CK_SESSION_INFO){ 0 }) != CKR_CRYPTOKI_NOT_INITIALIZED;
        bad |= f->C_Initialize(&keyd_args) != CKR_OK; /* no TPM access: the parent holds it */
        CK_INFO info;
        bad |= f->C_GetInfo(&info) != CKR_OK;
        bad |= f->C_GetSessionInfo(s, &(CK_SESSION_INFO){ 0 }) != CKR_SESSION_HANDLE_INVALID;
        bad |= f->C_Finalize(NULL) != CKR_OK;
        _exit(bad);
    }
    int st = 0;
    CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "forked child: status 0x%x", st);
    CK_SESSION_INFO si;
    CHECK_RV(f->C_GetSessionInfo(s, &si), CKR_OK); /* the parent goes on */
}

/* ---- threads: keyd is multi-threaded ------------------------------------------------------- */

typedef struct {
    CK_FUNCTION_LIST *f;
    CK_SLOT_ID slot;
    int ok;
} thread_arg;

static void *signer(void *p)
{
    thread_arg *a = p;
    CK_FUNCTION_LIST *f = a->f;
    CK_SESSION_HANDLE s;
    if (f->C_OpenSession(a->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s) != CKR_OK)
        return NULL;
    CK_OBJECT_HANDLE pub, priv;
    keyd_login(f, s);
    if (!keyd_key_pair(f, s, "IDevID", &pub, &priv))
        return NULL;
    EVP_PKEY *pk = pub_from_attrs(f, s, pub);
    for (int i = 0; pk && i < 10; i++) {
        unsigned char dg[32], sig[512],
            di[51] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                       0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };
        char msg[32];
        snprintf(msg, sizeof(msg), "thread %p %d", (void *)a, i);
        EVP_Digest(msg, strlen(msg), dg, NULL, EVP_sha256(), NULL);
        memcpy(di + 19, dg, 32);
        CK_MECHANISM m = { rsa ? CKM_RSA_PKCS : CKM_ECDSA, NULL, 0 };
        CK_ULONG siglen = sizeof(sig);
        keyd_login(f, s);
        if (f->C_SignInit(s, &m, priv) != CKR_OK ||
            f->C_Sign(s, rsa ? di : dg, rsa ? sizeof(di) : 32, sig, &siglen) != CKR_OK)
            break;
        bool good = rsa ? verify_rsa(pk, RSA_PKCS1_PADDING, EVP_sha256(), dg, 32, sig, siglen)
                        : verify_rs(pk, dg, 32, sig, siglen);
        a->ok += good;
    }
    EVP_PKEY_free(pk);
    f->C_CloseSession(s);
    return NULL;
}

void threads(CK_FUNCTION_LIST *f, CK_SLOT_ID slot)
{
    pthread_t t[4];
    thread_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (thread_arg){ f, slot, 0 };
        CHECK(pthread_create(&t[i], NULL, signer, &a[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK(a[i].ok == 10, "thread %d: %d of 10 signatures verified", i, a[i].ok);
    }
}

/* ---- dlopen → C_Initialize → one operation → C_Finalize → dlclose, 100 times ---------------- */

static int count_dir(const char *path)
{
    DIR *d = opendir(path);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static long rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *fp = fopen("/proc/self/statm", "r");
    if (fp && fscanf(fp, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    if (fp)
        fclose(fp);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static bool one_cycle(void)
{
    p11_mod m;
    if (!mod_load(&m, module_path))
        return false;
    CK_FUNCTION_LIST *f = m.f;
    bool ok = f->C_Initialize(&keyd_args) == CKR_OK;
    CK_SLOT_ID slot = 0;
    CK_ULONG n = 1;
    CK_SESSION_HANDLE s = 0;
    ok = ok && f->C_GetSlotList(CK_TRUE, &slot, &n) == CKR_OK && n == 1 &&
         f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s) == CKR_OK;
    if (ok && identities) {
        CK_OBJECT_HANDLE pub, priv;
        unsigned char buf[64] = { 1 }, sig[512];
        CK_ULONG siglen = sizeof(sig);
        CK_MECHANISM mech = { rsa ? CKM_RSA_X_509 : CKM_ECDSA, NULL, 0 };
        buf[0] = 0;
        keyd_login(f, s);
        ok = keyd_key_pair(f, s, "LDevID", &pub, &priv) &&
             f->C_SignInit(s, &mech, priv) == CKR_OK &&
             f->C_Sign(s, buf, rsa ? sizeof(buf) : 32, sig, &siglen) == CKR_OK;
    }
    if (f->C_Finalize(NULL) != CKR_OK)
        ok = false;
    mod_unload(&m);
    return ok;
}

void cycles(void)
{
    /* Under valgrind (tests/soak/valgrind.sh sets DEVID_TEST_VALGRIND) memcheck finds a leak
     * per cycle in 20 cycles as well as in 100, at a fifth of the time, and the RSS is
     * valgrind's own (its shadow memory and the freed blocks it holds back). */
    bool valgrind = getenv("DEVID_TEST_VALGRIND") != NULL;
    int measured = valgrind ? 15 : 95;
    int failures = 0;
    for (int i = 0; i < 5; i++)
        failures += !one_cycle();
    int fds = count_dir("/proc/self/fd"), tasks = count_dir("/proc/self/task");
    long rss = rss_kib();
    for (int i = 0; i < measured; i++)
        failures += !one_cycle();
    CHECK(failures == 0, "%d of %d load/operate/unload cycles failed", failures, 5 + measured);
    CHECK(count_dir("/proc/self/fd") == fds, "file descriptors: %d before, %d after", fds,
          count_dir("/proc/self/fd"));
    CHECK(count_dir("/proc/self/task") == tasks, "threads: %d before, %d after", tasks,
          count_dir("/proc/self/task"));
#if !defined(__SANITIZE_ADDRESS__) /* (ASan's quarantine grows; LeakSanitizer checks) */
    long grown = rss_kib() - rss;
    if (!valgrind)
        CHECK(grown < 1024, "RSS grew by %ld KiB over 95 cycles", grown);
#else
    (void)rss;
#endif
}

/* With the module unloaded, the TPM holds nothing of ours: no transient objects, no sessions. */
void tpm_left_clean(void)
{
    int rc = system("test -z \"$(tpm2_getcap handles-transient)\" && "
                    "test -z \"$(tpm2_getcap handles-loaded-session)\"");
    CHECK(rc == 0, "transient objects or sessions left in the TPM");
}
