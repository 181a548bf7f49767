/* SPDX-License-Identifier: Apache-2.0 */
#include "revocation.h"
#include "clock_hint.h"
#include "est.h"
#include "revocation_cache.h"
#include "fsutil.h"
#include "log.h"

#include "devid.h"

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ANSWER (1024 * 1024)
#define FETCH_TIMEOUT 10L

const char *revocation_status_name(revocation_status s)
{
    static const char *const names[] = { "not checked", "good", "revoked", "unknown",
                                         "unavailable" };
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

/* ---- the issuer ---- */

static X509 *issuer_in(STACK_OF(X509) *certs, X509 *cert)
{
    for (int i = 0; certs && i < sk_X509_num(certs); i++)
        if (X509_check_issued(sk_X509_value(certs, i), cert) == X509_V_OK)
            return sk_X509_value(certs, i);
    return NULL;
}

/* Every certificate of the anchor files, and the chain, in one stack (owned). */
static STACK_OF(X509) *candidates(STACK_OF(X509) *chain, const char *const *anchors)
{
    STACK_OF(X509) *all = sk_X509_new_null();
    for (int i = 0; all && chain && i < sk_X509_num(chain); i++)
        if (X509_up_ref(sk_X509_value(chain, i)) && !sk_X509_push(all, sk_X509_value(chain, i)))
            X509_free(sk_X509_value(chain, i));
    for (size_t f = 0; all && anchors && anchors[f]; f++) {
        FILE *in = fopen(anchors[f], "re");
        X509 *c;
        while (in && (c = PEM_read_X509(in, NULL, NULL, NULL)))
            if (!sk_X509_push(all, c))
                X509_free(c);
        if (in)
            fclose(in);
    }
    ERR_clear_error();
    return all;
}

/* ---- fetching ---- */

typedef struct {
    unsigned char *data;
    size_t len;
} buffer;

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    buffer *b = arg;
    size_t add = size * n;
    if (b->len + add > MAX_ANSWER)
        return 0;
    unsigned char *grown = realloc(b->data, b->len + add);
    if (!grown)
        return 0;
    memcpy(grown + b->len, p, add);
    b->data = grown;
    b->len += add;
    return add;
}

/* GET (body NULL) or POST an OCSP request; true with a 200 answer in *out. */
static bool fetch(const char *url, const unsigned char *body, size_t body_len, buffer *out,
                  char *why, size_t why_len)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    if (!curl) {
        snprintf(why, why_len, "curl");
        return false;
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, FETCH_TIMEOUT);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, FETCH_TIMEOUT);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, EST_USER_AGENT);
    if (body) {
        headers = curl_slist_append(headers, "Content-Type: application/ocsp-request");
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    CURLcode cc = curl_easy_perform(curl);
    long status = 0, verify = X509_V_OK;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (cc == CURLE_PEER_FAILED_VERIFICATION)
        curl_easy_getinfo(curl, CURLINFO_SSL_VERIFYRESULT, &verify);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (cc != CURLE_OK || status != 200) {
        snprintf(why, why_len, "%s: %s", url,
                 cc != CURLE_OK ? (errbuf[0] ? errbuf : curl_easy_strerror(cc)) : "not HTTP 200");
        clock_hint_append(why, why_len, verify); /* an https responder's certificate */
        return false;
    }
    return true;
}

static time_t to_time(const ASN1_GENERALIZEDTIME *t)
{
    struct tm tm;
    return t && ASN1_TIME_to_tm(t, &tm) == 1 ? timegm(&tm) : 0;
}

/* ---- OCSP ---- */

static bool ocsp(X509 *cert, X509 *issuer, STACK_OF(X509) *certs, X509_STORE *store,
                 const char *url, revocation_result *r)
{
    OCSP_REQUEST *req = OCSP_REQUEST_new();
    OCSP_CERTID *id = OCSP_cert_to_id(NULL, cert, issuer);
    OCSP_CERTID *id_copy = id ? OCSP_CERTID_dup(id) : NULL;
    unsigned char *der = NULL;
    int der_len = -1;
    bool ok = false;
    buffer answer = { 0 };
    OCSP_RESPONSE *resp = NULL;
    OCSP_BASICRESP *basic = NULL;
    snprintf(r->url, sizeof(r->url), "%s", url);
    r->source = "ocsp";
    if (!req || !id || !id_copy || !OCSP_request_add0_id(req, id)) {
        OCSP_CERTID_free(id);
        snprintf(r->detail, sizeof(r->detail), "cannot build the OCSP request");
        goto out;
    }
    if (OCSP_request_add1_nonce(req, NULL, -1) != 1 ||
        (der_len = i2d_OCSP_REQUEST(req, &der)) <= 0) {
        snprintf(r->detail, sizeof(r->detail), "cannot encode the OCSP request");
        goto out;
    }
    if (!fetch(url, der, (size_t)der_len, &answer, r->detail, sizeof(r->detail)))
        goto out;
    const unsigned char *p = answer.data;
    resp = d2i_OCSP_RESPONSE(NULL, &p, (long)answer.len);
    int rstatus = resp ? OCSP_response_status(resp) : -1;
    if (rstatus != OCSP_RESPONSE_STATUS_SUCCESSFUL || !(basic = OCSP_response_get1_basic(resp))) {
        snprintf(r->detail, sizeof(r->detail), "%s: OCSP response status %s", url,
                 rstatus < 0 ? "unreadable" : OCSP_response_status_str(rstatus));
        goto out;
    }
    if (OCSP_check_nonce(req, basic) <= 0) {
        snprintf(r->detail, sizeof(r->detail), "%s: OCSP answer without our nonce", url);
        goto out;
    }
    if (OCSP_basic_verify(basic, certs, store, 0) != 1) {
        snprintf(r->detail, sizeof(r->detail), "%s: the OCSP answer's signature does not verify",
                 url);
        goto out;
    }
    int status = -1, reason = -1;
    ASN1_GENERALIZEDTIME *rev = NULL, *this_upd = NULL, *next_upd = NULL;
    if (OCSP_resp_find_status(basic, id_copy, &status, &reason, &rev, &this_upd, &next_upd) != 1) {
        snprintf(r->detail, sizeof(r->detail), "%s: the OCSP answer is not about this certificate",
                 url);
        goto out;
    }
    if (OCSP_check_validity(this_upd, next_upd, 300, -1) != 1) {
        snprintf(r->detail, sizeof(r->detail), "%s: the OCSP answer is not current", url);
        goto out;
    }
    r->next_update = to_time(next_upd);
    r->revoked_at = to_time(rev);
    r->status = status == V_OCSP_CERTSTATUS_GOOD      ? REVOCATION_GOOD
                : status == V_OCSP_CERTSTATUS_REVOKED ? REVOCATION_REVOKED
                                                      : REVOCATION_UNKNOWN;
    if (r->status == REVOCATION_UNKNOWN)
        snprintf(r->detail, sizeof(r->detail), "the responder does not know this certificate");
    ok = true;
out:
    OPENSSL_free(der);
    free(answer.data);
    OCSP_BASICRESP_free(basic);
    OCSP_RESPONSE_free(resp);
    OCSP_CERTID_free(id_copy);
    OCSP_REQUEST_free(req);
    ERR_clear_error();
    return ok;
}

/* ---- CRL ---- */

static bool crl(X509 *cert, X509 *issuer, const char *url, revocation_result *r)
{
    buffer answer = { 0 };
    X509_CRL *list = NULL;
    bool ok = false;
    snprintf(r->url, sizeof(r->url), "%s", url);
    r->source = "crl";
    if (!fetch(url, NULL, 0, &answer, r->detail, sizeof(r->detail)))
        goto out;
    const unsigned char *p = answer.data;
    list = d2i_X509_CRL(NULL, &p, (long)answer.len);
    if (!list) {
        BIO *bio = BIO_new_mem_buf(answer.data, (int)answer.len);
        list = bio ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
    }
    EVP_PKEY *key = X509_get0_pubkey(issuer);
    if (!list || X509_NAME_cmp(X509_CRL_get_issuer(list), X509_get_subject_name(issuer)) != 0 ||
        !key || X509_CRL_verify(list, key) != 1) {
        snprintf(r->detail, sizeof(r->detail), "%.200s: no CRL signed by the issuer", url);
        goto out;
    }
    time_t next = to_time(X509_CRL_get0_nextUpdate(list));
    if (next && next < time(NULL)) {
        snprintf(r->detail, sizeof(r->detail), "%.200s: the CRL is past its nextUpdate", url);
        goto out;
    }
    X509_REVOKED *entry = NULL;
    r->next_update = next;
    if (X509_CRL_get0_by_cert(list, &entry, cert) == 1) {
        r->status = REVOCATION_REVOKED;
        r->revoked_at = to_time(X509_REVOKED_get0_revocationDate(entry));
    } else {
        r->status = REVOCATION_GOOD;
    }
    ok = true;
out:
    X509_CRL_free(list);
    free(answer.data);
    ERR_clear_error();
    return ok;
}

static bool first_crl_url(X509 *cert, char *url, size_t len)
{
    STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
    bool found = false;
    for (int i = 0; dps && !found && i < sk_DIST_POINT_num(dps); i++) {
        DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
        if (!dp->distpoint || dp->distpoint->type != 0)
            continue;
        GENERAL_NAMES *names = dp->distpoint->name.fullname;
        for (int j = 0; !found && j < sk_GENERAL_NAME_num(names); j++) {
            GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, j);
            if (gn->type != GEN_URI)
                continue;
            const char *u = (const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
            found = (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0) &&
                    (size_t)snprintf(url, len, "%s", u) < len;
        }
    }
    sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
    return found;
}

/* ---- the cache ---- */

static bool cache_path(X509 *cert, char *path, size_t len, bool make_dir)
{
    unsigned char md[32];
    unsigned int n = 0;
    const char *store = devid_core_config() ? devid_core_config()->store : NULL;
    if (!store || X509_digest(cert, EVP_sha256(), md, &n) != 1)
        return false;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/revocation", store);
    if (make_dir &&
        (devid_ensure_dir(store, 0700) != DEVID_OK || devid_ensure_dir(dir, 0755) != DEVID_OK)) {
        devid_clear_error();
        return false;
    }
    size_t k = (size_t)snprintf(path, len, "%s/", dir);
    for (unsigned i = 0; i < n && k + 3 < len; i++)
        k += (size_t)snprintf(path + k, len - k, "%02x", md[i]);
    return k + 3 < len;
}

static bool cache_read(X509 *cert, revocation_result *r)
{
    char path[4200];
    unsigned char *data = NULL;
    size_t len = 0;
    if (!cache_path(cert, path, sizeof(path), false) ||
        devid_read_file(path, 1024, &data, &len) != DEVID_OK) {
        devid_clear_error();
        return false;
    }
    bool ok = revocation_cache_parse((const char *)data, len, time(NULL), r);
    free(data);
    return ok;
}

static void cache_write(X509 *cert, const revocation_result *r)
{
    char path[4200], text[512];
    if (!revocation_cache_format(r, text, sizeof(text)) ||
        !cache_path(cert, path, sizeof(path), true))
        return;
    if (devid_write_file_atomic(path, text, strlen(text), 0644) != DEVID_OK) {
        devid_warn("revocation cache %s: %s", path, devid_last_error());
        devid_clear_error();
    }
}

/* ---- the check ---- */

void revocation_check(X509 *cert, STACK_OF(X509) *chain, const char *const *anchors,
                      revocation_result *out)
{
    memset(out, 0, sizeof(*out));
    out->source = "";
    STACK_OF(OPENSSL_STRING) *ocsp_urls = X509_get1_ocsp(cert);
    char crl_url[256];
    bool has_crl = first_crl_url(cert, crl_url, sizeof(crl_url));
    if (sk_OPENSSL_STRING_num(ocsp_urls) <= 0 && !has_crl) {
        X509_email_free(ocsp_urls);
        return; /* REVOCATION_NOT_CHECKED */
    }
    if (cache_read(cert, out)) {
        X509_email_free(ocsp_urls);
        return;
    }
    STACK_OF(X509) *certs = candidates(chain, anchors);
    X509 *issuer = issuer_in(certs, cert);
    X509_STORE *store = X509_STORE_new();
    for (int i = 0; store && certs && i < sk_X509_num(certs); i++)
        X509_STORE_add_cert(store, sk_X509_value(certs, i));
    out->status = REVOCATION_UNAVAILABLE;
    if (!issuer || !store) {
        snprintf(out->detail, sizeof(out->detail),
                 "the issuer's certificate is not at hand "
                 "(chain or trust anchors)");
    } else {
        bool answered = false;
        for (int i = 0; !answered && i < sk_OPENSSL_STRING_num(ocsp_urls); i++) {
            const char *u = sk_OPENSSL_STRING_value(ocsp_urls, i);
            if (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0)
                answered = ocsp(cert, issuer, certs, store, u, out);
        }
        if (!answered && has_crl) {
            char ocsp_why[sizeof(out->detail)];
            snprintf(ocsp_why, sizeof(ocsp_why), "%s", out->detail);
            out->status = REVOCATION_UNAVAILABLE;
            answered = crl(cert, issuer, crl_url, out);
            if (!answered && ocsp_why[0]) {
                size_t n = strlen(out->detail);
                snprintf(out->detail + n, sizeof(out->detail) - n, "; %s", ocsp_why);
            }
        }
        if (!answered)
            out->status = REVOCATION_UNAVAILABLE;
    }
    if (out->status == REVOCATION_UNAVAILABLE)
        devid_warn("revocation status unavailable: %s", out->detail);
    else
        cache_write(cert, out);
    X509_STORE_free(store);
    sk_X509_pop_free(certs, X509_free);
    X509_email_free(ocsp_urls);
    ERR_clear_error();
}
