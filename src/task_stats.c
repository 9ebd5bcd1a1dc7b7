/*
 * Per-task accounting (task_stats.h). Layout of the caller's memory:
 *
 *   [struct rtm_task_stats, padded to RTM_TASK_STATS_CTRL_BYTES]
 *   [rtm_task_usage_t task[max_tasks]]        valid == false: free entry
 *
 * Task id 0 is a real task (the none port's only one), hence the flag.
 *   [rtm_task_block_t block[slots]]           ptr == NULL: empty slot
 *
 * At most slots/2 blocks are kept, so probe sequences always end.
 */
#include "rtmem/task_stats.h"

#include <string.h>

#include "rtmem/output.h"

#define STATS_MAGIC 0x72545354u /* "rTST" */
#define OWNER_DELETED 0xfffeu
#define OWNER_OTHER 0xfffdu
#define MAX_TASKS 65000u
#define NO_HEAP 0xffu

struct rtm_task_stats {
    uint32_t magic;
    uint32_t flags;
    rtm_task_usage_t *task;
    rtm_task_block_t *block;
    size_t max_tasks;
    size_t tasks;
    uint32_t mask;        /* block slots - 1 */
    uint32_t shift;       /* 32 - log2(block slots) */
    uint32_t block_cap;   /* slots / 2 */
    uint32_t blocks;
    uint32_t deleted_tasks, task_overflow, untracked, unknown_frees, heap_overflow;
    uintptr_t last_task;  /* one-entry cache of the task table scan */
    size_t last_slot;
    rtm_task_usage_t deleted, other;
    rtm_heap_usage_t heap[RTM_TASK_STATS_MAX_HEAPS];
    rtm_port_lock_t lock;
};

_Static_assert(sizeof(struct rtm_task_stats) <= RTM_TASK_STATS_CTRL_BYTES,
               "struct rtm_task_stats outgrew RTM_TASK_STATS_CTRL_BYTES");
_Static_assert(RTM_TASK_STATS_CTRL_BYTES % 8u == 0, "task table must start 8-aligned");
_Static_assert(sizeof(rtm_task_usage_t) % sizeof(void *) == 0, "task table alignment");

static bool stats_ok(const rtm_task_stats_t *s)
{
    return s != NULL && s->magic == STATS_MAGIC;
}

rtm_task_stats_t *rtm_task_stats_init(void *mem, size_t bytes, size_t max_tasks, uint32_t flags)
{
    if (mem == NULL || ((uintptr_t)mem % RTM_TASK_STATS_MEM_ALIGN) != 0 || max_tasks == 0 ||
        max_tasks > MAX_TASKS || bytes < RTM_TASK_STATS_CTRL_BYTES) {
        return NULL;
    }
    size_t tasks_bytes = max_tasks * sizeof(rtm_task_usage_t);
    if (bytes - RTM_TASK_STATS_CTRL_BYTES < tasks_bytes) {
        return NULL;
    }
    size_t avail = (bytes - RTM_TASK_STATS_CTRL_BYTES - tasks_bytes) / sizeof(rtm_task_block_t);
    if (avail < 2) {
        return NULL;
    }
    size_t slots = 2;
    while (slots * 2u <= avail && slots < ((size_t)1 << 30)) {
        slots *= 2u;
    }
    rtm_task_stats_t *s = mem;
    memset(s, 0, sizeof *s);
    if (!rtm_port_lock_init(&s->lock)) {
        return NULL;
    }
    uint8_t *base = mem;
    s->task = (rtm_task_usage_t *)(void *)(base + RTM_TASK_STATS_CTRL_BYTES);
    s->block = (rtm_task_block_t *)(void *)(base + RTM_TASK_STATS_CTRL_BYTES + tasks_bytes);
    memset(s->task, 0, tasks_bytes);
    memset(s->block, 0, slots * sizeof(rtm_task_block_t));
    s->max_tasks = max_tasks;
    s->mask = (uint32_t)(slots - 1u);
    s->shift = 32u;
    for (size_t v = slots; v > 1u; v >>= 1) {
        s->shift--;
    }
    s->block_cap = (uint32_t)(slots / 2u);
    s->flags = flags;
    s->last_slot = SIZE_MAX;
    s->magic = STATS_MAGIC;
    return s;
}

void rtm_task_stats_deinit(rtm_task_stats_t *s)
{
    if (stats_ok(s)) {
        s->magic = 0;
        rtm_port_lock_destroy(&s->lock);
    }
}

void rtm_task_stats_attach(rtm_task_stats_t *s, rtm_heap_t *heap)
{
    if (stats_ok(s) && heap != NULL) {
        rtm_heap_set_observer(heap, rtm_task_stats_observer, s);
    }
}

/* ------------------------------------------------------------------ */
/* Tables (lock held)                                                  */

static size_t task_find(rtm_task_stats_t *s, uintptr_t task)
{
    if (s->last_slot != SIZE_MAX && task == s->last_task) {
        return s->last_slot;
    }
    for (size_t i = 0; i < s->max_tasks; i++) {
        if (s->task[i].valid && s->task[i].task == task) {
            s->last_task = task;
            s->last_slot = i;
            return i;
        }
    }
    return SIZE_MAX;
}

static size_t task_add(rtm_task_stats_t *s, uintptr_t task)
{
    size_t i = task_find(s, task);
    if (i != SIZE_MAX) {
        return i;
    }
    for (i = 0; i < s->max_tasks; i++) {
        if (!s->task[i].valid) {
            memset(&s->task[i], 0, sizeof s->task[i]);
            s->task[i].task = task;
            s->task[i].valid = true;
            s->tasks++;
            return i;
        }
    }
    return SIZE_MAX;
}

static rtm_task_usage_t *bucket(rtm_task_stats_t *s, uint16_t owner)
{
    if (owner == OWNER_DELETED) {
        return &s->deleted;
    }
    if (owner == OWNER_OTHER || owner >= s->max_tasks) {
        return &s->other;
    }
    return &s->task[owner];
}

static uint8_t heap_slot(rtm_task_stats_t *s, rtm_heap_t *heap)
{
    for (uint8_t i = 0; i < RTM_TASK_STATS_MAX_HEAPS; i++) {
        if (s->heap[i].heap == heap) {
            return i;
        }
        if (s->heap[i].heap == NULL) {
            s->heap[i].heap = heap;
            return i;
        }
    }
    return NO_HEAP;
}

static uint32_t hash_of(const rtm_task_stats_t *s, const void *ptr)
{
    uint64_t p = (uint64_t)(uintptr_t)ptr;
    uint32_t x = (uint32_t)(p >> 2) ^ (uint32_t)(p >> 34);
    return (uint32_t)((x * 2654435769u) >> s->shift) & s->mask; /* as trace.c */
}

static uint32_t block_find(const rtm_task_stats_t *s, const void *ptr)
{
    uint32_t i = hash_of(s, ptr);
    while (s->block[i].ptr != NULL) {
        if (s->block[i].ptr == ptr) {
            return i;
        }
        i = (i + 1u) & s->mask;
    }
    return UINT32_MAX;
}

static void block_insert(rtm_task_stats_t *s, const rtm_task_block_t *b)
{
    uint32_t i = hash_of(s, b->ptr);
    while (s->block[i].ptr != NULL) {
        i = (i + 1u) & s->mask;
    }
    s->block[i] = *b;
    s->blocks++;
}

/* Backward-shift deletion, as in trace.c. */
static void block_remove(rtm_task_stats_t *s, uint32_t hole)
{
    uint32_t j = hole;
    for (;;) {
        j = (j + 1u) & s->mask;
        if (s->block[j].ptr == NULL) {
            break;
        }
        uint32_t home = hash_of(s, s->block[j].ptr);
        if (((j - home) & s->mask) >= ((j - hole) & s->mask)) {
            s->block[hole] = s->block[j];
            hole = j;
        }
    }
    memset(&s->block[hole], 0, sizeof s->block[hole]);
    s->blocks--;
}

static void usage_add(rtm_task_usage_t *u, size_t bytes, size_t blocks)
{
    u->cur_bytes += bytes;
    u->cur_blocks += blocks;
    if (u->cur_bytes > u->peak_bytes) {
        u->peak_bytes = u->cur_bytes;
    }
    if (u->cur_blocks > u->peak_blocks) {
        u->peak_blocks = u->cur_blocks;
    }
}

static void heap_add(rtm_task_stats_t *s, uint8_t h, size_t bytes, size_t blocks)
{
    if (h == NO_HEAP) {
        return;
    }
    rtm_heap_usage_t *u = &s->heap[h];
    u->cur_bytes += bytes;
    u->cur_blocks += blocks;
    if (u->cur_bytes > u->peak_bytes) {
        u->peak_bytes = u->cur_bytes;
    }
    if (u->cur_blocks > u->peak_blocks) {
        u->peak_blocks = u->cur_blocks;
    }
}

static void heap_sub(rtm_task_stats_t *s, uint8_t h, size_t bytes, size_t blocks)
{
    if (h != NO_HEAP) {
        s->heap[h].cur_bytes -= bytes;
        s->heap[h].cur_blocks -= blocks;
    }
}

/* Debits the block in slot i from its owner and heap, and drops it. */
static void account_free(rtm_task_stats_t *s, uint32_t i)
{
    rtm_task_block_t b = s->block[i];
    block_remove(s, i);
    rtm_task_usage_t *u = bucket(s, b.owner);
    u->cur_bytes -= b.size;
    u->cur_blocks--;
    /* The deleted bucket keeps counts only with KEEP_DELETED: its allocs
     * are 0 without it, and frees of 0 allocations would be noise. */
    if (u != &s->deleted || (s->flags & RTM_TASK_STATS_KEEP_DELETED) != 0) {
        u->frees++;
    }
    heap_sub(s, b.heap, b.size, 1);
}

/* A block handed out at ptr means any block still recorded there was
 * freed unseen (observer detached meanwhile, heap made again over the same
 * memory): it is ended as a free of its owner, so that the table never
 * holds one address twice (a later free would debit the wrong entry and
 * the other would stay forever). */
static void end_unseen_free(rtm_task_stats_t *s, const void *ptr)
{
    uint32_t i = block_find(s, ptr);
    if (i != UINT32_MAX) {
        account_free(s, i);
    }
}

static void account_alloc(rtm_task_stats_t *s, void *ptr, uint32_t size, uint8_t h)
{
    end_unseen_free(s, ptr);
    if (s->blocks >= s->block_cap) {
        s->untracked++;
        return;
    }
    size_t slot = task_add(s, rtm_port_task_id());
    uint16_t owner = OWNER_OTHER;
    if (slot == SIZE_MAX) {
        s->task_overflow++;
    } else {
        owner = (uint16_t)slot;
    }
    rtm_task_block_t b = {ptr, size, owner, h, 0};
    block_insert(s, &b);
    rtm_task_usage_t *u = bucket(s, owner);
    u->allocs++;
    usage_add(u, size, 1);
    heap_add(s, h, size, 1);
}

void rtm_task_stats_observer(const rtm_heap_event_t *ev, void *ctx)
{
    rtm_task_stats_t *s = ctx;
    if (!stats_ok(s) || ev == NULL || ev->ptr == NULL) {
        return;
    }
    uint32_t size = ev->size > UINT32_MAX ? UINT32_MAX : (uint32_t)ev->size;
    rtm_port_lock(&s->lock);
    uint8_t h = heap_slot(s, ev->heap);
    if (h == NO_HEAP) {
        s->heap_overflow++;
    }
    switch (ev->kind) {
    case RTM_EVENT_ALLOC:
        account_alloc(s, ev->ptr, size, h);
        break;
    case RTM_EVENT_FREE: {
        uint32_t i = block_find(s, ev->ptr);
        if (i == UINT32_MAX) {
            s->unknown_frees++;
            break;
        }
        account_free(s, i);
        break;
    }
    case RTM_EVENT_REALLOC: {
        uint32_t i = block_find(s, ev->old_ptr);
        if (i == UINT32_MAX) {
            account_alloc(s, ev->ptr, size, h);
            break;
        }
        rtm_task_block_t b = s->block[i];
        block_remove(s, i);
        if (ev->ptr != ev->old_ptr) {
            end_unseen_free(s, ev->ptr);
        }
        rtm_task_usage_t *u = bucket(s, b.owner);
        u->cur_bytes -= b.size;
        heap_sub(s, b.heap, b.size, 0);
        usage_add(u, size, 0);
        heap_add(s, b.heap, size, 0);
        b.ptr = ev->ptr;
        b.size = size;
        block_insert(s, &b); /* the slot just freed guarantees room */
        break;
    }
    default:
        break;
    }
    rtm_port_unlock(&s->lock);
}

/* ------------------------------------------------------------------ */
/* Names, deletion, queries                                            */

bool rtm_task_stats_set_name(rtm_task_stats_t *s, uintptr_t task, const char *name)
{
    if (!stats_ok(s)) {
        return false;
    }
    rtm_port_lock(&s->lock);
    size_t i = task_add(s, task);
    if (i != SIZE_MAX) {
        memset(s->task[i].name, 0, sizeof s->task[i].name);
        if (name != NULL) {
            size_t n = strlen(name);
            if (n > RTM_TASK_NAME_LEN - 1u) {
                n = RTM_TASK_NAME_LEN - 1u;
            }
            memcpy(s->task[i].name, name, n);
        }
    }
    rtm_port_unlock(&s->lock);
    return i != SIZE_MAX;
}

bool rtm_task_stats_name_of(uintptr_t task, char *buf, size_t len, void *ctx)
{
    rtm_task_stats_t *s = ctx;
    if (!stats_ok(s) || buf == NULL || len == 0) {
        return false;
    }
    bool found = false;
    rtm_port_lock(&s->lock);
    size_t i = task_find(s, task);
    if (i != SIZE_MAX && s->task[i].name[0] != '\0') {
        size_t n = strlen(s->task[i].name);
        if (n > len - 1u) {
            n = len - 1u;
        }
        memcpy(buf, s->task[i].name, n);
        buf[n] = '\0';
        found = true;
    }
    rtm_port_unlock(&s->lock);
    return found;
}

bool rtm_task_stats_task_deleted(rtm_task_stats_t *s, uintptr_t task)
{
    if (!stats_ok(s)) {
        return false;
    }
    rtm_port_lock(&s->lock);
    size_t i = task_find(s, task);
    if (i == SIZE_MAX) {
        rtm_port_unlock(&s->lock);
        return false;
    }
    /* The task's live blocks now belong to the deleted bucket, so their
     * frees are debited there and never from a task that reuses the entry. */
    for (uint32_t k = 0; k <= s->mask; k++) {
        if (s->block[k].ptr != NULL && s->block[k].owner == i) {
            s->block[k].owner = OWNER_DELETED;
        }
    }
    rtm_task_usage_t *u = &s->task[i];
    usage_add(&s->deleted, u->cur_bytes, u->cur_blocks);
    if (s->flags & RTM_TASK_STATS_KEEP_DELETED) {
        s->deleted.allocs += u->allocs;
        s->deleted.frees += u->frees;
    }
    s->deleted_tasks++;
    memset(u, 0, sizeof *u);
    s->tasks--;
    s->last_slot = SIZE_MAX;
    s->last_task = 0;
    rtm_port_unlock(&s->lock);
    return true;
}

bool rtm_task_stats_get(rtm_task_stats_t *s, uintptr_t task, rtm_task_usage_t *out)
{
    if (!stats_ok(s) || out == NULL) {
        return false;
    }
    rtm_port_lock(&s->lock);
    size_t i = task_find(s, task);
    if (i != SIZE_MAX) {
        *out = s->task[i];
    }
    rtm_port_unlock(&s->lock);
    return i != SIZE_MAX;
}

size_t rtm_task_stats_tasks(rtm_task_stats_t *s, rtm_task_usage_t *out, size_t n)
{
    if (!stats_ok(s) || out == NULL) {
        return 0;
    }
    size_t got = 0;
    rtm_port_lock(&s->lock);
    for (size_t i = 0; i < s->max_tasks && got < n; i++) {
        if (s->task[i].valid) {
            out[got++] = s->task[i];
        }
    }
    rtm_port_unlock(&s->lock);
    return got;
}

bool rtm_task_stats_heap(rtm_task_stats_t *s, const rtm_heap_t *heap, rtm_heap_usage_t *out)
{
    if (!stats_ok(s) || heap == NULL || out == NULL) {
        return false;
    }
    bool found = false;
    rtm_port_lock(&s->lock);
    for (size_t i = 0; i < RTM_TASK_STATS_MAX_HEAPS; i++) {
        if (s->heap[i].heap == heap) {
            *out = s->heap[i];
            found = true;
            break;
        }
    }
    rtm_port_unlock(&s->lock);
    return found;
}

bool rtm_task_stats_totals(rtm_task_stats_t *s, rtm_task_stats_totals_t *out)
{
    if (!stats_ok(s) || out == NULL) {
        return false;
    }
    rtm_port_lock(&s->lock);
    out->tasks = s->tasks;
    out->task_capacity = s->max_tasks;
    out->blocks = s->blocks;
    out->block_capacity = s->block_cap;
    out->deleted_tasks = s->deleted_tasks;
    out->task_overflow = s->task_overflow;
    out->untracked_blocks = s->untracked;
    out->unknown_frees = s->unknown_frees;
    out->heap_overflow = s->heap_overflow;
    out->deleted = s->deleted;
    out->other = s->other;
    rtm_port_unlock(&s->lock);
    return true;
}

size_t rtm_task_stats_blocks_of(rtm_task_stats_t *s, uintptr_t task, rtm_task_block_t *out,
                                size_t n)
{
    if (!stats_ok(s) || (out == NULL && n > 0)) {
        return 0;
    }
    size_t total = 0;
    rtm_port_lock(&s->lock);
    size_t i = task_find(s, task);
    if (i != SIZE_MAX) {
        for (uint32_t k = 0; k <= s->mask; k++) {
            if (s->block[k].ptr != NULL && s->block[k].owner == i) {
                if (total < n) {
                    out[total] = s->block[k];
                }
                total++;
            }
        }
    }
    rtm_port_unlock(&s->lock);
    return total;
}

bool rtm_task_stats_owner(rtm_task_stats_t *s, const void *ptr, uintptr_t *task)
{
    if (!stats_ok(s) || ptr == NULL) {
        return false;
    }
    rtm_port_lock(&s->lock);
    uint32_t i = block_find(s, ptr);
    uintptr_t owner = 0;
    if (i != UINT32_MAX) {
        owner = bucket(s, s->block[i].owner)->task;
    }
    rtm_port_unlock(&s->lock);
    if (i != UINT32_MAX && task != NULL) {
        *task = owner;
    }
    return i != UINT32_MAX;
}

bool rtm_task_stats_owner_lookup(const void *ptr, uintptr_t *task, rtm_alloc_site_t *site,
                                 void *ctx)
{
    if (!rtm_task_stats_owner(ctx, ptr, task)) {
        return false;
    }
    if (site != NULL) {
        site->file = NULL;
        site->line = 0;
        site->caller = NULL;
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* Text                                                                */

static void print_usage(const char *what, const rtm_task_usage_t *u)
{
    rtm_line_t line;
    rtm_line_init(&line);
    rtm_line_str(&line, what);
    if (u->valid) {
        rtm_line_str(&line, " task=");
        if (u->name[0] != '\0') {
            rtm_line_token(&line, u->name, RTM_TASK_NAME_LEN);
        } else {
            rtm_line_hex(&line, (uint64_t)u->task);
        }
    }
    rtm_line_key_uint(&line, "cur_bytes", u->cur_bytes);
    rtm_line_key_uint(&line, "peak_bytes", u->peak_bytes);
    rtm_line_key_uint(&line, "cur_blocks", u->cur_blocks);
    rtm_line_key_uint(&line, "peak_blocks", u->peak_blocks);
    rtm_line_key_uint(&line, "allocs", u->allocs);
    rtm_line_key_uint(&line, "frees", u->frees);
    rtm_line_emit(&line);
}

void rtm_task_stats_print(rtm_task_stats_t *s)
{
    if (!stats_ok(s)) {
        return;
    }
    /* One entry copied per lock, written without it (the output hook may
     * be slow). */
    for (size_t i = 0; i < s->max_tasks; i++) {
        rtm_port_lock(&s->lock);
        rtm_task_usage_t u = s->task[i];
        rtm_port_unlock(&s->lock);
        if (u.valid) {
            print_usage("# task", &u);
        }
    }
    for (size_t i = 0; i < RTM_TASK_STATS_MAX_HEAPS; i++) {
        rtm_port_lock(&s->lock);
        rtm_heap_usage_t h = s->heap[i];
        rtm_port_unlock(&s->lock);
        if (h.heap == NULL) {
            continue;
        }
        rtm_line_t line;
        rtm_line_init(&line);
        rtm_line_str(&line, "# heap heap=");
        /* An unnamed heap by its address, as an unnamed task by its id. */
        if (rtm_heap_name(h.heap)[0] != '\0') {
            rtm_line_token(&line, rtm_heap_name(h.heap), RTM_TASK_NAME_LEN);
        } else {
            rtm_line_ptr(&line, h.heap);
        }
        rtm_line_key_uint(&line, "cur_bytes", h.cur_bytes);
        rtm_line_key_uint(&line, "peak_bytes", h.peak_bytes);
        rtm_line_key_uint(&line, "cur_blocks", h.cur_blocks);
        rtm_line_key_uint(&line, "peak_blocks", h.peak_blocks);
        rtm_line_emit(&line);
    }
    rtm_task_stats_totals_t t;
    if (!rtm_task_stats_totals(s, &t)) {
        return;
    }
    print_usage("# deleted", &t.deleted);
    print_usage("# other", &t.other);
    rtm_line_t line;
    rtm_line_init(&line);
    rtm_line_str(&line, "# tasks");
    rtm_line_key_uint(&line, "tasks", t.tasks);
    rtm_line_key_uint(&line, "capacity", t.task_capacity);
    rtm_line_key_uint(&line, "blocks", t.blocks);
    rtm_line_key_uint(&line, "block_capacity", t.block_capacity);
    rtm_line_key_uint(&line, "deleted_tasks", t.deleted_tasks);
    rtm_line_emit(&line);
    /* A second line keeps each within RTM_LINE_MAX for any counter values. */
    rtm_line_init(&line);
    rtm_line_str(&line, "# limits");
    rtm_line_key_uint(&line, "task_overflow", t.task_overflow);
    rtm_line_key_uint(&line, "untracked", t.untracked_blocks);
    rtm_line_key_uint(&line, "unknown_frees", t.unknown_frees);
    rtm_line_key_uint(&line, "heap_overflow", t.heap_overflow);
    rtm_line_emit(&line);
}
