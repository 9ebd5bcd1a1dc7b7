/*
 * Runs a fuzz target without libFuzzer: every file named on the command
 * line, and every regular file in every directory named there, is read
 * whole and passed to LLVMFuzzerTestOneInput once. The corpus thereby runs
 * as an ordinary test with any compiler (gcc, -m32, the sanitizers).
 * Exit status 0 when every input ran (a broken expectation aborts), 1 when
 * a path cannot be read or nothing was run.
 */
#define _POSIX_C_SOURCE 200809L
/* 64-bit directory offsets also in a 32-bit build: ext4 hands a 64-bit
 * process (such as qemu-i386 running this build) 64-bit hash offsets, and
 * the 32-bit readdir then fails with EOVERFLOW. */
#define _FILE_OFFSET_BITS 64

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_target.h"

/* Inputs larger than this are not corpus entries (libFuzzer's default
 * -max_len is 4096; merged entries stay well below this). */
#define REPLAY_MAX_INPUT (1024u * 1024u)

static int run_file(const char *path, unsigned long *count)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 1;
    }
    uint8_t *buf = malloc(REPLAY_MAX_INPUT);
    if (buf == NULL) {
        fclose(f);
        fprintf(stderr, "replay: out of memory\n");
        return 1;
    }
    size_t n = fread(buf, 1, REPLAY_MAX_INPUT, f);
    int bad = ferror(f) || !feof(f);
    fclose(f);
    if (bad) {
        free(buf);
        fprintf(stderr, "replay: cannot read %s (or larger than %u bytes)\n", path,
                REPLAY_MAX_INPUT);
        return 1;
    }
    /* An exact-size copy lets ASan see reads past the input's end. */
    uint8_t *input = malloc(n > 0u ? n : 1u);
    if (input == NULL) {
        free(buf);
        fprintf(stderr, "replay: out of memory\n");
        return 1;
    }
    memcpy(input, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(input, n);
    free(input);
    (*count)++;
    return 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Regular files of dir, in name order (the order of a run is then the same
 * everywhere). */
static int run_dir(const char *dir, unsigned long *count)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "replay: cannot open directory %s\n", dir);
        return 1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    for (;;) {
        errno = 0;
        e = readdir(d);
        if (e == NULL) {
            if (errno != 0) {
                /* Not the end of the directory: a run of part of it would
                 * pass without saying so. */
                fprintf(stderr, "replay: cannot read directory %s: %s\n", dir, strerror(errno));
                rc = 1;
            }
            break;
        }
        if (e->d_name[0] == '.') {
            continue;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2u : 64u;
            char **grown = realloc(names, ncap * sizeof *names);
            if (grown == NULL) {
                rc = 1;
                break;
            }
            names = grown;
            cap = ncap;
        }
        size_t len = strlen(dir) + 1u + strlen(e->d_name) + 1u;
        names[n] = malloc(len);
        if (names[n] == NULL) {
            rc = 1;
            break;
        }
        snprintf(names[n], len, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (n > 0u) {
        qsort(names, n, sizeof *names, compare_names);
    }
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            rc = run_file(names[i], count);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned long count = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: no such file or directory: %s\n", argv[i]);
            return 1;
        }
        int rc = S_ISDIR(st.st_mode) ? run_dir(argv[i], &count) : run_file(argv[i], &count);
        if (rc != 0) {
            return rc;
        }
    }
    printf("replay: %lu inputs ran\n", count);
    return count > 0u ? 0 : 1;
}
