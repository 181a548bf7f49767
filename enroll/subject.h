/* SPDX-License-Identifier: Apache-2.0 */
/* --subject: distinguished names as the user writes and reads them. */
#ifndef DEVID_ENROLL_SUBJECT_H
#define DEVID_ENROLL_SUBJECT_H

#include "devid.h"

#include <openssl/x509.h>
#include <stdio.h>

/* Parses a distinguished name in RFC 4514 string syntax ("O=Maker\, Inc,CN=X200+serialNumber=7":
 * \-escapes of special characters and \XX hex pairs, '+' joining a multi-valued RDN, UTF-8
 * values) or the slash form of `openssl req -subj` ("/O=Maker/CN=X200"). The RDNs are encoded
 * in the order written (as `openssl req -subj` does). Hex-encoded values (#...), unknown
 * attribute types, empty values, NUL bytes and invalid UTF-8 are refused with a message. */
devid_rc enroll_subject_parse(const char *text, X509_NAME **out);

/* Prints `name` on one line, RFC 4514 escaped, with its non-ASCII characters as UTF-8. */
void enroll_subject_print(FILE *f, const X509_NAME *name);

/* The same into buf (truncated to n - 1 bytes, always terminated). */
void enroll_subject_to_string(const X509_NAME *name, char *buf, size_t n);

#endif
