/*
 * Small helpers every core module uses. Internal.
 */
#ifndef RTMEM_UTIL_H
#define RTMEM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rtmem/heap.h"

/* memcpy keeps these free of alias and alignment assumptions about payload
 * memory the caller may have typed; compilers emit one load/store. */
static inline uint32_t rtm_load32(const void *at)
{
    uint32_t v;
    memcpy(&v, at, sizeof v);
    return v;
}

static inline void rtm_store32(void *at, uint32_t v)
{
    memcpy(at, &v, sizeof v);
}

/* The same at a 32-bit offset from an arena's base. */
static inline uint32_t rtm_rd32(const uint8_t *base, uint32_t off)
{
    return rtm_load32(base + off);
}

static inline void rtm_wr32(uint8_t *base, uint32_t off, uint32_t v)
{
    rtm_store32(base + off, v);
}

/* v & (v - 1) clears the lowest set bit: zero exactly for powers of two. */
static inline bool rtm_is_pow2(size_t v)
{
    return v != 0 && (v & (v - 1u)) == 0;
}

/* v rounded up to a multiple of a, a power of two. */
static inline size_t rtm_align_up(size_t v, size_t a)
{
    return (v + a - 1u) & ~(a - 1u);
}

/* The application's call site: __builtin_return_address(0) in a public
 * entry point kept out of line (RTM_NOINLINE) is the instruction after the
 * application's call. Each entry point takes it once and hands it down, so
 * traces name the application, not an rtmem layer. Other compilers record
 * no caller. */
#if defined(__GNUC__) || defined(__clang__)
#define RTM_CALLER() __builtin_return_address(0)
#define RTM_NOINLINE __attribute__((noinline))
#else
#define RTM_CALLER() NULL
#define RTM_NOINLINE
#endif

/* For a helper smaller than a call to it: inlined in a build for size
 * (-Os) too, where the compiler would otherwise keep one copy and call it,
 * saving and reloading around the call what its caller had in registers. */
#if defined(__GNUC__) || defined(__clang__)
#define RTM_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define RTM_ALWAYS_INLINE inline
#endif

/* The site a layer passed on, its caller filled in when it has none, or a
 * site naming just the caller. */
static inline rtm_alloc_site_t rtm_site_or(const rtm_alloc_site_t *site, const void *caller)
{
    rtm_alloc_site_t s = {NULL, 0, caller};
    if (site != NULL) {
        s = *site;
        if (s.caller == NULL) {
            s.caller = caller;
        }
    }
    return s;
}

#endif
