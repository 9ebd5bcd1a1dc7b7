/*
 * The test runner behind tests/target/cmocka.h: runs a group of tests,
 * catches failed assertions with longjmp, prints one line per test and a
 * summary to stdout, returns the number of failed tests.
 */
#include "cmocka.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "target.h"

enum { OUTCOME_PASS = 0, OUTCOME_FAIL = 1, OUTCOME_SKIP = 2 };

/* Set while a test, its setup or its teardown runs: where an assertion
 * jumps to. Statics rather than locals, so their values survive longjmp. */
static jmp_buf g_jump;
static bool g_armed;
static void *g_state;

RTMT_NORETURN static void leave(int outcome)
{
    if (!g_armed) {
        (void)printf("assertion failed outside a test\n");
        (void)fflush(stdout);
        rtmt_target_exit(255);
    }
    longjmp(g_jump, outcome);
}

void print_message(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)vprintf(fmt, ap);
    va_end(ap);
}

void print_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)vprintf(fmt, ap);
    va_end(ap);
}

void _fail(const char *file, int line)
{
    (void)printf("%s:%d: failure\n", file, line);
    leave(OUTCOME_FAIL);
}

void _skip(const char *file, int line)
{
    (void)file;
    (void)line;
    leave(OUTCOME_SKIP);
}

void rtmt_fail_msg(const char *file, int line, const char *fmt, ...)
{
    (void)printf("%s:%d: error: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    (void)vprintf(fmt, ap);
    va_end(ap);
    (void)printf("\n");
    leave(OUTCOME_FAIL);
}

void rtmt_assert_true(int value, int expected, const char *expr, const char *file, int line)
{
    if (value != expected) {
        (void)printf("%s:%d: error: %s is %s\n", file, line, expr, value ? "true" : "false");
        leave(OUTCOME_FAIL);
    }
}

void rtmt_assert_int(uintmax_t a, uintmax_t b, int equal, const char *file, int line)
{
    if ((a == b) != (equal != 0)) {
        /* Printed both ways: a negative value shows as itself in the
         * second form. */
        (void)printf("%s:%d: error: %ju (%jd) %s %ju (%jd)\n", file, line, a, (intmax_t)a,
                     equal ? "!=" : "==", b, (intmax_t)b);
        leave(OUTCOME_FAIL);
    }
}

void rtmt_assert_ptr(const void *a, const void *b, int equal, const char *file, int line)
{
    if ((a == b) != (equal != 0)) {
        (void)printf("%s:%d: error: %p %s %p\n", file, line, a, equal ? "!=" : "==", b);
        leave(OUTCOME_FAIL);
    }
}

void rtmt_assert_null(const void *p, int expect_null, const char *expr, const char *file, int line)
{
    if ((p == NULL) != (expect_null != 0)) {
        (void)printf("%s:%d: error: %s is %s\n", file, line, expr,
                     p == NULL ? "NULL" : "not NULL");
        leave(OUTCOME_FAIL);
    }
}

void rtmt_assert_memory(const void *a, const void *b, size_t size, const char *file, int line)
{
    if (a == NULL || b == NULL) {
        (void)printf("%s:%d: error: memory compared with a NULL pointer\n", file, line);
        leave(OUTCOME_FAIL);
    }
    const unsigned char *x = a;
    const unsigned char *y = b;
    for (size_t i = 0; i < size; i++) {
        if (x[i] != y[i]) {
            (void)printf("%s:%d: error: byte %zu of %zu differs: 0x%02x != 0x%02x\n", file, line,
                         i, size, x[i], y[i]);
            leave(OUTCOME_FAIL);
        }
    }
}

void rtmt_assert_string(const char *a, const char *b, int equal, const char *file, int line)
{
    bool same = a != NULL && b != NULL && strcmp(a, b) == 0;
    if (a == NULL || b == NULL || same != (equal != 0)) {
        (void)printf("%s:%d: error: \"%s\" %s \"%s\"\n", file, line, a != NULL ? a : "(null)",
                     equal ? "!=" : "==", b != NULL ? b : "(null)");
        leave(OUTCOME_FAIL);
    }
}

/* Runs fixture (setup or teardown) under the jump; OUTCOME_FAIL if it
 * returned non-zero or failed an assertion. */
static int run_fixture(CMFixtureFunction fixture)
{
    int jumped = setjmp(g_jump);
    if (jumped != 0) {
        return jumped;
    }
    return fixture(&g_state) == 0 ? OUTCOME_PASS : OUTCOME_FAIL;
}

static int run_test(const struct CMUnitTest *t, void *group_state)
{
    g_state = t->initial_state != NULL ? t->initial_state : group_state;
    g_armed = true;
    int outcome = OUTCOME_PASS;
    if (t->setup_func != NULL) {
        outcome = run_fixture(t->setup_func);
        if (outcome == OUTCOME_FAIL) {
            (void)printf("%s: setup failed\n", t->name);
        }
    }
    if (outcome == OUTCOME_PASS) {
        int jumped = setjmp(g_jump);
        if (jumped == 0) {
            t->test_func(&g_state);
        } else {
            outcome = jumped;
        }
        /* cmocka runs the teardown after a failed or skipped test too. */
        if (t->teardown_func != NULL && run_fixture(t->teardown_func) == OUTCOME_FAIL) {
            (void)printf("%s: teardown failed\n", t->name);
            outcome = OUTCOME_FAIL;
        }
    }
    g_armed = false;
    return outcome;
}

int rtmt_run_group(const char *group_name, const struct CMUnitTest *tests, size_t count,
                   CMFixtureFunction group_setup, CMFixtureFunction group_teardown)
{
    (void)printf("[==========] %s: running %zu test(s).\n", group_name, count);
    g_state = NULL;
    if (group_setup != NULL) {
        g_armed = true;
        int outcome = run_fixture(group_setup);
        g_armed = false;
        if (outcome != OUTCOME_PASS) {
            (void)printf("[  ERROR   ] %s: group setup failed\n", group_name);
            (void)fflush(stdout);
            return (int)count;
        }
    }
    void *group_state = g_state;

    size_t passed = 0, failed = 0, skipped = 0;
    for (size_t i = 0; i < count; i++) {
        const char *name = tests[i].name != NULL ? tests[i].name : "(unnamed)";
        (void)printf("[ RUN      ] %s\n", name);
        (void)fflush(stdout);
        int outcome = run_test(&tests[i], group_state);
        if (outcome == OUTCOME_PASS) {
            passed++;
            (void)printf("[       OK ] %s\n", name);
        } else if (outcome == OUTCOME_SKIP) {
            skipped++;
            (void)printf("[  SKIPPED ] %s\n", name);
        } else {
            failed++;
            (void)printf("[  FAILED  ] %s\n", name);
        }
        (void)fflush(stdout);
    }

    if (group_teardown != NULL) {
        g_state = group_state;
        g_armed = true;
        int outcome = run_fixture(group_teardown);
        g_armed = false;
        if (outcome != OUTCOME_PASS) {
            (void)printf("[  ERROR   ] %s: group teardown failed\n", group_name);
            failed++;
        }
    }
    (void)printf("[==========] %s: %zu test(s) run.\n", group_name, count);
    (void)printf("[  PASSED  ] %zu test(s).\n", passed);
    if (skipped != 0) {
        (void)printf("[  SKIPPED ] %zu test(s).\n", skipped);
    }
    if (failed != 0) {
        (void)printf("[  FAILED  ] %zu test(s).\n", failed);
    }
    (void)fflush(stdout);
    return (int)failed;
}
