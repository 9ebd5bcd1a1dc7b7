/* `rtmem record [-o FILE] [--json] -- PROGRAM ARGS...` (record.h). */
#define _POSIX_C_SOURCE 200809L
#include "record.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define RECORD_DEFAULT_FILE "rtmem.trace"
#define PRELOAD_NAME "librtmem_preload.so"

static void usage(FILE *f)
{
    fputs("usage: rtmem record [-o FILE] [--json] -- PROGRAM [ARGS...]\n"
          "\n"
          "Runs PROGRAM with the heap recorder preloaded (LD_PRELOAD) and writes its malloc,\n"
          "calloc, realloc, free, posix_memalign, aligned_alloc and memalign events to FILE\n"
          "(default " RECORD_DEFAULT_FILE ") in the rtmem-trace 1 format, IDs in allocation order.\n"
          "Read it with 'rtmem leaks FILE'.\n"
          "\n"
          "  -o FILE   the trace file (overwritten)\n"
          "  --json    the result as one JSON object\n"
          "\n"
          "The recorder library is " PRELOAD_NAME " next to the rtmem executable, or the file\n"
          "named by RTMEM_PRELOAD.\n"
          "\n"
          "Exit status: 0 recorded and PROGRAM succeeded, 1 PROGRAM failed (the trace is still\n"
          "written), 2 bad usage or PROGRAM could not be run.\n",
          f);
}

/* out = dir "/" name (dir NULL: name alone); -1 if it does not fit. */
static int join_path(char *out, size_t cap, const char *dir, const char *name)
{
    size_t d = dir != NULL ? strlen(dir) : 0;
    size_t n = strlen(name);
    if (d + 1u + n + 1u > cap) {
        return -1;
    }
    if (dir != NULL) {
        memcpy(out, dir, d);
        out[d++] = '/';
    }
    memcpy(out + d, name, n + 1u);
    return 0;
}

/* The preload library: $RTMEM_PRELOAD, else next to /proc/self/exe. */
static int find_preload(char *out, size_t cap)
{
    const char *env = getenv("RTMEM_PRELOAD");
    char found[PATH_MAX];
    if (env && *env) {
        if (join_path(found, sizeof found, NULL, env) != 0)
            return -1;
    } else {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0)
            return -1;
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        if (join_path(found, sizeof found, exe, PRELOAD_NAME) != 0)
            return -1;
    }
    if (found[0] != '/') {
        /* the loader needs no path search surprises: make it absolute */
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd) || join_path(out, cap, cwd, found) != 0)
            return -1;
    } else if (join_path(out, cap, NULL, found) != 0) {
        return -1;
    }
    return access(out, R_OK) == 0 ? 0 : -1;
}

static void json_str(FILE *o, const char *s)
{
    fputc('"', o);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(o, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(o, "\\u%04x", c);
        else
            fputc(c, o);
    }
    fputc('"', o);
}

int rtm_cmd_record(int argc, char **argv)
{
    const char *file = RECORD_DEFAULT_FILE;
    int json = 0, i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "rtmem record: %s needs a file name\n", a);
                return 2;
            }
            file = argv[++i];
        } else if (a[0] == '-') {
            fprintf(stderr, "rtmem record: unknown option '%s' (see rtmem record --help)\n", a);
            return 2;
        } else {
            break; /* PROGRAM without "--" */
        }
    }
    if (i >= argc) {
        fprintf(stderr, "rtmem record: no PROGRAM given\n");
        usage(stderr);
        return 2;
    }
    char **prog = argv + i;

    char preload[PATH_MAX + 64];
    if (find_preload(preload, sizeof preload) != 0) {
        fprintf(stderr, "rtmem record: %s not found (looked at %s); set RTMEM_PRELOAD\n", PRELOAD_NAME,
                preload);
        return 2;
    }
    /* The shim appends: start the file empty here. */
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        fprintf(stderr, "rtmem record: %s: %s\n", file, strerror(errno));
        return 2;
    }
    close(fd);
    char abs_file[PATH_MAX + 8];
    if (file[0] == '/') {
        snprintf(abs_file, sizeof abs_file, "%s", file);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) {
            fprintf(stderr, "rtmem record: getcwd: %s\n", strerror(errno));
            return 2;
        }
        snprintf(abs_file, sizeof abs_file, "%.*s/%s", (int)(sizeof abs_file - 2 - strlen(file)),
                 cwd, file);
    }

    int errpipe[2]; /* the child reports an exec failure through it */
    if (pipe(errpipe) != 0) {
        fprintf(stderr, "rtmem record: pipe: %s\n", strerror(errno));
        return 2;
    }
    fcntl(errpipe[1], F_SETFD, FD_CLOEXEC);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "rtmem record: fork: %s\n", strerror(errno));
        close(errpipe[0]);
        close(errpipe[1]);
        return 2;
    }
    if (pid == 0) {
        close(errpipe[0]);
        const char *old = getenv("LD_PRELOAD");
        char ld[2 * PATH_MAX + 128];
        if (old && *old)
            snprintf(ld, sizeof ld, "%s:%s", preload, old);
        else
            snprintf(ld, sizeof ld, "%s", preload);
        if (setenv("LD_PRELOAD", ld, 1) != 0 || setenv("RTMEM_RECORD_FILE", abs_file, 1) != 0)
            _exit(127);
        execvp(prog[0], prog);
        int e = errno;
        ssize_t w = write(errpipe[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(errpipe[1]);
    int child_errno = 0;
    ssize_t got;
    while ((got = read(errpipe[0], &child_errno, sizeof child_errno)) < 0 && errno == EINTR)
        ;
    close(errpipe[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "rtmem record: waitpid: %s\n", strerror(errno));
            return 2;
        }
    }
    if (got == (ssize_t)sizeof child_errno) {
        fprintf(stderr, "rtmem record: cannot run %s: %s\n", prog[0], strerror(child_errno));
        return 2;
    }

    /* count what was recorded */
    unsigned long long allocs = 0, reallocs = 0, frees = 0;
    int header = 0;
    FILE *t = fopen(abs_file, "r");
    if (t) {
        char line[256];
        int bol = 1;
        while (fgets(line, sizeof line, t)) {
            if (bol) {
                if ((line[0] == 'a' || line[0] == 'A') && line[1] == ' ')
                    allocs++;
                else if (line[0] == 'r' && line[1] == ' ')
                    reallocs++;
                else if (line[0] == 'f' && line[1] == ' ')
                    frees++;
                else if (strncmp(line, "# rtmem-trace 1", 15) == 0)
                    header = 1;
            }
            bol = strchr(line, '\n') != NULL;
        }
        fclose(t);
    }
    int exited = WIFEXITED(status);
    int code = exited ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (json) {
        printf("{\"file\":");
        json_str(stdout, abs_file);
        printf(",\"recorded\":%s,\"allocs\":%llu,\"reallocs\":%llu,\"frees\":%llu,\"exit_status\":%d,"
               "\"signal\":%d}\n",
               header ? "true" : "false", allocs, reallocs, frees, exited ? code : -1,
               exited ? 0 : WTERMSIG(status));
    } else {
        printf("%s: %llu allocations, %llu reallocations, %llu frees recorded\n", file, allocs, reallocs,
               frees);
        if (exited)
            printf("%s exited with status %d\n", prog[0], code);
        else
            printf("%s was killed by signal %d (events after the last flush may be missing)\n", prog[0],
                   WTERMSIG(status));
    }
    if (!header) {
        fprintf(stderr, "rtmem record: %s recorded nothing (is %s a dynamically linked program? "
                        "is %s built for its word size?)\n",
                file, prog[0], preload);
        return 2;
    }
    return exited && code == 0 ? 0 : 1;
}
