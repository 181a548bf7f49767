/* A minimal streaming JSON writer for machine-readable output (--json). */
#ifndef DEVID_JSON_H
#define DEVID_JSON_H

#include <stdbool.h>
#include <stdio.h>

typedef struct json_writer {
    FILE *out;
    int depth;
    bool need_comma[32];
} json_writer;

void json_begin_object(json_writer *w, const char *key);  /* key NULL inside arrays/top */
void json_end_object(json_writer *w);
void json_begin_array(json_writer *w, const char *key);
void json_end_array(json_writer *w);
void json_string(json_writer *w, const char *key, const char *value); /* NULL → null */
void json_int(json_writer *w, const char *key, long long value);
void json_bool(json_writer *w, const char *key, bool value);

/* Set once a command has begun a JSON document on stdout (main prints one for a command that
 * did not: --json always gives JSON, errors included). */
extern bool json_document_written;

/* {"command": cmd, "ok": false, "exit_code": code, "error": message} on stdout. */
void json_print_error(const char *cmd, int code, const char *message);

#endif
