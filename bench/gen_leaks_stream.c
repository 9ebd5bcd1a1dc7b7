/*
 * Writes an rtmem-trace 1 stream of alloc/free pairs to stdout for
 * bench/leaks_rss.sh: `rtmem leaks` must read it in memory bounded by the
 * blocks live at once, whatever its length.
 *
 *   gen_leaks_stream PAIRS [LEAK_EVERY [SITES]]
 *
 * PAIRS times "a ID SIZE" then "f ID" (IDs are the pair's number in
 * decimal, sizes 16..1039 bytes), except that every LEAK_EVERY-th pair
 * (default 100000; 0 = none) is left allocated, with one of 5 caller
 * chains, so the report has leaks and groups. Deterministic.
 *
 * With SITES, a block left allocated carries what a real trace does (a
 * caller chain of three, site=, task=, heap=) from one of SITES call sites
 * (0: a site of its own for every block), for the memory per live block
 * of `rtmem leaks` (docs/benchmarks.md): `gen_leaks_stream 3000000 1 300`
 * leaves 3 million blocks from 300 sites.
 */
#include <stdio.h>
#include <stdlib.h>

static unsigned long parse_count(const char *s)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s < '0' || *s > '9' || *end != '\0') {
        fprintf(stderr, "gen_leaks_stream: '%s' is not a count\n", s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: gen_leaks_stream PAIRS [LEAK_EVERY [SITES]]\n");
        return 2;
    }
    unsigned long pairs = parse_count(argv[1]);
    unsigned long leak_every = argc > 2 ? parse_count(argv[2]) : 100000ul;
    int full = argc > 3;
    unsigned long sites = full ? parse_count(argv[3]) : 0ul;
    static char buf[1 << 16];
    setvbuf(stdout, buf, _IOFBF, sizeof buf);
    unsigned long long bytes = 0;
    unsigned long leaks = 0;
    int n = printf("# rtmem-trace 1\n");
    bytes += n > 0 ? (unsigned)n : 0u;
    unsigned long size = 16;
    for (unsigned long i = 1; i <= pairs; i++) {
        size = (size * 1103515245ul + 12345ul) % 1024ul;
        if (leak_every != 0 && i % leak_every == 0 && full) {
            unsigned long k = sites ? i % sites : i;
            n = printf("a %lu %lu caller=0x%08lx:0x400d%04lx:0x400d9000 site=src/mod%lu.c:%lu "
                       "task=task%lu heap=%s\n",
                       i, 16 + size, 0x40080000ul + 4ul * (k & 0xfffffful), k % 4096ul, k % 37ul,
                       k, k % 7ul, k % 3ul ? "dram" : "psram");
            leaks++;
        } else if (leak_every != 0 && i % leak_every == 0) {
            n = printf("a %lu %lu caller=0x400d%04lx:0x400d9000\n", i, 16 + size,
                       (i / leak_every) % 5);
            leaks++;
        } else {
            n = printf("a %lu %lu\nf %lu\n", i, 16 + size, i);
        }
        bytes += n > 0 ? (unsigned)n : 0u;
    }
    if (fflush(stdout) != 0)
        return 1;
    fprintf(stderr, "gen_leaks_stream: %llu bytes, %lu pairs, %lu left allocated\n", bytes, pairs,
            leaks);
    return 0;
}
