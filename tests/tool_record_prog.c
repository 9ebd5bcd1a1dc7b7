/*
 * The program test_tool_record runs under `rtmem record`: a marker
 * allocation, then known allocations through every recorded entry point,
 * then 4 threads doing 1000 malloc/free pairs each and keeping one block.
 *
 * With an argument it ends in another way, after three kept blocks of
 * 4001, 4002 and 4003 bytes (events still in the recorder's buffer):
 *   _exit, _Exit   that call, skipping destructors
 *   abort          abort()
 *   sigterm        kill(getpid(), SIGTERM)
 *   segv           a write through a null pointer
 *   none           no allocation at all; exit status 0
 *   dup2_over      every descriptor from 3 to 1023 made a copy of a file of
 *                  its own (the recorder's among them), then 2000
 *                  malloc/free pairs of 999 bytes; exit status 6 if any byte
 *                  it did not write reached its file, else 0
 *   stdout         writes "program output" to stdout; exit status 0
 *   exec           execvp("true"): replaced, no destructor runs
 *   execl, execlp, execle, fexecve
 *                  the same through that call: "true" found in PATH
 *                  (execlp) or as /bin/true (the others)
 *   execl_fails    execl of a path that does not exist, which must fail
 *                  with ENOENT (exit status 9 if not), then one more block
 *                  of 4004 bytes kept and a normal exit
 *   orphan MARKER  writes its pid to MARKER.started, waits (at most 30 s)
 *                  for its parent, rtmem record, to end, closes every
 *                  descriptor from 200 to 1023 (the recorder's among them,
 *                  so its next write opens the trace's path again), makes
 *                  2000 malloc/free pairs of 999 bytes (several buffers'
 *                  worth: the recorder writes) and writes MARKER.done;
 *                  exit status 10 if the parent never ended
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

static void *volatile sink; /* keeps the compiler from eliding pairs */
static void *volatile sink_null;

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

/* What a daemon does to its descriptors, the worst way for the recorder:
 * whatever number its trace file had now names this program's file. */
static int dup2_over(void)
{
    FILE *mine = tmpfile();
    if (!mine)
        return 7;
    int fd = fileno(mine);
    for (int other = 3; other < 1024; other++)
        if (other != fd)
            dup2(fd, other);
    for (int i = 0; i < 2000; i++) {
        sink = malloc(999);
        free(sink);
    }
    struct stat st;
    if (fstat(fd, &st) != 0)
        return 7;
    return st.st_size == 0 ? 0 : 6;
}

/* MARKER followed by suffix, created holding text. */
/* MARKER SUFFIX appears whole or not at all: written under another name
 * and renamed, since the test reads it as soon as it exists (under an
 * emulator it read an empty file, the text not yet written). */
static int write_marker(const char *marker, const char *suffix, const char *text)
{
    char path[4096], tmp[4100];
    if (snprintf(path, sizeof path, "%s%s", marker, suffix) >= (int)sizeof path ||
        snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -1;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    int bad = fputs(text, f) < 0;
    if (fclose(f) != 0 || bad)
        return -1;
    return rename(tmp, path) == 0 ? 0 : -1;
}

/* A program still running after rtmem record was killed: whatever its
 * recorder does then must not bring back the trace record removed. */
static int orphan(const char *marker)
{
    pid_t parent = getppid();
    char pid[32];
    snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (write_marker(marker, ".started", pid) != 0)
        return 11;
    for (int i = 0; i < 3000 && getppid() == parent; i++)
        usleep(10000);
    if (getppid() == parent)
        return 10;
    for (int fd = 200; fd < 1024; fd++)
        close(fd);
    for (int i = 0; i < 2000; i++) {
        sink = malloc(999);
        free(sink);
    }
    return write_marker(marker, ".done", "done\n") == 0 ? 0 : 11;
}

static int end_early(const char *how, const char *extra)
{
    if (strcmp(how, "none") == 0)
        return 0;
    for (size_t n = 4001; n <= 4003; n++)
        sink = malloc(n);
    if (strcmp(how, "_exit") == 0)
        _exit(3);
    if (strcmp(how, "_Exit") == 0)
        _Exit(4);
    if (strcmp(how, "abort") == 0)
        abort();
    if (strcmp(how, "sigterm") == 0)
        kill(getpid(), SIGTERM);
    if (strcmp(how, "segv") == 0)
        *(volatile int *)sink_null = 1;
    if (strcmp(how, "dup2_over") == 0)
        return dup2_over();
    if (strcmp(how, "orphan") == 0)
        return extra ? orphan(extra) : 12;
    if (strcmp(how, "exec") == 0) {
        char *const argv[] = {(char *)"true", NULL};
        execvp(argv[0], argv);
        return 8;
    }
    if (strcmp(how, "execl") == 0) {
        execl("/bin/true", "true", "an", "argument", (char *)NULL);
        return 8;
    }
    if (strcmp(how, "execl_fails") == 0) {
        if (execl("/nonexistent/rtmem-test", "x", "y", (char *)NULL) != -1 || errno != ENOENT)
            return 9;
        sink = malloc(4004);
        return 0;
    }
    if (strcmp(how, "execlp") == 0) {
        execlp("true", "true", (char *)NULL);
        return 8;
    }
    if (strcmp(how, "execle") == 0) {
        char *const envp[] = {(char *)"A=1", NULL};
        execle("/bin/true", "true", (char *)NULL, envp);
        return 8;
    }
    if (strcmp(how, "fexecve") == 0) {
        int fd = open("/bin/true", O_RDONLY | O_CLOEXEC);
        char *const argv[] = {(char *)"true", NULL};
        char *const envp[] = {NULL};
        if (fd >= 0)
            fexecve(fd, argv, envp);
        return 8;
    }
    if (strcmp(how, "stdout") == 0) {
        fputs("program output\n", stdout); /* fails when stdout is closed: no matter */
        fflush(stdout);
        return 0;
    }
    return 5; /* a signal was not fatal: should not happen */
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return end_early(argv[1], argc > 2 ? argv[2] : NULL);
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
