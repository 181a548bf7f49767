/* SPDX-License-Identifier: Apache-2.0 */
/* devid-enroll renew [NAME...]: one pass over the renewable identities (all, or those named),
 * renewing those that are due (all of them with --force) and running the renewal hook after
 * each. The daemon (cmd_run.c) repeats the same pass. */
#include "json.h"
#include "log.h"
#include "renewal.h"
#include "revocation.h"
#include "service.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void run_hook(const char *name)
{
    const enroll_config *conf = NULL;
    const char *hook = enroll_config_get(&conf) == DEVID_OK ? conf->renew.hook : NULL;
    if (!hook)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        setenv("DEVID_RENEWED", name, 1);
        execl("/bin/sh", "sh", "-c", hook, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    if (pid > 0)
        waitpid(pid, &st, 0);
    if (pid < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fprintf(stderr, "devid-enroll: renewal hook for %s failed\n", name);
}

static double random01(void)
{
    unsigned int r = 0;
    if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
        r = (unsigned int)getpid();
    return (double)r / 4294967296.0;
}

/* The jitter of a certificate's renewal is drawn once: from its own bytes, so every pass (and
 * every restart) agrees on its due time while certificates across a fleet spread evenly. */
static double jitter_of(const X509 *cert)
{
    unsigned char md[32];
    unsigned int n = 0;
    if (X509_digest(cert, EVP_sha256(), md, &n) != 1 || n < 4)
        return random01();
    uint32_t v = (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 | (uint32_t)md[2] << 8 | md[3];
    return (double)v / 4294967296.0;
}

static bool is_due(const X509 *cert, bool force, time_t *due)
{
    const enroll_config *conf = NULL;
    if (enroll_config_get(&conf) != DEVID_OK) /* (checked by enroll_ctx_init before) */
        return false;
    const enroll_renew_config *rc = &conf->renew;
    *due = renewal_due(cert, rc->threshold, rc->jitter, jitter_of(cert));
    return force || *due == (time_t)-1 || time(NULL) >= *due;
}

/* A revoked IDevID is fatal: the device's factory identity is withdrawn, and nothing it would
 * authenticate (the LDevID, and through it the rest) is renewed. */
static bool idevid_revoked(void)
{
    devid_identity *id = NULL;
    bool revoked = false;
    char why[1024] = "";
    /* the certificate only (not the key: that would cost a TPM2_ReadPublic per pass) */
    if (devid_identity_probe(DEVID_MAP_IDEVID, &id) == DEVID_OK &&
        devid_identity_load_cert(id) == DEVID_OK && id->cert) {
        const char *anchors[3];
        revocation_result rev;
        status_revocation_anchors(anchors);
        revocation_check(id->cert, id->chain, anchors, &rev);
        revoked = rev.status == REVOCATION_REVOKED;
        if (revoked) {
            fprintf(stderr,
                    "devid-enroll renew: the IDevID is revoked (%s %s): fatal, nothing "
                    "renewed; the device needs its manufacturer\n",
                    rev.source, rev.url);
            snprintf(why, sizeof(why), "the IDevID is revoked (%s %s): nothing renewed", rev.source,
                     rev.url);
        }
    }
    devid_identity_free(id);
    devid_clear_error();
    if (revoked) {
        devid_err("%s", why);                  /* the log */
        devid_fail(DEVID_ERR_AUTH, "%s", why); /* --json's error object */
    }
    return revoked;
}

/* Notes one identity's outcome for --json (nothing without a report; a full report is
 * said on stderr and the pass goes on). */
static renew_outcome *note(const service_args *a, const char *name, const char *action)
{
    renew_report *rep = a->report;
    if (!rep)
        return NULL;
    renew_outcome *more = realloc(rep->items, (rep->n + 1) * sizeof(*more));
    if (!more) {
        fprintf(stderr, "devid-enroll renew: out of memory for the JSON report\n");
        return NULL;
    }
    rep->items = more;
    renew_outcome *o = &more[rep->n++];
    memset(o, 0, sizeof(*o));
    snprintf(o->name, sizeof(o->name), "%s", name);
    o->action = action;
    return o;
}

/* Whether `cert` is revoked: then it is due now, with a new key. */
static bool revoked_now(const char *name, X509 *cert, STACK_OF(X509) *chain)
{
    const char *anchors[3];
    revocation_result rev;
    status_revocation_anchors(anchors);
    revocation_check(cert, chain, anchors, &rev);
    if (rev.status != REVOCATION_REVOKED)
        return false;
    printf("%s: revoked (%s %s): renewing now with a new key\n", name, rev.source, rev.url);
    devid_warn("%s: its certificate is revoked: renewing now with a new key", name);
    return true;
}

/* Whether "NAME: not due until DUE" was said already; remembers it if not. */
static bool said_before(due_notes *notes, const char *name, time_t due)
{
    if (!notes)
        return false;
    size_t i = 0;
    while (i < notes->n && strcmp(notes->said[i].name, name) != 0)
        i++;
    if (i < notes->n && notes->said[i].due == due)
        return true;
    if (i == notes->n) {
        if (notes->n == sizeof(notes->said) / sizeof(notes->said[0]))
            return false;
        notes->n++;
        snprintf(notes->said[i].name, sizeof(notes->said[i].name), "%s", name);
    }
    notes->said[i].due = due;
    return false;
}

/* Whether `name` is one the command line asked for (all of them when none is named). */
static bool named(int argc, char **argv, const char *name)
{
    bool yes = argc == 0;
    for (int j = 0; j < argc; j++)
        yes |= strcmp(argv[j], name) == 0;
    return yes;
}

/* Identities whose key or certificate is gone cannot be renewed: said, never skipped. Returns
 * the pass's result so far. */
static int report_broken(const service_args *a, const devid_store_entry *groups, size_t ngroups,
                         int argc, char **argv, int *matched)
{
    int result = EXIT_HEALTHY;
    broken_identity *broken = NULL;
    size_t nbroken = 0;
    devid_rc rc = service_list_broken_in(groups, ngroups, &broken, &nbroken);
    if (rc != DEVID_OK) {
        result = command_failed("renew", rc);
        if (a->report)
            snprintf(a->report->error, sizeof(a->report->error), "%s", devid_last_error());
    }
    for (size_t i = 0; i < nbroken; i++) {
        if (!named(argc, argv, broken[i].name))
            continue;
        (*matched)++;
        fprintf(stderr, "devid-enroll renew: %s: broken: %s\n", broken[i].name, broken[i].reason);
        renew_outcome *o = note(a, broken[i].name, "broken");
        if (o)
            snprintf(o->error, sizeof(o->error), "%s", broken[i].reason);
        if (result == EXIT_HEALTHY)
            result = EXIT_ATTENTION;
    }
    free(broken);
    return result;
}

/* A renewal that failed: said, noted, and its exit code. A failure after the new pair was
 * stored (e.g. the TPM lost between evicting the old LDevID and persisting the new one)
 * leaves the rotation half done, the pending pair being the identity: say so rather than
 * "unchanged". */
static int renewal_failed(const service_args *a, const renewable *r, bool revoked, devid_rc rc)
{
    char detail[512], pending[DEVID_LABEL_MAX + 16];
    snprintf(detail, sizeof(detail), "%s", devid_last_error());
    snprintf(pending, sizeof(pending), "%s%s", r->name, PENDING);
    devid_store_entry g;
    bool half_done = service_find_group(pending, &g) == DEVID_OK && g.has_key && g.has_cert;
    fprintf(stderr, "devid-enroll renew: %s: %s (%s)\n", r->name, detail,
            half_done ? "the re-key is in progress: the new key and certificate are "
                        "kept, the next devid-enroll run completes it"
                      : "the current identity is unchanged");
    renew_outcome *o = note(a, r->name, "failed");
    if (o) {
        o->revoked = revoked;
        o->rekey_in_progress = half_done;
        snprintf(o->error, sizeof(o->error), "%s", detail);
    }
    return exit_code_for(rc);
}

/* One identity: renewed if due (or revoked, then with a new key), else its due time noted
 * (*next: the earliest). Returns its exit code, EXIT_HEALTHY when nothing went wrong. */
static int renew_one(enroll_ctx *ctx, const service_args *a, const renewable *r, time_t *next)
{
    renewable_identity cur;
    time_t due = 0;
    devid_rc rc = renewable_current(r, &cur);
    if (rc != DEVID_OK) {
        renewable_identity_free(&cur);
        fprintf(stderr, "devid-enroll renew: %s: %s\n", r->name, devid_last_error());
        renew_outcome *o = note(a, r->name, "failed");
        if (o)
            snprintf(o->error, sizeof(o->error), "%s", devid_last_error());
        return exit_code_for(rc);
    }
    bool revoked = revoked_now(r->name, cur.cert, cur.chain);
    if (!is_due(cur.cert, a->force, &due) && !revoked) {
        renewable_identity_free(&cur);
        if (!said_before(a->notes, r->name, due))
            printf("%s: not due until %s", r->name, ctime(&due));
        renew_outcome *o = note(a, r->name, "not-due");
        if (o)
            o->due = due;
        if (!*next || due < *next)
            *next = due;
        return EXIT_HEALTHY;
    }
    bool rekey = a->rekey || revoked;
    rc = renewable_renew(ctx, r, &cur, rekey);
    renewable_identity_free(&cur);
    if (rc != DEVID_OK)
        return renewal_failed(a, r, revoked, rc);
    printf("%s: renewed%s\n", r->name, rekey ? " with a new key" : "");
    renew_outcome *o = note(a, r->name,
                            revoked ? "revoked-renewed"
                            : rekey ? "re-keyed"
                                    : "renewed");
    if (o)
        o->revoked = revoked;
    run_hook(r->name);
    return EXIT_HEALTHY;
}

/* One pass over everything renewable. *next gets the earliest future due time. */
int renew_pass(const enroll_options *opt, const service_args *a, int argc, char **argv,
               time_t *next)
{
    enroll_ctx ctx;
    devid_rc rc = enroll_ctx_init(&ctx, opt);
    renewable *list = NULL;
    size_t n = 0;
    devid_store_entry *groups = NULL; /* the store as the pass found it: listed once */
    size_t ngroups = 0;
    if (rc == DEVID_OK)
        rc = service_recover_pending(&groups, &ngroups);
    if (rc == DEVID_OK)
        rc = renewable_list_in(groups, ngroups, &list, &n);
    if (rc != DEVID_OK) {
        free(groups);
        enroll_ctx_free(&ctx);
        return command_failed("renew", rc);
    }
    if (idevid_revoked()) {
        if (a->idevid_revoked)
            *a->idevid_revoked = true;
        free(list);
        free(groups);
        enroll_ctx_free(&ctx);
        return EXIT_ATTENTION;
    }
    int matched = 0;
    *next = 0;
    if (a->passed)
        *a->passed = true;
    int result = report_broken(a, groups, ngroups, argc, argv, &matched);
    free(groups);
    for (size_t i = 0; i < n; i++) {
        if (!named(argc, argv, list[i].name))
            continue;
        matched++;
        int ec = renew_one(&ctx, a, &list[i], next);
        if (ec != EXIT_HEALTHY)
            result = ec;
    }
    if (argc > 0 && matched < argc) {
        fprintf(stderr, "devid-enroll renew: not every name given is a renewable identity\n");
        if (a->report)
            snprintf(a->report->error, sizeof(a->report->error),
                     "not every name given is a renewable identity");
        result = EXIT_USAGE;
    }
    free(list);
    enroll_ctx_free(&ctx);
    return result;
}

static void renew_json(const renew_report *rep, int result)
{
    json_writer w;
    json_begin_command(&w, "renew");
    json_begin_array(&w, "identities");
    for (size_t i = 0; i < rep->n; i++) {
        const renew_outcome *o = &rep->items[i];
        json_begin_object(&w, NULL);
        json_string(&w, "name", o->name);
        json_string(&w, "action", o->action);
        if (o->revoked)
            json_bool(&w, "revoked", true);
        if (o->due)
            json_time(&w, "due", o->due);
        if (o->rekey_in_progress)
            json_bool(&w, "rekey_in_progress", true);
        if (o->error[0])
            json_string(&w, "error", o->error);
        json_end_object(&w);
    }
    json_end_array(&w);
    if (rep->error[0])
        json_string(&w, "error", rep->error);
    json_end_command(&w, result);
}

int cmd_renew(const enroll_options *opt, int argc, char **argv)
{
    service_args a;
    int ec = service_parse_args("renew", &argc, &argv, &a);
    if (ec != EXIT_HEALTHY)
        return ec;
    renew_report report = { 0 };
    bool passed = false;
    if (opt->json)
        a.report = &report;
    a.passed = &passed;
    time_t next;
    int result = renew_pass(opt, &a, argc, argv, &next);
    /* a pass that could not start (no configuration, no store, the IDevID revoked) is
     * reported as the error it is (main) */
    if (opt->json && passed)
        renew_json(&report, result);
    free(report.items);
    return result;
}
