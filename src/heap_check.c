/*
 * The walk and the checkers of a heap: rtm_heap_walk, rtm_heap_check,
 * rtm_heap_check_step. Kept out of heap.c so that a program that only
 * allocates links none of this, nor any strategy's walk and check code:
 * the strategy's rtm_strategy_inspect_t is found here by its id.
 */
#include <string.h>

#include "heap_internal.h"
#include "poison.h"
#include "rtmem/debug.h"
#include "rtmem/heap.h"
#include "strategy/block.h"
#include "strategy/strategy.h"

/* A strategy's walk and checks. Every strategy is named here, but only
 * through its inspect table, which holds none of its allocation code. */
static const rtm_strategy_inspect_t *inspect_of(const rtm_heap_t *h)
{
    switch (h->ops->id) {
    case RTM_FIRST_FIT:
        return &rtm_inspect_first_fit;
    case RTM_BEST_FIT:
        return &rtm_inspect_best_fit;
    case RTM_BUMP:
        return &rtm_inspect_bump;
#if RTM_WITH_SYSTEM
    case RTM_SYSTEM:
        return &rtm_inspect_system;
#endif
    case RTM_TLSF:
    default:
        return &rtm_inspect_tlsf;
    }
}

typedef struct walk_relay {
    const rtm_heap_t *heap;
    rtm_walk_fn fn;
    void *ctx;
} walk_relay_t;

/* Shows the caller's walk callback user pointers and sizes. */
static bool relay_block(const rtm_block_info_t *b, void *ctx)
{
    walk_relay_t *w = ctx;
    rtm_block_info_t u = *b;
    rtm_poison_user_view(w->heap->plain_head, &u);
    return w->fn(&u, w->ctx);
}

bool rtm_heap_walk(rtm_heap_t *h, rtm_walk_fn fn, void *ctx)
{
    if (!heap_ok(h) || fn == NULL) {
        return false;
    }
    walk_relay_t relay = {h, fn, ctx};
    heap_lock(h);
    bool ok = RTM_POISON_WRAPS ? inspect_of(h)->walk(h->arena, relay_block, &relay)
                               : inspect_of(h)->walk(h->arena, fn, ctx);
    heap_unlock(h);
    return ok;
}

typedef struct used_tally {
    size_t bytes;
    size_t blocks;
} used_tally_t;

static bool tally_used(const rtm_block_info_t *b, void *ctx)
{
    used_tally_t *t = ctx;
    if (b->used) {
        t->bytes += b->size;
        t->blocks++;
    }
    return true;
}

typedef struct poison_scan {
    const rtm_heap_t *heap;
    rtm_corruption_t bad;
    bool found;
    size_t user_bytes; /* requested bytes of the live blocks scanned */
} poison_scan_t;

static void scan_init(poison_scan_t *scan, const rtm_heap_t *h)
{
    scan->heap = h;
    scan->found = false;
    scan->user_bytes = 0;
    rtm_front_corruption_init(&scan->bad);
}

static bool scan_block(const rtm_block_info_t *b, void *ctx)
{
    poison_scan_t *scan = ctx;
    if (!rtm_poison_block_ok(scan->heap->ops, scan->heap->plain_head, b, &scan->bad)) {
        scan->found = true;
        return false;
    }
    if (b->used) {
        rtm_block_info_t u = *b;
        rtm_poison_user_view(scan->heap->plain_head, &u);
        scan->user_bytes += u.size;
    }
    return true;
}

/* Turns a failed strategy check into a corruption report (levels >= 1). */
static void structure_report(rtm_corruption_t *bad, const rtm_check_report_t *r)
{
    bad->kind = RTM_CORRUPT_FREE_LIST;
    bad->block = r->address;
    bad->address = r->address;
    bad->detail = r->problem;
}

/* The full check; with to_hook, a problem also goes to the corruption
 * hook (levels >= 1). */
static bool check_heap(rtm_heap_t *h, rtm_check_report_t *report, bool to_hook)
{
    if (h == NULL) {
        return rtm_check_fail(report, "heap is NULL", NULL);
    }
    if (h->magic != HEAP_MAGIC) {
        return rtm_check_fail(report, "heap control block is damaged or not initialised", h);
    }
    rtm_check_report_t local = {NULL, NULL};
    if (report == NULL) {
        report = &local;
    }
    poison_scan_t scan;
    scan_init(&scan, h);
    heap_lock(h);
    bool ok = inspect_of(h)->check(h->arena, report);
    if (ok) {
        used_tally_t used = {0, 0};
        if (!inspect_of(h)->walk(h->arena, tally_used, &used)) {
            ok = rtm_check_fail(report, "walk met a damaged block", h->arena);
        } else if (h->arena->free_bytes + h->arena->overhead_bytes + h->front_bytes > h->total_bytes) {
            ok = rtm_check_fail(report, "free + overhead exceed the total", h);
        } else if (used.bytes != allocated_now(h) || used.blocks != used_blocks(h)) {
            ok = rtm_check_fail(report, "allocated bytes or used-block count disagree with the blocks", h);
        } else if (h->books.min_free_bytes > h->arena->free_bytes) {
            ok = rtm_check_fail(report, "minimum-ever free is above the current free bytes", h);
        } else if (RTM_POISON_WRAPS) {
            /* The structure holds, so the walk is safe: canaries and fill,
             * and the requested bytes the front counts. */
            (void)inspect_of(h)->walk(h->arena, scan_block, &scan);
            if (scan.found) {
                ok = rtm_check_fail(report, rtm_corruption_kind_str(scan.bad.kind), scan.bad.address);
            } else if (scan.user_bytes != h->user_bytes) {
                ok = rtm_check_fail(report, "requested bytes of live blocks disagree with the counter", h);
            }
        }
    }
    heap_unlock(h);
    if (!ok && RTM_POISON_WRAPS && to_hook) {
        if (!scan.found) {
            structure_report(&scan.bad, report);
        }
        rtm_front_corruption(h, &scan.bad, RTM_OP_CHECK);
    }
    return ok;
}

bool rtm_heap_check(rtm_heap_t *h, rtm_check_report_t *report)
{
    return check_heap(h, report, true);
}

bool rtm_heap_check_silent(rtm_heap_t *h, rtm_check_report_t *report)
{
    return check_heap(h, report, false);
}

rtm_check_status_t rtm_heap_check_step(rtm_heap_t *h, size_t budget, rtm_check_report_t *report)
{
    if (!heap_ok(h)) {
        (void)rtm_check_fail(report, "heap is NULL, damaged or not initialised", h);
        return RTM_CHECK_FAILED;
    }
    if (inspect_of(h)->check_block == NULL) {
        /* No per-block check: the whole check is one step. */
        if (!rtm_heap_check(h, report)) {
            return RTM_CHECK_FAILED;
        }
        heap_lock(h);
        h->step_passes++;
        heap_unlock(h);
        return RTM_CHECK_DONE;
    }
    rtm_check_report_t local = {NULL, NULL};
    if (report == NULL) {
        report = &local;
    }
    poison_scan_t scan;
    scan_init(&scan, h);
    rtm_check_status_t status = RTM_CHECK_IN_PROGRESS;
    heap_lock(h);
    if (h->step_lost) {
        h->step_at = 0;
        h->step_lost = false;
        h->step_restarts++;
    }
    for (size_t n = budget != 0 ? budget : 1u; n > 0; n--) {
        rtm_block_info_t b;
        if (!inspect_of(h)->check_block(h->arena, &h->step_at, &b, report)) {
            status = RTM_CHECK_FAILED;
            break;
        }
        if (!scan_block(&b, &scan)) {
            (void)rtm_check_fail(report, rtm_corruption_kind_str(scan.bad.kind), scan.bad.address);
            status = RTM_CHECK_FAILED;
            break;
        }
        if (h->step_at == 0) {
            status = RTM_CHECK_DONE;
            h->step_passes++;
            break;
        }
    }
    if (status == RTM_CHECK_FAILED) {
        h->step_at = 0;
    }
    rtm_front_update_fast(h);
    heap_unlock(h);
    if (status == RTM_CHECK_FAILED && RTM_POISON_WRAPS) {
        if (!scan.found) {
            structure_report(&scan.bad, report);
        }
        rtm_front_corruption(h, &scan.bad, RTM_OP_CHECK_STEP);
    }
    return status;
}

bool rtm_heap_check_progress(rtm_heap_t *h, size_t *passes, size_t *restarts)
{
    if (!heap_ok(h)) {
        return false;
    }
    heap_lock(h);
    if (passes != NULL) {
        *passes = h->step_passes;
    }
    if (restarts != NULL) {
        *restarts = h->step_restarts;
    }
    heap_unlock(h);
    return true;
}

