#include "json.h"

static void put_escaped(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

static void prefix(json_writer *w, const char *key)
{
    if (w->depth > 0 && w->need_comma[w->depth])
        fputc(',', w->out);
    if (w->depth > 0) {
        fputc('\n', w->out);
        for (int i = 0; i < w->depth; i++)
            fputs("  ", w->out);
    }
    if (w->depth > 0)
        w->need_comma[w->depth] = true;
    if (key) {
        put_escaped(w->out, key);
        fputs(": ", w->out);
    }
}

bool json_document_written;

static void open_(json_writer *w, const char *key, char c)
{
    if (w->depth == 0 && w->out == stdout)
        json_document_written = true;
    prefix(w, key);
    fputc(c, w->out);
    if (w->depth < 31)
        w->depth++;
    w->need_comma[w->depth] = false;
}

static void close_(json_writer *w, char c)
{
    bool had = w->need_comma[w->depth];
    if (w->depth > 0)
        w->depth--;
    if (had) {
        fputc('\n', w->out);
        for (int i = 0; i < w->depth; i++)
            fputs("  ", w->out);
    }
    fputc(c, w->out);
    if (w->depth == 0)
        fputc('\n', w->out);
}

void json_begin_object(json_writer *w, const char *key) { open_(w, key, '{'); }
void json_end_object(json_writer *w) { close_(w, '}'); }
void json_begin_array(json_writer *w, const char *key) { open_(w, key, '['); }
void json_end_array(json_writer *w) { close_(w, ']'); }

void json_string(json_writer *w, const char *key, const char *value)
{
    prefix(w, key);
    if (value)
        put_escaped(w->out, value);
    else
        fputs("null", w->out);
}

void json_int(json_writer *w, const char *key, long long value)
{
    prefix(w, key);
    fprintf(w->out, "%lld", value);
}

void json_bool(json_writer *w, const char *key, bool value)
{
    prefix(w, key);
    fputs(value ? "true" : "false", w->out);
}

void json_print_error(const char *cmd, int code, const char *message)
{
    json_writer w = { .out = stdout };
    json_begin_object(&w, NULL);
    json_string(&w, "command", cmd);
    json_bool(&w, "ok", false);
    json_int(&w, "exit_code", code);
    json_string(&w, "error", message && *message ? message : "failed (see stderr)");
    json_end_object(&w);
}
