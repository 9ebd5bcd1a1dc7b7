/*
 * The leak table of `rtmem leaks` and `rtmem report`: the blocks an input
 * (lk_input_t, leaks_parse.h) leaves allocated, grouped by call site (the
 * caller chain, then site=FILE:LINE), largest bytes first, and their caller
 * addresses symbolized with addr2line (symbolize.h). Both commands build
 * their table here, so they agree on it.
 */
#ifndef RTMEM_TOOL_LEAKS_GROUP_H
#define RTMEM_TOOL_LEAKS_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "leaks_parse.h"
#include "symbolize.h"

/* One call site. Its task and region lists are not kept (one per site of
 * millions would outweigh the records): lk_group_tasks and
 * lk_group_regions write them from its blocks. */
typedef struct lk_group {
    const lk_record_t *first;   /* representative (oldest) record */
    size_t start;               /* its blocks are leaks[start .. start + blocks) */
    size_t blocks;
    uint64_t bytes;
    uint64_t min_size, max_size;
    int has_time;
    uint64_t first_time, last_time;
} lk_group_t;

/* Room for the comma lists of tasks and regions, with their NUL. */
#define LK_GROUP_TASKS_MAX 96
#define LK_GROUP_REGIONS_MAX 64

typedef struct lk_leaks {
    const lk_record_t **leaks;  /* the leaked records, grouped (points into the input) */
    size_t nleaks;
    uint64_t leak_bytes;
    lk_group_t *groups;         /* bytes descending, then blocks, then input order */
    size_t ngroups;
    uint64_t alive_blocks, alive_bytes; /* every record in use, leak or not */
} lk_leaks_t;

/* Groups the leaks of in (lk_record_is_leak with since). in must outlive
 * out. Cost: O(n log n) in the live records. 0, or -1 when out of memory
 * (out then holds nothing to free). */
int lk_leaks_group(const lk_input_t *in, uint64_t since, lk_leaks_t *out);
void lk_leaks_free(lk_leaks_t *l);

/* The distinct tasks, or regions, of g's blocks in input order, as a
 * comma list ended by ",..." when the next one does not fit: into buf
 * (LK_GROUP_TASKS_MAX or LK_GROUP_REGIONS_MAX bytes), returned. O(blocks). */
const char *lk_group_tasks(const lk_leaks_t *l, const lk_group_t *g,
                           char buf[LK_GROUP_TASKS_MAX]);
const char *lk_group_regions(const lk_leaks_t *l, const lk_group_t *g,
                             char buf[LK_GROUP_REGIONS_MAX]);

/* Symbolizes the caller addresses of every group's first record with
 * addr2line on elf (a2l overrides the choice by machine; NULL picks it).
 * A PIE's runtime addresses inside the recorded load range (rtmem record's
 * exe_base) are translated first. *syms (sorted by address, free() it)
 * and *nsyms on success; -1 with err filled otherwise. */
int lk_leaks_symbolize(const lk_input_t *in, const lk_leaks_t *l, const char *elf,
                       const char *a2l, sym_entry_t **syms, size_t *nsyms, char *err,
                       size_t errlen);

/* The entry for addr in syms[0..n) (sorted), or NULL. O(log n). */
const sym_entry_t *lk_find_sym(const sym_entry_t *syms, size_t n, uint64_t addr);

#endif
