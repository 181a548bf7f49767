/* SPDX-License-Identifier: Apache-2.0 */
/* A minimal streaming JSON writer for machine-readable output (--json). */
#ifndef DEVID_JSON_H
#define DEVID_JSON_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

typedef struct json_writer {
    FILE *out;
    int depth;
    bool need_comma[32];
} json_writer;

void json_begin_object(json_writer *w, const char *key); /* key NULL inside arrays/top */
void json_end_object(json_writer *w);
void json_begin_array(json_writer *w, const char *key);
void json_end_array(json_writer *w);
void json_string(json_writer *w, const char *key, const char *value); /* NULL → null */
void json_int(json_writer *w, const char *key, long long value);
void json_bool(json_writer *w, const char *key, bool value);

void json_time(json_writer *w, const char *key, time_t t); /* ISO 8601 UTC; 0 → null */

/* subject, issuer (RFC 4514, UTF-8 as is), serial (hex, as openssl x509 -serial),
 * not_before, not_after and sha256 (AB:CD:... as openssl x509 -fingerprint -sha256). */
void json_cert_fields(json_writer *w, const X509 *cert);

/* The stream the JSON document goes to: standard output as it was when json_take_stdout()
 * ran. json_take_stdout() (--json) points file descriptor 1 at standard error, so every
 * human line (and a hook's output) goes there and standard output carries the one JSON
 * document only. Returns false (errno set) if it could not. */
bool json_take_stdout(void);
FILE *json_stream(void);

/* Starts the document of a command: {"command": cmd, ... (ok and exit_code come from
 * json_end_command). */
void json_begin_command(json_writer *w, const char *cmd);
void json_end_command(json_writer *w, int exit_code);

/* Set once a command has begun a JSON document on stdout (main prints one for a command that
 * did not: --json always gives JSON, errors included). */
extern bool json_document_written;

/* {"command": cmd, "ok": false, "exit_code": code, "error": message} on stdout. */
void json_print_error(const char *cmd, int code, const char *message);

#endif
