/* SPDX-License-Identifier: Apache-2.0 */
/* The runner of devid_test.h: a fixed table of cases (no allocation, so nothing for the
 * leak checkers to report), selection by -p, listing by -l. */
#include "devid_test.h"

#include <stdbool.h>
#include <string.h>

#define MAX_CASES 256
#define MAX_SELECT 16

int check_passed, check_failed;

struct test_case {
    const char *path;
    void (*fn)(void);
    void (*fnx)(const void *data);
    const void *data;
    bool step; /* continues from the case registered before it */
    bool run;  /* selected, or a step a selected case continues from */
};

static struct test_case cases[MAX_CASES];
static int n_cases;
static int (*fixture_setup)(void);
static void (*fixture_teardown)(void);

static void add_case(struct test_case c)
{
    if (n_cases == MAX_CASES || !c.path || c.path[0] != '/') {
        fprintf(stderr,
                "devid_test: cannot register '%s' (a path starts with '/'; at most %d "
                "cases)\n",
                c.path ? c.path : "(null)", MAX_CASES);
        abort();
    }
    for (int i = 0; i < n_cases; i++)
        if (strcmp(cases[i].path, c.path) == 0) {
            fprintf(stderr, "devid_test: '%s' registered twice\n", c.path);
            abort();
        }
    cases[n_cases++] = c;
}

void devid_test(void (*fn)(void), const char *path)
{
    add_case((struct test_case){ .path = path, .fn = fn });
}

void devid_test_step(void (*fn)(void), const char *path)
{
    if (n_cases == 0) {
        fprintf(stderr, "devid_test: step '%s' continues from no case\n", path);
        abort();
    }
    add_case((struct test_case){ .path = path, .fn = fn, .step = true });
}

void devid_testx(void (*fn)(const void *data), const void *data, const char *path)
{
    add_case((struct test_case){ .path = path, .fnx = fn, .data = data });
}

void devid_test_fixture(int (*setup)(void), void (*teardown)(void))
{
    fixture_setup = setup;
    fixture_teardown = teardown;
}

const char *devid_test_arg(int argc, char **argv, int n)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-p") == 0) {
            i++; /* its value */
            continue;
        }
        if (strcmp(argv[i], "-l") == 0)
            continue;
        if (n-- == 0)
            return argv[i];
    }
    return NULL;
}

/* An exact path, or a prefix that ends in '/' (a whole suite). */
static bool path_matches(const char *path, const char *want)
{
    size_t n = strlen(want);
    if (n > 0 && want[n - 1] == '/')
        return strncmp(path, want, n) == 0;
    return strcmp(path, want) == 0;
}

int check_summary(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    fflush(stdout);
    return check_failed ? 1 : 0;
}

static bool selected(const char **want, int n_want, const char *path)
{
    if (n_want == 0)
        return true;
    for (int i = 0; i < n_want; i++)
        if (path_matches(path, want[i]))
            return true;
    return false;
}

/* Marks the cases to run: the selected ones and, backwards, what a selected step continues
 * from. */
static void mark_runs(const char **want, int n_want)
{
    for (int i = 0; i < n_cases; i++)
        cases[i].run = selected(want, n_want, cases[i].path);
    for (int i = n_cases - 1; i > 0; i--)
        if (cases[i].run && cases[i].step)
            cases[i - 1].run = true;
}

/* Collects -p/-l; every path given must match at least one case. */
static int parse_options(const char *name, int argc, char **argv, const char **want, int *n_want,
                         bool *list)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-l") == 0) {
            *list = true;
        } else if (strcmp(argv[i], "-p") == 0) {
            if (i + 1 == argc || *n_want == MAX_SELECT) {
                fprintf(stderr, "%s: -p needs a test path (at most %d)\n", name, MAX_SELECT);
                return 2;
            }
            want[(*n_want)++] = argv[++i];
        }
    }
    for (int w = 0; w < *n_want; w++) {
        bool found = false;
        for (int i = 0; i < n_cases && !found; i++)
            found = path_matches(cases[i].path, want[w]);
        if (!found) {
            fprintf(stderr, "%s: no test case matches -p %s (-l lists them)\n", name, want[w]);
            return 2;
        }
    }
    return 0;
}

int devid_test_run(const char *name, int argc, char **argv)
{
    const char *want[MAX_SELECT];
    int n_want = 0;
    bool list = false;
    int rc = parse_options(name, argc, argv, want, &n_want, &list);
    if (rc != 0)
        return rc;
    if (list) {
        for (int i = 0; i < n_cases; i++)
            printf("%s\n", cases[i].path);
        return 0;
    }
    mark_runs(want, n_want);
    bool set_up = false;
    int number = 0;
    for (int i = 0; i < n_cases; i++) {
        if (!cases[i].run)
            continue;
        if (!set_up && fixture_setup && fixture_setup() != 0) {
            printf("Bail out! %s: the fixture's setup failed\n", name);
            check_failed++;
            return check_summary(name);
        }
        set_up = true;
        int failed_before = check_failed;
        fflush(stdout);
        if (cases[i].fn)
            cases[i].fn();
        else
            cases[i].fnx(cases[i].data);
        printf("%sok %d %s\n", check_failed > failed_before ? "not " : "", ++number, cases[i].path);
        fflush(stdout);
    }
    if (set_up && fixture_teardown)
        fixture_teardown();
    return check_summary(name);
}
