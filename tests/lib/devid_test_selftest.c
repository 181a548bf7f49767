/* SPDX-License-Identifier: Apache-2.0 */
/* A program for runner.sh: known cases (one fails on purpose) to judge the runner by. */
#include "devid_test.h"

#include <string.h>

static int setups;
static int argc_seen;
static char **argv_seen;

static int setup(void)
{
    printf("# setup %d\n", ++setups);
    return 0;
}

static void teardown(void)
{
    printf("# teardown\n");
}

static void test_pass(void)
{
    CHECK(setups == 1, "the setup ran once, before the case (%d)", setups);
}

static void test_fail(void)
{
    CHECK(0, "the case that fails");
}

static void test_data(const void *data)
{
    CHECK(strcmp(data, "datum") == 0, "the registered data pointer");
}

static void test_args(void)
{
    const char *first = devid_test_arg(argc_seen, argv_seen, 0);
    const char *second = devid_test_arg(argc_seen, argv_seen, 1);
    printf("# args %s %s\n", first ? first : "-", second ? second : "-");
}

static int story_at;

static void test_story_one(void)
{
    story_at = 1;
}

static void test_story_two(void)
{
    CHECK(story_at == 1, "the step before ran first (%d)", story_at);
    story_at = 2;
}

int main(int argc, char **argv)
{
    argc_seen = argc;
    argv_seen = argv;
    devid_test_fixture(setup, teardown);
    devid_test(test_pass, "/self/pass");
    devid_test(test_pass, "/self/group/a");
    devid_test(test_pass, "/self/group/b");
    devid_test(test_fail, "/self/fail");
    devid_testx(test_data, "datum", "/selfx/data");
    devid_test(test_args, "/selfx/args");
    devid_test(test_story_one, "/story/one");
    devid_test_step(test_story_two, "/story/two");
    devid_test(test_pass, "/story/after");
    return devid_test_run("self", argc, argv);
}
