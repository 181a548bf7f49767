/* SPDX-License-Identifier: Apache-2.0 */
/* The clock hint (enroll/clock_hint.c): appended for the four verdicts on time (certificate
 * and CRL, not yet valid and expired), never for another verification failure, and never past
 * the end of the buffer. */
#include "devid_test.h"
#include "clock_hint.h"

#include <openssl/x509_vfy.h>
#include <string.h>

#define HINT " -- judged by this device's clock, which reads "

static void test_time_verdicts(void)
{
    static const long codes[] = { X509_V_ERR_CERT_NOT_YET_VALID, X509_V_ERR_CERT_HAS_EXPIRED,
                                  X509_V_ERR_CRL_NOT_YET_VALID, X509_V_ERR_CRL_HAS_EXPIRED };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        char buf[512] = "certificate is not yet valid";
        clock_hint_append(buf, sizeof(buf), codes[i]);
        static const char start[] = "certificate is not yet valid" HINT;
        CHECK(strncmp(buf, start, strlen(start)) == 0, "code %ld: %s", codes[i], buf);
        const char *reads = strstr(buf, "reads ");
        int y, mo, d, h, mi, s;
        char z = 0;
        CHECK(reads &&
                  sscanf(reads, "reads %4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &z) ==
                      7 &&
                  z == 'Z',
              "code %ld: an ISO 8601 UTC reading: %s", codes[i], buf);
        CHECK(strstr(buf, "; if that is wrong, the clock needs setting (a device without a "
                          "battery-backed clock: its time service first)") != NULL,
              "code %ld: the hint: %s", codes[i], buf);
    }
}

static void test_other_verdicts(void)
{
    static const long codes[] = { X509_V_OK,
                                  X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
                                  X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
                                  X509_V_ERR_CERT_REVOKED,
                                  X509_V_ERR_HOSTNAME_MISMATCH,
                                  -1 };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        char buf[512] = "some failure";
        clock_hint_append(buf, sizeof(buf), codes[i]);
        CHECK(strcmp(buf, "some failure") == 0, "code %ld: unchanged: %s", codes[i], buf);
    }
}

static void test_bounds(void)
{
    char buf[40 + 1];
    memset(buf, 'x', sizeof(buf));
    buf[30] = '\0';
    clock_hint_append(buf, 40, X509_V_ERR_CERT_HAS_EXPIRED);
    CHECK(strlen(buf) == 39 && buf[40] == 'x', "cut at the buffer's end: %s", buf);
    char full[8] = "1234567"; /* no room left: unchanged */
    clock_hint_append(full, sizeof(full), X509_V_ERR_CERT_HAS_EXPIRED);
    CHECK(strcmp(full, "1234567") == 0, "a full buffer is left alone: %s", full);
}

int main(int argc, char **argv)
{
    devid_test(test_time_verdicts, "/clock-hint/time-verdicts");
    devid_test(test_other_verdicts, "/clock-hint/other-verdicts");
    devid_test(test_bounds, "/clock-hint/bounds");
    return devid_test_run("enroll-clock-hint", argc, argv);
}
