/*
 * The part of the cmocka API that rtmem's suites use, for bare-metal
 * targets where cmocka itself is not available (docs/targets.md). The
 * suites compile unchanged against it: the names, the struct CMUnitTest
 * fields and the runner's return value (the number of failed tests) are
 * cmocka's.
 *
 * A failed assertion prints its file, line and values and leaves the test
 * through longjmp, as cmocka does; the teardown still runs. Output goes to
 * stdout (semihosting on the target).
 *
 * Not provided: mocks (will_return, expect_*), test_malloc leak checking,
 * environment variables (CMOCKA_TEST_ABORT...), XML output.
 */
#ifndef RTMEM_TARGET_CMOCKA_H
#define RTMEM_TARGET_CMOCKA_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define RTMT_NORETURN __attribute__((noreturn))
#define RTMT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define RTMT_NORETURN
#define RTMT_PRINTF(f, a)
#endif

typedef void (*CMUnitTestFunction)(void **state);
typedef int (*CMFixtureFunction)(void **state);

struct CMUnitTest {
    const char *name;
    CMUnitTestFunction test_func;
    CMFixtureFunction setup_func;
    CMFixtureFunction teardown_func;
    void *initial_state;
};

#define cmocka_unit_test(f) {#f, f, NULL, NULL, NULL}
#define cmocka_unit_test_setup(f, setup) {#f, f, setup, NULL, NULL}
#define cmocka_unit_test_teardown(f, teardown) {#f, f, NULL, teardown, NULL}
#define cmocka_unit_test_setup_teardown(f, setup, teardown) {#f, f, setup, teardown, NULL}
#define cmocka_unit_test_prestate(f, state) {#f, f, NULL, NULL, state}

/* Runs every test of the array; returns the number that failed. */
int rtmt_run_group(const char *group_name, const struct CMUnitTest *tests, size_t count,
                   CMFixtureFunction group_setup, CMFixtureFunction group_teardown);

#define cmocka_run_group_tests(tests, group_setup, group_teardown) \
    rtmt_run_group(#tests, (tests), sizeof(tests) / sizeof((tests)[0]), (group_setup), \
                   (group_teardown))
#define cmocka_run_group_tests_name(name, tests, group_setup, group_teardown) \
    rtmt_run_group((name), (tests), sizeof(tests) / sizeof((tests)[0]), (group_setup), \
                   (group_teardown))

void print_message(const char *fmt, ...) RTMT_PRINTF(1, 2);
void print_error(const char *fmt, ...) RTMT_PRINTF(1, 2);

/* Fail or skip the running test: they do not return. */
void _fail(const char *file, int line) RTMT_NORETURN;
void _skip(const char *file, int line) RTMT_NORETURN;
void rtmt_fail_msg(const char *file, int line, const char *fmt, ...) RTMT_NORETURN RTMT_PRINTF(3, 4);

#define fail() _fail(__FILE__, __LINE__)
#define skip() _skip(__FILE__, __LINE__)
#define fail_msg(...) rtmt_fail_msg(__FILE__, __LINE__, __VA_ARGS__)

/* The checks behind the assertions. Integers are compared as uintmax_t, as
 * cmocka compares them as its LargestIntegralType. */
void rtmt_assert_true(int value, int expected, const char *expr, const char *file, int line);
void rtmt_assert_int(uintmax_t a, uintmax_t b, int equal, const char *file, int line);
void rtmt_assert_ptr(const void *a, const void *b, int equal, const char *file, int line);
void rtmt_assert_null(const void *p, int expect_null, const char *expr, const char *file,
                      int line);
void rtmt_assert_memory(const void *a, const void *b, size_t size, const char *file, int line);
void rtmt_assert_string(const char *a, const char *b, int equal, const char *file, int line);

#define assert_true(c) rtmt_assert_true((c) ? 1 : 0, 1, #c, __FILE__, __LINE__)
#define assert_false(c) rtmt_assert_true((c) ? 1 : 0, 0, #c, __FILE__, __LINE__)
#define assert_int_equal(a, b) \
    rtmt_assert_int((uintmax_t)(a), (uintmax_t)(b), 1, __FILE__, __LINE__)
#define assert_int_not_equal(a, b) \
    rtmt_assert_int((uintmax_t)(a), (uintmax_t)(b), 0, __FILE__, __LINE__)
#define assert_ptr_equal(a, b) \
    rtmt_assert_ptr((const void *)(a), (const void *)(b), 1, __FILE__, __LINE__)
#define assert_ptr_not_equal(a, b) \
    rtmt_assert_ptr((const void *)(a), (const void *)(b), 0, __FILE__, __LINE__)
#define assert_null(p) rtmt_assert_null((const void *)(p), 1, #p, __FILE__, __LINE__)
#define assert_non_null(p) rtmt_assert_null((const void *)(p), 0, #p, __FILE__, __LINE__)
#define assert_memory_equal(a, b, size) \
    rtmt_assert_memory((a), (b), (size), __FILE__, __LINE__)
#define assert_string_equal(a, b) \
    rtmt_assert_string((const char *)(a), (const char *)(b), 1, __FILE__, __LINE__)
#define assert_string_not_equal(a, b) \
    rtmt_assert_string((const char *)(a), (const char *)(b), 0, __FILE__, __LINE__)

#endif
