#include "support/random_trace.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

void ts_write_random_trace(const char *path, uint32_t seed, unsigned steps, bool aligned,
                           bool free_rest)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    unsigned live[512];
    unsigned nlive = 0;
    unsigned next = 0;
    uint32_t x = seed;
    fprintf(f, "# rtmem-trace 1\n");
    for (unsigned i = 0; i < steps; i++) {
        x = x * 1664525u + 1013904223u; /* a 32-bit LCG: reproducible everywhere */
        unsigned r = x >> 8;
        if (nlive > 0 && (r % 100u < 45u || nlive == 512u)) {
            unsigned k = (r / 100u) % nlive;
            fprintf(f, "f %u\n", live[k]);
            live[k] = live[--nlive];
        } else {
            unsigned size = 8u + (r / 100u) % (r % 7u == 0 ? 3000u : 200u);
            if (aligned && r % 10u == 3u) {
                fprintf(f, "A %u %u 64\n", next, size);
            } else {
                fprintf(f, "a %u %u\n", next, size);
            }
            live[nlive++] = next++;
        }
    }
    while (free_rest && nlive > 0) {
        fprintf(f, "f %u\n", live[--nlive]);
    }
    assert_int_equal(fclose(f), 0);
}
