/* rtmem compare: every strategy on each trace, minimum heap size, and a
 * recommendation. See docs/tools.md. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include "commands.h"
#include "escape.h"
#include "line_reader.h"
#include "replay.h"

#define MARGIN_NUM 5u /* heap size = minimum x 5/4 (25% margin), rounded up to 1 KiB */
#define MARGIN_DEN 4u
#define CLOSE_PERCENT 10u /* candidates: minimum size within 10% of the smallest */
#define HOPELESS_FACTOR 8u   /* a minimum above 8x the best so far is not searched */
#define BUDGET_FACTOR 10u    /* default budget: 10x the first strategy's search */
#define BUDGET_FLOOR_NS 5000000000ull
#define TIMED_RUNS 3u        /* timed runs per strategy: the median of their medians */
#define NOISE_PERCENT 100u   /* medians up to twice the fastest are a tie */

static size_t round16(size_t n)
{
    return (n + 15u) & ~(size_t)15u;
}

/* One replay at size, stopping at the first failure. 1 completes, 0 fails,
 * -1 error (err filled), -2 passed the deadline. r (optional) gets the
 * result. */
static int completes(const rtm_trace_src_t *src, const rtm_replay_opts_t *base, size_t size,
                     rtm_min_size_t *out, rtm_replay_result_t *r, char *err, size_t errlen)
{
    rtm_replay_opts_t o = *base;
    o.heap_size = size;
    o.preset = NULL;
    o.timing = false;
    o.stop_on_fail = true;
    rtm_replay_result_t *own = NULL;
    if (r == NULL) {
        own = malloc(sizeof *own);
        if (own == NULL) {
            (void)snprintf(err, errlen, "out of memory");
            return -1;
        }
        r = own;
    }
    out->runs++;
    int rc = rtm_replay_src(src, &o, r, err, errlen);
    bool ok = r->completed;
    bool refused = r->init_refused;
    /* A run checks the deadline only every 4096 events: a search of a
     * shorter trace would never see it pass. Checked after each run too. */
    bool late = r->timed_out || (o.deadline_ns != 0 && rtm_tool_cpu_ns() > o.deadline_ns);
    free(own);
    if (rc != 0 && refused) {
        /* Some sizes above rtm_heap_min_size are refused by the strategy's
         * init (TLSF, a few sizes above its minimum): the trace cannot run
         * there, which counts as not completing. */
        return 0;
    }
    if (rc != 0) {
        return -1;
    }
    if (late) {
        out->timed_out = true;
        return -2;
    }
    return ok ? 1 : 0;
}

#define MEASURE_FIRST ((size_t)1 << 20)
#define MAX_BATCH 8u /* at most this many sizes replayed at once */

static bool write_all(int fd, const void *buf, size_t len);
static bool read_all(int fd, void *buf, size_t len);

bool rtm_helper_pool_open(rtm_helper_pool_t *p, unsigned n)
{
    int fds[2];
    p->take_fd = -1;
    p->give_fd = -1;
    if (n == 0 || n > 4096u || pipe(fds) != 0) {
        return false;
    }
    static const char tokens[4096];
    if (fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0 || !write_all(fds[1], tokens, n)) {
        close(fds[0]);
        close(fds[1]);
        return false;
    }
    p->take_fd = fds[0];
    p->give_fd = fds[1];
    return true;
}

void rtm_helper_pool_close(rtm_helper_pool_t *p)
{
    if (p->take_fd >= 0) {
        close(p->take_fd);
        close(p->give_fd);
    }
    p->take_fd = -1;
    p->give_fd = -1;
}

/* Up to want helpers from the pool (never waits). */
static size_t take_helpers(const rtm_helper_pool_t *p, size_t want)
{
    char buf[MAX_BATCH];
    if (p == NULL || p->take_fd < 0 || want == 0) {
        return 0;
    }
    ssize_t n = read(p->take_fd, buf, want < sizeof buf ? want : sizeof buf);
    return n > 0 ? (size_t)n : 0;
}

static void give_helpers(const rtm_helper_pool_t *p, size_t n)
{
    static const char buf[MAX_BATCH];
    if (p != NULL && n > 0) {
        (void)write_all(p->give_fd, buf, n);
    }
}

/* What a helper process sends back. */
typedef struct helper_msg {
    int c;
    char err[RTM_TRACE_ERR_MAX];
} helper_msg_t;

/* Called first in a worker or helper process: it ends with the process that
 * forked it (compare or report killed from a terminal or by a CI timeout)
 * instead of replaying on for minutes with nobody to read its answer.
 * Linux's parent-death signal; then, where that is missing or the parent
 * died before it was set, the parent is looked at once. */
static void end_with_parent(pid_t parent)
{
#if defined(__linux__)
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
    if (getppid() != parent) {
        _exit(1);
    }
}

/* completes() for sizes[0..m): sizes[1..m) in helper processes (the caller
 * holds m - 1 helpers), sizes[0] here; c[i] the results. Returns -1 if one
 * was an error (err: the first), else -2 if one timed out, else 0. */
static int completes_batch(const rtm_trace_src_t *src, const rtm_replay_opts_t *o,
                           const size_t *sizes, size_t m, int *c, rtm_min_size_t *out,
                           char *err, size_t errlen)
{
    pid_t pid[MAX_BATCH];
    int fd[MAX_BATCH];
    /* A forked process's CPU clock starts again at 0: the helpers get the
     * budget that is left. */
    uint64_t cpu = rtm_tool_cpu_ns();
    uint64_t left = o->deadline_ns == 0 ? 0 : o->deadline_ns > cpu ? o->deadline_ns - cpu : 1;
    pid_t self = getpid();
    for (size_t i = 1; i < m; i++) {
        int fds[2];
        pid[i] = -1;
        if (pipe(fds) != 0) {
            continue; /* replayed here instead */
        }
        pid_t p = fork();
        if (p == 0) {
            end_with_parent(self);
            close(fds[0]);
            rtm_replay_opts_t own = *o;
            own.progress = NULL; /* the parent draws the line */
            own.helpers = NULL;
            own.deadline_ns = left;
            rtm_min_size_t scratch;
            memset(&scratch, 0, sizeof scratch);
            helper_msg_t msg;
            memset(&msg, 0, sizeof msg);
            msg.c = completes(src, &own, sizes[i], &scratch, NULL, msg.err, sizeof msg.err);
            _exit(write_all(fds[1], &msg, sizeof msg) ? 0 : 1);
        }
        close(fds[1]);
        if (p < 0) {
            close(fds[0]);
            continue;
        }
        pid[i] = p;
        fd[i] = fds[0];
    }
    int worst = 0;
    char first_err[RTM_TRACE_ERR_MAX] = "";
    for (size_t i = 0; i < m; i++) {
        if (i == 0 || pid[i] < 0) {
            c[i] = completes(src, o, sizes[i], out, NULL, err, errlen);
            if (c[i] == -1 && first_err[0] == '\0') {
                (void)snprintf(first_err, sizeof first_err, "%s", err);
            }
        } else {
            helper_msg_t msg;
            bool ok = read_all(fd[i], &msg, sizeof msg);
            close(fd[i]);
            while (waitpid(pid[i], NULL, 0) < 0 && errno == EINTR) {
            }
            out->runs++;
            c[i] = ok ? msg.c : -1;
            if (c[i] == -1 && first_err[0] == '\0') {
                (void)snprintf(first_err, sizeof first_err, "%s",
                               ok ? msg.err : "rtmem compare: a helper process failed");
            }
            if (c[i] == -2) {
                out->timed_out = true;
            }
        }
        if (c[i] == -1) {
            worst = -1;
        } else if (c[i] == -2 && worst == 0) {
            worst = -2;
        }
    }
    if (worst == -1) {
        (void)snprintf(err, errlen, "%s", first_err);
    }
    return worst;
}

/* ------------------------------------------------------------------ */
/* The search after the measuring run, as a plan over known outcomes.   */
/*
 * The search's decisions depend only on which sizes completed. plan_next
 * replays those decisions over the outcomes known so far and names the
 * first size it still needs; the caller replays it and asks again. Because
 * the plan can also be asked "what next, if that size failed / completed",
 * the sizes of the next few steps can be replayed at once in helper
 * processes (speculation): the answer is the same as one size at a time,
 * only the wall time and the run count differ.
 */

#define KNOWN_MAX 4096u  /* outcomes a search keeps (it needs at most about 1100) */
#define KNOWN_SLOTS 8192u /* hash table of them: a power of two, at least twice KNOWN_MAX */
#define GUESS_MAX 3u      /* speculation depth: outcomes assumed on top of the known */
#define SCAN_LOOK_MAX 1024u /* sizes the downward scan looks at, at most */

/* The outcomes replayed so far, by size (sizes are multiples of 16, never
 * 0): open addressing, so that the plan, which looks up every size of its
 * scan on every call, stays cheap beside a replay of a short trace. */
typedef struct known {
    size_t n;
    size_t size[KNOWN_SLOTS]; /* 0: empty slot */
    bool ok[KNOWN_SLOTS];
} known_t;

static size_t known_slot(const known_t *k, size_t size)
{
    size_t i = (size / 16u * 2654435761u) & (KNOWN_SLOTS - 1u);
    while (k->size[i] != 0 && k->size[i] != size) {
        i = (i + 1u) & (KNOWN_SLOTS - 1u);
    }
    return i;
}

/* Records size's outcome (the first one kept: replays are deterministic). */
static void known_add(known_t *k, size_t size, bool ok)
{
    size_t i = known_slot(k, size);
    if (k->size[i] == 0 && k->n < KNOWN_MAX) {
        k->size[i] = size;
        k->ok[i] = ok;
        k->n++;
    }
}

/* Outcomes assumed by a speculation, on top of the known ones. */
typedef struct guesses {
    size_t n;
    size_t size[GUESS_MAX];
    bool ok[GUESS_MAX];
} guesses_t;

/* 1 completes, 0 fails, -1 unknown. */
static int outcome(const known_t *k, const guesses_t *g, size_t size)
{
    for (size_t i = 0; g != NULL && i < g->n; i++) {
        if (g->size[i] == size) {
            return g->ok[i] ? 1 : 0;
        }
    }
    size_t i = known_slot(k, size);
    if (k->size[i] == 0) {
        return -1;
    }
    return k->ok[i] ? 1 : 0;
}

typedef struct plan {
    /* in: from the measuring run */
    size_t lo, hi;        /* below the peak live bytes (fails), the measured size (completes) */
    size_t lo0;           /* the heap's minimum, rounded up to 16 */
    size_t high_water;
    size_t window;        /* bytes the downward scan checks below the answer */
    unsigned scan_max;    /* failing sizes the scan looks at, at most */
    /* out, when plan_next returns 0 */
    size_t size;
    size_t checked_below; /* every multiple of 16 in [size - this, size) fails */
    unsigned non_monotonic;
} plan_t;

/* The first size the search needs and k (with g assumed) lacks, or 0 when
 * the search is over (p's outputs then set). */
static size_t plan_next(plan_t *p, const known_t *k, const guesses_t *g)
{
    size_t lo0 = p->lo0;
    size_t hi = p->hi;
    size_t lo = p->lo;
    /* Sizes at most this fail without a replay: below the heap's minimum
     * rtm_heap_init refuses them, and up to the peak live bytes no heap
     * can hold those. */
    size_t known_fail = lo > lo0 - 16u ? lo : lo0 - 16u;
    int c;
    p->non_monotonic = 0;
    if (lo < lo0) {
        if ((c = outcome(k, g, lo0)) < 0) {
            return lo0;
        }
        if (c == 1) {
            p->size = lo0;
            p->checked_below = lo0; /* nothing smaller can run */
            return 0;
        }
        lo = lo0;
    }
    /* The high-water mark as the first upper bound, grown by a quarter of
     * the gap until it completes (or reaches the measured size). */
    size_t guess = round16(p->high_water);
    while (guess > lo && guess < hi) {
        if ((c = outcome(k, g, guess)) < 0) {
            return guess;
        }
        if (c == 1) {
            hi = guess;
            break;
        }
        lo = guess;
        size_t step = round16((hi - guess) / 4u);
        guess += step < 16u ? 16u : step;
    }
    /* Bisection on multiples of 16: lo fails, hi completes. */
    while (hi - lo > 16u) {
        size_t mid = lo + ((hi - lo) / 32u) * 16u;
        if ((c = outcome(k, g, mid)) < 0) {
            return mid;
        }
        if (c == 1) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    /* Failure is not monotonic in the size (fragmentation, where aligned
     * blocks land, TLSF's control block growing at powers of two): every
     * size below hi in turn, a size that completes becoming hi, until the
     * window below hi has failed throughout. Sizes the bisection replayed
     * are not replayed again. */
    size_t failed_below = 0; /* [hi - failed_below, hi) fails throughout */
    unsigned failures = 0;
    unsigned looked = 0;
    /* A size that completes lowers the answer, so only failures count
     * against the scan's limit (the sizes that complete are bounded to
     * keep the outcomes in their table). */
    while (failed_below < p->window && failures < p->scan_max && looked < SCAN_LOOK_MAX) {
        size_t s = hi - failed_below - 16u;
        if (s <= known_fail) {
            failed_below = hi; /* every smaller size fails */
            break;
        }
        if ((c = outcome(k, g, s)) < 0) {
            return s;
        }
        looked++;
        if (c == 1) {
            hi = s;
            p->non_monotonic++;
            failed_below = 0;
        } else {
            failed_below += 16u;
            failures++;
        }
    }
    if (failed_below == 0 && hi - 16u > known_fail) {
        /* a limit came right after a size that completed: the size below
         * it at least */
        if ((c = outcome(k, g, hi - 16u)) < 0) {
            return hi - 16u;
        }
        failed_below = c == 0 ? 16u : 0;
    } else if (failed_below == 0) {
        failed_below = hi;
    }
    p->size = hi;
    p->checked_below = failed_below;
    return 0;
}

/* The sizes to replay next: the one the plan needs, then (up to want in
 * all) those it would need after the likeliest outcomes, breadth first,
 * "fails" before "completes" (the common outcome near the minimum). */
static size_t plan_batch(plan_t *p, const known_t *k, size_t want, size_t *sizes)
{
    guesses_t queue[2u * MAX_BATCH + 1u];
    size_t head = 0;
    size_t tail = 0;
    size_t n = 0;
    queue[tail++] = (guesses_t){.n = 0};
    while (head < tail && n < want) {
        guesses_t g = queue[head++];
        plan_t trial = *p;
        size_t s = plan_next(&trial, k, &g);
        if (s == 0) {
            continue;
        }
        bool dup = false;
        for (size_t i = 0; i < n; i++) {
            dup = dup || sizes[i] == s;
        }
        if (!dup) {
            sizes[n++] = s;
        }
        for (int ok = 0; ok <= 1 && g.n < GUESS_MAX && tail < sizeof queue / sizeof queue[0];
             ok++) {
            guesses_t next = g;
            next.size[next.n] = s;
            next.ok[next.n] = ok == 1;
            next.n++;
            queue[tail++] = next;
        }
    }
    return n;
}

/* The downward scan's window, in sizes (multiples of 16), from the
 * measuring run (which read the whole trace): see replay.h. */
size_t rtm_min_size_scan_sizes(const rtm_replay_result_t *measured)
{
    if (measured->aligned == 0) {
        return RTM_MIN_SIZE_SCAN;
    }
    uint64_t events = measured->ops == 0 ? 1u : measured->ops;
    uint64_t n = RTM_MIN_SIZE_SCAN_EVENTS / events;
    if (n < RTM_MIN_SIZE_SCAN) {
        n = RTM_MIN_SIZE_SCAN;
    }
    return n > RTM_MIN_SIZE_WINDOW ? RTM_MIN_SIZE_WINDOW : (size_t)n;
}

int rtm_min_size_search(const char *path, const rtm_replay_opts_t *o, size_t cap,
                        rtm_min_size_t *out, char *err, size_t errlen)
{
    rtm_trace_mem_t mem;
    rtm_trace_src_t src = {.path = path};
    int rc = rtm_trace_mem_load(&mem, path, o->lenient, o->mem_limit, err, errlen);
    if (rc == 2) {
        memset(out, 0, sizeof *out);
        return 2;
    }
    if (rc == 0) {
        src.mem = &mem;
    }
    rc = rtm_min_size_search_src(&src, o, cap, out, err, errlen);
    if (src.mem != NULL) {
        rtm_trace_mem_free(&mem);
    }
    return rc;
}

int rtm_min_size_search_src(const rtm_trace_src_t *src, const rtm_replay_opts_t *o, size_t cap,
                            rtm_min_size_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (o->strategy == RTM_SYSTEM) {
        return 0; /* no bounded arena: n/a */
    }
    cap = cap == 0 || cap > RTM_MIN_SIZE_CAP ? RTM_MIN_SIZE_CAP : cap & ~(size_t)15u;
    out->cap = cap;
    rtm_heap_config_t cfg = {.strategy = rtm_strategy_by_id(o->strategy), .alignment = o->align};
    size_t lo0 = round16(rtm_heap_min_size(&cfg));
    if (cap < lo0) {
        cap = lo0;
    }
    rtm_replay_result_t *r = malloc(sizeof *r);
    if (r == NULL) {
        (void)snprintf(err, errlen, "out of memory");
        return 2;
    }
    int status = 0;
    size_t sizes[MAX_BATCH];
    int got[MAX_BATCH];
    /* Measuring run: the smallest of 1 MiB, 4 MiB, ... cap that completes. */
    size_t measured = MEASURE_FIRST < lo0 ? lo0 : MEASURE_FIRST;
    int c;
    uint64_t run_ns = 0;
    for (;;) {
        if (measured > cap) {
            measured = cap;
        }
        uint64_t t0 = rtm_tool_cpu_ns();
        c = completes(src, o, measured, out, r, err, errlen);
        run_ns = rtm_tool_cpu_ns() - t0;
        if (c != 0 || measured == cap) {
            break;
        }
        measured = measured > cap / 4u ? cap : measured * 4u;
    }
    if (c == -1) {
        status = 2;
        goto done;
    }
    if (c == -2) {
        goto done;
    }
    if (c == 0) {
        out->over_cap = true;
        goto done;
    }
    out->high_water = (size_t)r->peak_footprint;
    /* The rest takes RTM_MIN_SIZE_SCAN runs at the very least (the scan):
     * when that many runs like the measuring one would pass the deadline,
     * the search is over now rather than at the deadline. */
    if (o->deadline_ns != 0 &&
        rtm_tool_cpu_ns() + run_ns * RTM_MIN_SIZE_SCAN > o->deadline_ns) {
        out->timed_out = true;
        goto done;
    }
    /* lo: below the peak live bytes (no heap that small can hold them);
     * hi: the measured size. The plan does the rest. */
    plan_t plan = {
        .lo = (size_t)(r->peak_live / 16u * 16u),
        .hi = measured,
        .lo0 = lo0,
        .high_water = out->high_water,
        .window = 16u * rtm_min_size_scan_sizes(r),
    };
    plan.scan_max = (unsigned)(plan.window / 16u) * RTM_MIN_SIZE_SCAN_RUNS;
    out->window = plan.window;
    known_t *known = calloc(1, sizeof *known);
    if (known == NULL) {
        (void)snprintf(err, errlen, "out of memory");
        status = 2;
        goto done;
    }
    for (;;) {
        size_t want = 1u;
        if (known->n < KNOWN_MAX / 2u) {
            /* (past half the table: one size at a time, so that the sizes
             * the plan needs always fit) */
            want += take_helpers(o->helpers, MAX_BATCH - 1u);
        }
        size_t n = plan_batch(&plan, known, want, sizes);
        give_helpers(o->helpers, want - (n > 0 ? n : 1u));
        if (n == 0) {
            break; /* the plan is complete */
        }
        c = completes_batch(src, o, sizes, n, got, out, err, errlen);
        give_helpers(o->helpers, n - 1u);
        if (c < 0) {
            status = c == -1 ? 2 : 0;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            known_add(known, sizes[i], got[i] == 1);
        }
    }
    if (c >= 0) {
        (void)plan_next(&plan, known, NULL); /* complete: fills its outputs */
    }
    free(known);
    if (c < 0) {
        goto done;
    }
    out->size = plan.size;
    out->size_completes = true; /* the plan ends on a size replayed that completed */
    out->checked_below = plan.checked_below;
    out->below_fails = plan.checked_below >= 16u;
    out->non_monotonic = plan.non_monotonic;
    out->found = out->size_completes && out->below_fails;
done:
    free(r);
    return status;
}

/* ------------------------------------------------------------------ */
/* rtmem compare                                                       */

size_t rtm_compare_pick(size_t n, const bool *usable, const size_t *min_size,
                        const uint64_t *median_ns)
{
    size_t least = SIZE_MAX;
    for (size_t k = 0; k < n; k++) {
        if (usable[k] && min_size[k] < least) {
            least = min_size[k];
        }
    }
    if (least == SIZE_MAX) {
        return n;
    }
    /* Candidates: minimum within CLOSE_PERCENT of the smallest. */
    uint64_t fastest = UINT64_MAX;
    for (size_t k = 0; k < n; k++) {
        if (usable[k] && min_size[k] - least <= least / 100u * CLOSE_PERCENT &&
            median_ns[k] < fastest) {
            fastest = median_ns[k];
        }
    }
    /* Within NOISE_PERCENT of the fastest is a tie (host timing noise):
     * the smallest minimum wins it, then the list order. */
    uint64_t limit = fastest + fastest * NOISE_PERCENT / 100u; /* medians are small numbers */
    size_t pick = n;
    for (size_t k = 0; k < n; k++) {
        if (!usable[k] || min_size[k] - least > least / 100u * CLOSE_PERCENT ||
            median_ns[k] > limit) {
            continue;
        }
        if (pick == n || min_size[k] < min_size[pick]) {
            pick = k;
        }
    }
    return pick;
}

static const char compare_usage[] =
    "usage: rtmem compare TRACE... [--strategy S] [--size BYTES] [--align N] [--budget SECONDS]\n"
    "                              [--jobs N] [--lenient] [--json] [--quiet]\n"
    "\n"
    "Replays each TRACE with every strategy (or only --strategy S) and shows them side by\n"
    "side: the minimum heap size with which the strategy completes the trace (searched on\n"
    "multiples of 16 from the high-water mark of a measuring run, then scanned downward: it\n"
    "completes at that size and fails at every multiple of 16 in a window below it, 128\n"
    "bytes, up to 2 KiB on traces with aligned requests; a smaller size below a wider band\n"
    "of failing sizes can complete), that size as a ratio of the peak live bytes, and timed\n"
    "runs at the minimum + 25% (rounded up to 1 KiB). A strategy that needs more\n"
    "than 8x the best minimum so far is reported as hopeless ('> 8x best'), one whose search\n"
    "runs over its time budget as too slow. Ends with a recommendation: among the strategies\n"
    "whose minimum size (the largest over all traces) is within 10% of the smallest, those\n"
    "whose median time per operation is at most twice the fastest are tied (host timing\n"
    "noise), and the tie goes to the smallest heap; the heap size is its minimum + 25%,\n"
    "rounded up to 1 KiB.\n"
    "\n"
    "  --strategy S      only this strategy (tlsf, first_fit, best_fit, bump, system)\n"
    "  --size BYTES      system's budget (default 1M)\n"
    "  --align N         heap granularity, a power of two, 4..1G (default 8)\n"
    "  --budget SECONDS  search CPU time per strategy and trace (default: 10x the first\n"
    "                    strategy's search on that trace, at least 5 s; 0 = no limit)\n"
    "  --jobs N          strategies searched at once, in worker processes, after the\n"
    "                    first (default: the online CPUs, at most 8)\n"
    "  --lenient         skip and count inconsistent events\n"
    "  --json            one JSON object instead of the tables\n"
    "  --quiet, -q       no progress line (it is shown only when stderr is a terminal)\n"
    "\n"
    "Each TRACE is parsed once into memory (16 bytes per event; over 512 MiB it is streamed\n"
    "on every run instead), so TRACE must be a file, not '-' or a pipe.\n"
    "Exit: 0 a recommendation was made, 1 no strategy completes some trace, 2 bad usage or\n"
    "input. A bad line (FILE:LINE on stderr) stops the reading of its trace: the part before\n"
    "it is still compared, headed INCOMPLETE TRACE (--json: \"complete\":false,\n"
    "\"cut_off_reason\"), the other traces as usual, and no recommendation is made (exit 2).\n";


typedef rtm_compare_status_t row_status_t;
typedef rtm_compare_row_t row_t;

static const char *status_name(row_status_t s)
{
    switch (s) {
    case RTM_COMPARE_FOUND:
        return "ok";
    case RTM_COMPARE_NA:
        return "n/a";
    case RTM_COMPARE_HOPELESS:
        return "hopeless";
    case RTM_COMPARE_TOO_SLOW:
        return "too_slow";
    case RTM_COMPARE_NONE:
        break;
    }
    return "none";
}

static size_t recommended_size(size_t min)
{
    size_t s = min / MARGIN_DEN * MARGIN_NUM + (min % MARGIN_DEN * MARGIN_NUM + MARGIN_DEN - 1u) / MARGIN_DEN;
    return (s + 1023u) & ~(size_t)1023u;
}

/* The checked column of a found minimum: what was replayed below it. */
static const char *checked_cell(const rtm_min_size_t *m, char *buf, size_t len)
{
    if (m->checked_below >= m->size) {
        return "all";
    }
    if (m->checked_below >= m->window) {
        return "ok";
    }
    /* the scan's limit: a shorter stretch below fails */
    (void)snprintf(buf, len, "%zu B", m->checked_below);
    return buf;
}

static void print_table(FILE *o, const char *path, const row_t *rows, size_t n, uint64_t ops,
                        uint64_t peak_live, size_t peak_blocks, const rtm_trace_counts_t *skipped,
                        const rtm_compare_cut_t *cut)
{
    rtm_esc_msg(o, "trace %s: %" PRIu64 " operations, peak live %" PRIu64 " bytes in %zu blocks",
                path, ops, peak_live, peak_blocks);
    if (cut->cut_off) {
        rtm_esc_msg(o,
                    "INCOMPLETE TRACE: reading stopped at line %lu: %s (the results below are "
                    "those of the part before it)",
                    cut->line, cut->reason);
    }
    fputc('\n', o);
    fprintf(o, "%-10s %10s %6s %-7s %10s %6s %10s %6s %9s %9s %9s\n", "strategy", "min size",
            "ratio", "checked", "run size", "failed", "footprint", "frag", "median", "p99.9",
            "total");
    for (size_t i = 0; i < n; i++) {
        const row_t *w = &rows[i];
        char ms[40], ratio[16], b1[24], b2[24], b3[24], chk_buf[24];
        const char *chk = "-";
        (void)snprintf(ratio, sizeof ratio, "-");
        switch (w->status) {
        case RTM_COMPARE_FOUND:
            (void)snprintf(ms, sizeof ms, "%zu", w->min.size);
            if (peak_live != 0) {
                (void)snprintf(ratio, sizeof ratio, "%.2f",
                               (double)w->min.size / (double)peak_live);
            }
            chk = checked_cell(&w->min, chk_buf, sizeof chk_buf);
            break;
        case RTM_COMPARE_NA:
            (void)snprintf(ms, sizeof ms, "n/a");
            break;
        case RTM_COMPARE_HOPELESS:
            (void)snprintf(ms, sizeof ms, "> %ux best", HOPELESS_FACTOR);
            break;
        case RTM_COMPARE_TOO_SLOW:
            (void)snprintf(ms, sizeof ms, "too slow");
            break;
        case RTM_COMPARE_NONE:
            (void)snprintf(ms, sizeof ms, w->min.size != 0 ? "%zu" : "> 1 GiB", w->min.size);
            chk = w->min.size != 0 ? "FAILED" : "-";
            break;
        }
        if (!w->ran) {
            fprintf(o, "%-10s %10s %6s %-7s %10s %6s %10s %6s %9s %9s %9s\n",
                    rtm_strategy_name(w->strategy), ms, ratio, chk, "-", "-", "-", "-", "-", "-",
                    "-");
            continue;
        }
        fprintf(o, "%-10s %10s %6s %-7s %10zu %6" PRIu64 " %10" PRIu64 " %5.1f%% %9s %9s %9s\n",
                rtm_strategy_name(w->strategy), ms, ratio, chk, w->run_size, w->run.failed,
                w->run.peak_footprint, w->run.frag_at_peak * 100.0,
                rtm_tool_fmt_ns(w->median_ns, b1, sizeof b1),
                rtm_tool_fmt_ns(rtm_hist_quantile(&w->run.hist, 0.999), b2, sizeof b2),
                rtm_tool_fmt_ns(w->run.hist.total_ns, b3, sizeof b3));
    }
    for (size_t i = 0; i < n; i++) {
        const row_t *w = &rows[i];
        if (w->status == RTM_COMPARE_HOPELESS) {
            fprintf(o, "%s: does not complete at %zu bytes (%ux the best minimum); not searched\n",
                    rtm_strategy_name(w->strategy), w->min.cap, HOPELESS_FACTOR);
        } else if (w->status == RTM_COMPARE_TOO_SLOW) {
            fprintf(o, "%s: search stopped after %.1f s (its budget, see --budget)\n",
                    rtm_strategy_name(w->strategy), (double)w->search_ns / 1e9);
        }
    }
    size_t window = 0;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].status == RTM_COMPARE_FOUND) {
            window = rows[i].min.window;
        }
    }
    if (window != 0) {
        fprintf(o,
                "checked: the trace completes at min size; ok: and at no multiple of 16 in the "
                "%zu bytes below it; all: at no smaller size\n",
                window);
    }
    /* Each kind named, as replay does: a cut-off last line is skipped
     * without --lenient too, and is no inconsistent event. */
    uint64_t sk = rtm_trace_skipped(skipped);
    if (sk != 0) {
        fprintf(o,
                "skipped %" PRIu64 " (unknown free %" PRIu64 ", unknown realloc %" PRIu64
                ", reused live ID %" PRIu64 ", truncated last line %" PRIu64 ")\n",
                sk, skipped->unknown_free, skipped->unknown_realloc, skipped->reused_id,
                skipped->truncated);
    }
    fputc('\n', o);
}

static void row_json(rtm_json_t *j, const char *path, const row_t *w, uint64_t peak_live)
{
    rtm_json_begin_object(j);
    rtm_json_kv_str(j, "strategy", rtm_strategy_name(w->strategy));
    rtm_json_kv_str(j, "status", status_name(w->status));
    if (w->status == RTM_COMPARE_FOUND) {
        rtm_json_kv_u64(j, "min_size", w->min.size);
        if (peak_live != 0) {
            rtm_json_kv_double(j, "min_size_ratio", (double)w->min.size / (double)peak_live, 4);
        } else {
            rtm_json_kv_null(j, "min_size_ratio");
        }
        rtm_json_kv_bool(j, "min_size_completes", w->min.size_completes);
        rtm_json_kv_bool(j, "below_fails", w->min.below_fails);
        rtm_json_kv_u64(j, "checked_below", w->min.checked_below);
    } else {
        rtm_json_kv_null(j, "min_size");
        rtm_json_kv_null(j, "min_size_ratio");
        rtm_json_kv_null(j, "min_size_completes");
        rtm_json_kv_null(j, "below_fails");
        rtm_json_kv_null(j, "checked_below");
    }
    rtm_json_kv_u64(j, "scan_window", w->min.window);
    rtm_json_kv_u64(j, "search_runs", w->min.runs);
    rtm_json_kv_u64(j, "non_monotonic", w->min.non_monotonic);
    rtm_json_kv_u64(j, "high_water", w->min.high_water);
    rtm_json_kv_u64(j, "cap", w->min.cap);
    rtm_json_kv_u64(j, "search_ms", w->search_ns / 1000000u);
    if (w->ran) {
        rtm_json_kv_u64(j, "median_ns", w->median_ns);
        rtm_json_kv_u64(j, "run_size", w->run_size);
        rtm_json_key(j, "run");
        rtm_json_begin_object(j);
        rtm_replay_json_fields(j, path, NULL, &w->run);
        rtm_json_end_object(j);
    } else {
        rtm_json_kv_null(j, "median_ns");
        rtm_json_kv_null(j, "run_size");
        rtm_json_kv_null(j, "run");
    }
    rtm_json_end_object(j);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* One trace's shared inputs for the rows. */
typedef struct trace_ctx {
    rtm_trace_src_t src;      /* loaded once: workers share it (fork, copy-on-write) */
    const rtm_compare_opts_t *opts;
    const rtm_helper_pool_t *helpers; /* NULL: searches replay one size at a time */
    rtm_progress_t *progress; /* NULL in a worker process */
    size_t nrows;
    size_t best;              /* smallest checked minimum so far (0: none) */
    uint64_t fastest_search;  /* its search's CPU time */
} trace_ctx_t;

/* The search of one strategy on one trace (its timed runs come later, in
 * timed_all). 0, or 2 with err filled. */
static int measure_row(const trace_ctx_t *t, row_t *w, size_t index, rtm_replay_result_t *scratch,
                       char *err, size_t errlen)
{
    const rtm_compare_opts_t *c = t->opts;
    /* The searches take the first 90% of the trace's progress, the timed
     * runs the rest. */
    double per_row = 0.9 * c->progress_span / (double)t->nrows;
    size_t system_size = c->system_size != 0 ? c->system_size : RTM_REPLAY_DEFAULT_SIZE;
    rtm_replay_opts_t o = {
        .strategy = w->strategy,
        .heap_size = system_size,
        .align = c->align,
        .lenient = c->lenient,
        .progress = t->progress,
        /* about 20 runs of a search */
        .progress_base = c->progress_base + per_row * (double)index,
        .progress_span = per_row / 20.0,
        .mem_limit = c->mem_limit,
        .helpers = t->helpers,
    };
    if (t->progress != NULL) {
        rtm_progress_update(t->progress, o.progress_base);
    }
    /* The budget is CPU time, so that a loaded machine does not turn a
     * search that fits into a "too slow" one. */
    uint64_t t0 = rtm_tool_now_ns();
    uint64_t cpu0 = rtm_tool_cpu_ns();
    if (c->budget_set) {
        o.deadline_ns = c->budget_ns == 0 ? 0 : cpu0 + c->budget_ns;
    } else if (t->fastest_search != 0) {
        uint64_t b = t->fastest_search * BUDGET_FACTOR;
        o.deadline_ns = cpu0 + (b < BUDGET_FLOOR_NS ? BUDGET_FLOOR_NS : b);
    }
    size_t cap = t->best != 0 && t->best <= RTM_MIN_SIZE_CAP / HOPELESS_FACTOR
                     ? t->best * HOPELESS_FACTOR
                     : 0;
    if (rtm_min_size_search_src(&t->src, &o, cap, &w->min, err, errlen) != 0) {
        return 2;
    }
    w->search_ns = rtm_tool_now_ns() - t0;
    w->search_cpu_ns = rtm_tool_cpu_ns() - cpu0;
    if (w->strategy == RTM_SYSTEM) {
        w->status = RTM_COMPARE_NA;
        w->run_size = system_size;
    } else if (w->min.found) {
        w->status = RTM_COMPARE_FOUND;
        w->run_size = recommended_size(w->min.size);
    } else {
        w->status = w->min.timed_out                ? RTM_COMPARE_TOO_SLOW
                    : w->min.over_cap && cap != 0   ? RTM_COMPARE_HOPELESS
                                                    : RTM_COMPARE_NONE;
    }
    (void)scratch; /* the timed runs come after every search: timed_all */
    return 0;
}

/* The timed runs of every row that has a size (TIMED_RUNS each at its
 * run_size), after all searches and in this process, interleaved: run 1 of
 * every row, then run 2, ... So no timed run shares the machine with a
 * search in a worker, and a change of load while they run moves every row
 * alike: the pick's time test compares like with like (issue 13, item 8).
 * A row keeps the median of its runs' medians and its first run. A system
 * row whose replay fails (RTMEM_WITH_SYSTEM off) stays without runs. 0, or
 * 2 with err filled. */
static int timed_all(const trace_ctx_t *t, row_t *rows, size_t n, rtm_replay_result_t *scratch,
                     char *err, size_t errlen)
{
    const rtm_compare_opts_t *c = t->opts;
    uint64_t(*med)[TIMED_RUNS] = calloc(n, sizeof *med);
    bool *skip = calloc(n, sizeof *skip);
    int status = 0;
    if (med == NULL || skip == NULL) {
        (void)snprintf(err, errlen, "out of memory");
        status = 2;
    }
    for (unsigned i = 0; i < TIMED_RUNS && status == 0; i++) {
        for (size_t k = 0; k < n && status == 0; k++) {
            row_t *w = &rows[k];
            if (skip[k] || (w->status != RTM_COMPARE_FOUND && w->status != RTM_COMPARE_NA)) {
                continue;
            }
            rtm_replay_opts_t o = {
                .strategy = w->strategy,
                .heap_size = w->run_size,
                .align = c->align,
                .lenient = c->lenient,
                .mem_limit = c->mem_limit,
                .timing = true,
            };
            if (t->progress != NULL) {
                double done = (double)(i * n + k) / (double)(TIMED_RUNS * n);
                rtm_progress_update(t->progress,
                                    c->progress_base + c->progress_span * (0.9 + 0.1 * done));
            }
            if (rtm_replay_src(&t->src, &o, scratch, err, errlen) != 0) {
                if (w->strategy == RTM_SYSTEM) {
                    skip[k] = true; /* not compiled in: an empty row */
                    continue;
                }
                status = 2;
                break;
            }
            med[k][i] = rtm_hist_quantile(&scratch->hist, 0.5);
            if (i == 0) {
                w->run = *scratch;
            }
        }
    }
    for (size_t k = 0; k < n && status == 0; k++) {
        row_t *w = &rows[k];
        if (skip[k] || (w->status != RTM_COMPARE_FOUND && w->status != RTM_COMPARE_NA)) {
            continue;
        }
        qsort(med[k], TIMED_RUNS, sizeof med[k][0], cmp_u64);
        w->median_ns = med[k][TIMED_RUNS / 2u];
        w->ran = true;
    }
    free(med);
    free(skip);
    return status;
}

/* What a worker process sends back: its row, or an error. */
typedef struct worker_msg {
    int status;
    char err[RTM_TRACE_ERR_MAX];
    row_t row;
} worker_msg_t;

static bool write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static bool read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

typedef struct worker {
    pid_t pid;
    int fd;
    size_t row;
} worker_t;

/* Collects one worker's row (or error) and reaps it. */
static int collect(worker_t *wk, row_t *rows, worker_msg_t *msg, char *err, size_t errlen)
{
    bool ok = read_all(wk->fd, msg, sizeof *msg);
    close(wk->fd);
    int st = 0;
    while (waitpid(wk->pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (!ok) {
        (void)snprintf(err, errlen, "rtmem compare: a worker process failed");
        return 2;
    }
    if (msg->status != 0) {
        (void)snprintf(err, errlen, "%s", msg->err);
        return 2;
    }
    /* Pointers in the row point to string literals of this same program. */
    rows[wk->row] = msg->row;
    return 0;
}

/* The rows after the first, up to jobs at a time in worker processes
 * (jobs <= 1: in this process). */
static int measure_rest(trace_ctx_t *t, row_t *rows, size_t n, unsigned jobs,
                        rtm_replay_result_t *scratch, char *err, size_t errlen)
{
    if (jobs <= 1u) {
        for (size_t k = 0; k < n; k++) {
            if (measure_row(t, &rows[k], k + 1u, scratch, err, errlen) != 0) {
                return 2;
            }
        }
        return 0;
    }
    worker_msg_t *msg = malloc(sizeof *msg);
    worker_t pool[RTM_STRATEGY_COUNT];
    if (msg == NULL) {
        (void)snprintf(err, errlen, "out of memory");
        return 2;
    }
    size_t running = 0;
    size_t next = 0;
    size_t done = 0;
    int status = 0;
    fflush(NULL);
    pid_t self = getpid();
    while (done < n) {
        while (status == 0 && next < n && running < jobs) {
            int fds[2];
            if (pipe(fds) != 0) {
                (void)snprintf(err, errlen, "rtmem compare: pipe: %s", strerror(errno));
                status = 2;
                break;
            }
            pid_t pid = fork();
            if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
                (void)snprintf(err, errlen, "rtmem compare: fork: %s", strerror(errno));
                status = 2;
                break;
            }
            if (pid == 0) {
                end_with_parent(self);
                close(fds[0]);
                trace_ctx_t own = *t;
                own.progress = NULL; /* the parent draws the line */
                memset(msg, 0, sizeof *msg);
                msg->row = rows[next];
                msg->status = measure_row(&own, &msg->row, next + 1u, scratch, msg->err,
                                          sizeof msg->err);
                _exit(write_all(fds[1], msg, sizeof *msg) ? 0 : 1);
            }
            close(fds[1]);
            pool[running++] = (worker_t){.pid = pid, .fd = fds[0], .row = next};
            next++;
        }
        if (running == 0) {
            break;
        }
        /* Wait for whichever worker finishes first. */
        struct pollfd pfd[RTM_STRATEGY_COUNT];
        for (size_t i = 0; i < running; i++) {
            pfd[i] = (struct pollfd){.fd = pool[i].fd, .events = POLLIN};
        }
        int pr = poll(pfd, (nfds_t)running, 200);
        if (pr < 0 && errno != EINTR) {
            (void)snprintf(err, errlen, "rtmem compare: poll: %s", strerror(errno));
            status = 2;
            pr = 0;
        }
        for (size_t i = 0; i < running && pr > 0; i++) {
            if (pfd[i].revents == 0) {
                continue;
            }
            if (collect(&pool[i], rows, msg, err, errlen) != 0 && status == 0) {
                status = 2;
            }
            pool[i] = pool[running - 1u];
            pfd[i] = pfd[running - 1u];
            running--;
            done++;
            i--;
            pr--;
        }
        if (t->progress != NULL) {
            double share = (double)(1u + done) / (double)(1u + n);
            const rtm_compare_opts_t *c = t->opts;
            rtm_progress_update(t->progress, c->progress_base + c->progress_span * share);
        }
        if (status != 0 && running == 0) {
            break;
        }
    }
    free(msg);
    return status;
}

int rtm_compare_trace(const char *path, const rtm_compare_opts_t *o, rtm_compare_row_t *rows,
                      size_t n, char *err, size_t errlen)
{
    for (size_t k = 0; k < n; k++) {
        rtm_strategy_id_t s = rows[k].strategy;
        memset(&rows[k], 0, sizeof rows[k]);
        rows[k].strategy = s;
    }
    if (n == 0) {
        return 0;
    }
    rtm_trace_mem_t mem;
    trace_ctx_t t = {.src = {.path = path}, .opts = o, .progress = o->progress, .nrows = n};
    if (o->cut != NULL) {
        memset(o->cut, 0, sizeof *o->cut);
    }
    int rc = o->cut != NULL
                 ? rtm_trace_mem_load_part(&mem, path, o->lenient, o->mem_limit, err, errlen)
                 : rtm_trace_mem_load(&mem, path, o->lenient, o->mem_limit, err, errlen);
    if (rc == 2) {
        return 2;
    }
    /* the load's "FILE:LINE: ..." (a refused heap size in a search writes
     * err without failing) */
    char cut_msg[RTM_TRACE_ERR_MAX] = "";
    if (rc == 0) {
        t.src.mem = &mem;
        if (mem.cut_off) {
            o->cut->cut_off = true;
            o->cut->line = mem.cut_line;
            (void)snprintf(o->cut->reason, sizeof o->cut->reason, "%s", mem.cut_reason);
            (void)snprintf(cut_msg, sizeof cut_msg, "%s", err);
        }
    }
    /* Helpers for the searches: with jobs processes allowed, the first
     * row's search can use the other jobs - 1 cores, and later a search
     * that runs alone (the slow ones, at the end) those left idle. */
    rtm_helper_pool_t pool;
    if (o->jobs >= 2u && rtm_helper_pool_open(&pool, o->jobs - 1u)) {
        t.helpers = &pool;
    }
    rtm_replay_result_t *scratch = malloc(sizeof *scratch);
    int status = 2;
    if (scratch == NULL) {
        (void)snprintf(err, errlen, "out of memory");
    } else if (measure_row(&t, &rows[0], 0, scratch, err, errlen) == 0) {
        /* The first strategy alone: its minimum is the cap's base and its
         * search time the budget's; the others in parallel after it. */
        if (rows[0].status == RTM_COMPARE_FOUND) {
            t.best = rows[0].min.size;
            t.fastest_search = rows[0].search_cpu_ns;
        }
        status = measure_rest(&t, rows + 1, n - 1u, o->jobs, scratch, err, errlen);
        if (status == 0) {
            status = timed_all(&t, rows, n, scratch, err, errlen);
        }
    }
    free(scratch);
    if (t.helpers != NULL) {
        rtm_helper_pool_close(&pool);
    }
    if (t.src.mem != NULL) {
        rtm_trace_mem_free(&mem);
    }
    if (status == 0 && cut_msg[0] != '\0') {
        (void)snprintf(err, errlen, "%s", cut_msg);
    }
    return status;
}

int rtm_cmd_compare(int argc, char **argv)
{
    rtm_tool_cli_t c;
    int rc = rtm_tool_parse_cli("compare", argc, argv, &c, true);
    if (rc == 3) {
        fputs(compare_usage, stdout);
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    if (c.preset != NULL) {
        rtm_esc_msg(stderr, "rtmem compare: --regions is not supported (the preset fixes the sizes; "
                        "use rtmem replay --regions)");
        return 2;
    }
    for (size_t i = 0; i < c.nfiles; i++) {
        if (rtm_input_is_stream(c.files[i])) {
            rtm_esc_msg(stderr,
                        "rtmem compare: %s: a trace must be a file, not a pipe, FIFO or device "
                        "(it is read many times)",
                        c.files[i]);
            return 2;
        }
    }
    rtm_strategy_id_t list[RTM_STRATEGY_COUNT];
    size_t nstrat = 0;
    if (c.strategy_set) {
        list[nstrat++] = c.strategy;
    } else {
        for (int s = 0; s < (int)RTM_STRATEGY_COUNT; s++) {
            list[nstrat++] = (rtm_strategy_id_t)s;
        }
    }
    /* Aggregates over traces per strategy for the recommendation. */
    size_t worst_min[RTM_STRATEGY_COUNT] = {0};
    bool all_found[RTM_STRATEGY_COUNT];
    uint64_t worst_median[RTM_STRATEGY_COUNT] = {0};
    for (size_t k = 0; k < nstrat; k++) {
        all_found[k] = list[k] != RTM_SYSTEM;
    }
    row_t *rows = calloc(nstrat, sizeof *rows);
    if (rows == NULL) {
        rtm_esc_msg(stderr, "rtmem compare: out of memory");
        return 2;
    }
    rtm_progress_t prog;
    rtm_progress_init(&prog, stderr, "rtmem compare", c.quiet);
    rtm_compare_cut_t cut;
    /* the first trace a bad line cut off: no recommendation rests on it */
    const char *incomplete = NULL;
    rtm_compare_opts_t co = {
        .system_size = c.size,
        .align = c.align,
        .lenient = c.lenient,
        .budget_set = c.budget_set,
        .budget_ns = c.budget_ns,
        .jobs = c.jobs,
        .progress = &prog,
        .progress_span = 1.0 / (double)c.nfiles,
        .cut = &cut,
    };
    char err[RTM_TRACE_ERR_MAX];
    rtm_json_t j;
    if (c.json) {
        rtm_json_begin_doc(&j, stdout, "compare");
        rtm_json_key(&j, "traces");
        rtm_json_begin_array(&j);
    }
    int status = 0;
    for (size_t f = 0; f < c.nfiles && status == 0; f++) {
        for (size_t k = 0; k < nstrat; k++) {
            rows[k].strategy = list[k];
        }
        co.progress_base = (double)f / (double)c.nfiles;
        status = rtm_compare_trace(c.files[f], &co, rows, nstrat, err, sizeof err);
        if (status != 0) {
            rtm_progress_done(&prog);
            rtm_esc_line(stderr, err);
            break;
        }
        if (cut.cut_off && incomplete == NULL) {
            incomplete = c.files[f];
        }
        uint64_t ops = 0, peak_live = 0;
        size_t peak_blocks = 0;
        rtm_trace_counts_t skipped = {0};
        for (size_t k = 0; k < nstrat; k++) {
            row_t *w = &rows[k];
            if (w->status == RTM_COMPARE_FOUND && w->min.size > worst_min[k]) {
                worst_min[k] = w->min.size;
            }
            if (w->status != RTM_COMPARE_FOUND) {
                all_found[k] = false;
            }
            if (w->ran) {
                if (w->median_ns > worst_median[k]) {
                    worst_median[k] = w->median_ns;
                }
                ops = w->run.ops;
                peak_live = w->run.peak_live;
                peak_blocks = w->run.peak_live_blocks;
                skipped = w->run.skipped;
            }
        }
        rtm_progress_done(&prog);
        if (cut.cut_off) {
            rtm_esc_line(stderr, err); /* "FILE:LINE: ...", as for any bad input */
        }
        if (c.json) {
            char reason[RTM_TRACE_ERR_MAX + 48];
            (void)snprintf(reason, sizeof reason, "reading stopped at line %lu: %s", cut.line,
                           cut.reason);
            rtm_json_begin_object(&j);
            rtm_json_kv_str(&j, "trace", c.files[f]);
            rtm_json_kv_u64(&j, "ops", ops);
            rtm_json_kv_u64(&j, "peak_live_bytes", peak_live);
            rtm_json_kv_bool(&j, "complete", !cut.cut_off);
            rtm_json_kv_str(&j, "cut_off_reason", cut.cut_off ? reason : NULL);
            rtm_json_key(&j, "strategies");
            rtm_json_begin_array(&j);
            for (size_t k = 0; k < nstrat; k++) {
                row_json(&j, c.files[f], &rows[k], peak_live);
            }
            rtm_json_end_array(&j);
            rtm_json_end_object(&j);
        } else {
            print_table(stdout, c.files[f], rows, nstrat, ops, peak_live, peak_blocks, &skipped,
                        &cut);
        }
    }
    free(rows);
    if (status != 0) {
        if (c.json) { /* still a whole object: the traces done, no recommendation */
            rtm_json_end_array(&j);
            rtm_json_kv_null(&j, "recommendation");
            (void)rtm_json_end_doc(&j);
        }
        return status;
    }
    if (incomplete != NULL) {
        /* A pick on the part before a bad line could name a heap too small
         * for the whole trace: none, and the bad input's exit status. */
        if (c.json) {
            rtm_json_end_array(&j);
            rtm_json_kv_null(&j, "recommendation");
            (void)rtm_json_end_doc(&j);
        } else {
            rtm_esc_msg(stdout,
                        "recommendation: none (trace %s is incomplete: a bad line stopped its "
                        "reading, and a heap size from the part before it may not fit the whole "
                        "trace)",
                        incomplete);
        }
        return 2;
    }
    size_t best = rtm_compare_pick(nstrat, all_found, worst_min, worst_median);
    if (c.json) {
        rtm_json_end_array(&j);
        rtm_json_key(&j, "recommendation");
        if (best == nstrat) {
            rtm_json_null(&j);
        } else {
            char rule[200];
            (void)snprintf(rule, sizeof rule,
                           "among strategies whose minimum size is within %u%% of the smallest, "
                           "medians within %u%% of the fastest tie; the smallest heap wins the tie",
                           CLOSE_PERCENT, NOISE_PERCENT);
            rtm_json_begin_object(&j);
            rtm_json_kv_str(&j, "strategy", rtm_strategy_name(list[best]));
            rtm_json_kv_u64(&j, "heap_size", recommended_size(worst_min[best]));
            rtm_json_kv_u64(&j, "min_size", worst_min[best]);
            rtm_json_kv_double(&j, "margin", 0.25, 2);
            rtm_json_kv_str(&j, "rule", rule);
            rtm_json_end_object(&j);
        }
        (void)rtm_json_end_doc(&j);
    } else if (best == nstrat) {
        printf("recommendation: none (no strategy completes every trace)\n");
    } else {
        size_t hs = recommended_size(worst_min[best]);
        printf("recommendation: %s with a %zu-byte heap (%.1f KiB): its minimum %zu bytes%s "
               "+ 25%% margin, rounded up to 1 KiB (of the strategies needing at most %u%% more "
               "than the smallest minimum, the smallest heap among those with a median time "
               "within %u%% of the fastest)\n",
               rtm_strategy_name(list[best]), hs, (double)hs / 1024.0, worst_min[best],
               c.nfiles > 1 ? " (largest over the traces)" : "", CLOSE_PERCENT, NOISE_PERCENT);
    }
    return best == nstrat ? 1 : 0;
}
