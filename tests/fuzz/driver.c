/* SPDX-License-Identifier: Apache-2.0 */
/* Standalone replay driver for builds without libFuzzer (gcc, the ASan build).
 *
 *   fuzz_<name> PATH...
 *
 * Runs LLVMFuzzerTestOneInput on every file named (a directory: every regular file in it not
 * starting with '.', in name order), then on every proper prefix of each file, so a plain
 * build exercises truncated inputs too (FUZZ_REPLAY_PREFIXES=0: whole inputs only). Each
 * input is copied into a buffer of exactly its size, so a sanitizer build catches reads past
 * the end. Exits non-zero if no input was found; a crash or a violated property aborts. */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static size_t runs;
static int prefixes = 1;

static void run_one(const unsigned char *data, size_t len)
{
    unsigned char *copy = malloc(len ? len : 1);
    if (!copy) {
        perror("malloc");
        exit(2);
    }
    if (len)
        memcpy(copy, data, len);
    LLVMFuzzerTestOneInput(copy, len);
    free(copy);
    runs++;
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    unsigned char *data = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? 2 * cap : 4096;
            unsigned char *grown = realloc(data, cap);
            if (!grown) {
                perror("realloc");
                exit(2);
            }
            data = grown;
        }
        size_t n = fread(data + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        fprintf(stderr, "%s: read error\n", path);
        free(data);
        return -1;
    }
    run_one(data, len);
    for (size_t n = 0; prefixes && n < len; n++)
        run_one(data, n);
    free(data);
    return 0;
}

static int skip_hidden(const struct dirent *de)
{
    return de->d_name[0] != '.';
}

/* Returns the number of inputs run, -1 on error. */
static int run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return run_file(path) == 0 ? 1 : -1;
    struct dirent **names = NULL;
    int n = scandir(path, &names, skip_hidden, alphasort);
    if (n < 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    int count = 0;
    for (int i = 0; i < n; i++) {
        char child[4096];
        snprintf(child, sizeof(child), "%s/%s", path, names[i]->d_name);
        if (count >= 0 && stat(child, &st) == 0 && S_ISREG(st.st_mode))
            count = run_file(child) == 0 ? count + 1 : -1;
        free(names[i]);
    }
    free(names);
    return count;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    const char *p = getenv("FUZZ_REPLAY_PREFIXES");
    prefixes = !(p && strcmp(p, "0") == 0);
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    int inputs = 0;
    for (int i = 1; i < argc; i++) {
        int n = run_path(argv[i]);
        if (n < 0)
            return 1;
        inputs += n;
    }
    printf("%s: %d inputs, %zu runs%s: no crash\n", argv[0], inputs, runs,
           prefixes ? " (with prefixes)" : "");
    if (inputs == 0) {
        fprintf(stderr, "%s: no inputs found\n", argv[0]);
        return 1;
    }
    return 0;
}
