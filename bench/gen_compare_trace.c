/*
 * Writes an rtmem-trace 1 trace of EVENTS events to stdout for
 * bench/compare_times.sh: `rtmem compare` must size every strategy on it
 * within the budget of docs/benchmarks.md.
 *
 *   gen_compare_trace EVENTS
 *
 * A program-like mix: a live set that grows to about 2,000 blocks, then
 * churns (allocate, free a random live block, sometimes realloc one), with
 * sizes 8..264 bytes, one in 64 up to 16 KiB and one in 32 aligned to
 * 32..256. Every block is freed at the end (those frees count in EVENTS).
 * Deterministic: its own xorshift generator, fixed seed.
 */
#include <stdio.h>
#include <stdlib.h>

#define LIVE_TARGET 2000u

static unsigned long long rng_state = 0x9e3779b97f4a7c15ull;

static unsigned long long next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static unsigned long pick_size(void)
{
    unsigned long r = (unsigned long)(next_random() % 64u);
    if (r == 0) {
        return 1024ul + (unsigned long)(next_random() % 15360u);
    }
    return 8ul + (unsigned long)(next_random() % 257u);
}

int main(int argc, char **argv)
{
    char *end = NULL;
    unsigned long events = argc == 2 ? strtoul(argv[1], &end, 10) : 0;
    if (argc != 2 || end == argv[1] || *end != '\0' || events < LIVE_TARGET * 2u) {
        fprintf(stderr, "usage: gen_compare_trace EVENTS (at least %u)\n", LIVE_TARGET * 2u);
        return 2;
    }
    static char buf[1 << 16];
    setvbuf(stdout, buf, _IOFBF, sizeof buf);
    unsigned long *live = malloc(sizeof *live * (LIVE_TARGET + 1u));
    if (live == NULL) {
        return 2;
    }
    unsigned long nlive = 0;
    unsigned long next_id = 0;
    unsigned long written = 0;
    printf("# rtmem-trace 1\n# gen_compare_trace %lu\n", events);
    /* Leave room for the final frees: at most LIVE_TARGET of them. */
    while (written + nlive < events) {
        int grow = nlive < LIVE_TARGET / 4u ||
                   (nlive < LIVE_TARGET && next_random() % 100u < 55u);
        if (grow) {
            unsigned long id = next_id++;
            unsigned long size = pick_size();
            if (next_random() % 32u == 0) {
                printf("A %lx %lu %lu\n", id, size, 32ul << (next_random() % 4u));
            } else {
                printf("a %lx %lu\n", id, size);
            }
            live[nlive++] = id;
        } else {
            unsigned long k = (unsigned long)(next_random() % nlive);
            if (next_random() % 8u == 0) {
                unsigned long id = next_id++;
                printf("r %lx %lx %lu\n", live[k], id, pick_size());
                live[k] = id;
            } else {
                printf("f %lx\n", live[k]);
                live[k] = live[--nlive];
            }
        }
        written++;
    }
    while (nlive > 0) {
        printf("f %lx\n", live[--nlive]);
    }
    free(live);
    return fflush(stdout) == 0 ? 0 : 1;
}
