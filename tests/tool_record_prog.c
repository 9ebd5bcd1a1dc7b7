/*
 * The program test_tool_record runs under `rtmem record`: a marker
 * allocation, then known allocations through every recorded entry point,
 * then 4 threads doing 1000 malloc/free pairs each and keeping one block.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>

static void *volatile sink; /* keeps the compiler from eliding pairs */

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        void *p = malloc(777);
        sink = p;
        free(p);
    }
    sink = malloc(555); /* kept: one leak per thread */
    return NULL;
}

int main(void)
{
    void *marker = malloc(12345);
    sink = marker;
    char *a = malloc(11);
    sink = a;
    char *b = calloc(3, 7);
    sink = b;
    b = realloc(b, 33);
    sink = b;
    void *c = NULL;
    if (posix_memalign(&c, 64, 100) != 0)
        return 1;
    sink = c;
    void *d = aligned_alloc(32, 64);
    sink = d;
    void *e = memalign(16, 48);
    sink = e;
    free(a);
    free(c);
    free(e);
    free(marker);
    /* b (33 bytes) and d (64 bytes) stay allocated */

    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        if (pthread_create(&t[i], NULL, worker, NULL) != 0)
            return 1;
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    return 0;
}
