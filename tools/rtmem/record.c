/* `rtmem record [-o FILE] [--json] [--] PROGRAM ARGS...` (record.h). */
#define _POSIX_C_SOURCE 200809L
#include "record.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "escape.h"
#include "json_out.h"
#include "line_reader.h"
#include "output_file.h"

#define RECORD_DEFAULT_FILE "rtmem.trace"
#define PRELOAD_NAME "librtmem_preload.so"

static const char record_usage[] =
    "usage: rtmem record [-o FILE | --output FILE] [--json] [--] PROGRAM [ARGS...]\n"
    "\n"
    "Runs PROGRAM with the heap recorder preloaded (LD_PRELOAD) and writes its malloc,\n"
    "calloc, realloc, free, posix_memalign, aligned_alloc and memalign events to FILE\n"
    "(default " RECORD_DEFAULT_FILE ") in the rtmem-trace 1 format, IDs in allocation order.\n"
    "Read it with 'rtmem leaks FILE'.\n"
    "\n"
    "  -o, --output FILE  the trace file, replaced when PROGRAM has ended and events\n"
    "                     were recorded (written next to it until then)\n"
    "  --json             the result as one JSON object\n"
    "\n"
    "Options end at PROGRAM (or at '--'): what follows is PROGRAM's own.\n"
    "\n"
    "The recorder library is " PRELOAD_NAME " next to the rtmem executable, or the file\n"
    "named by RTMEM_PRELOAD.\n"
    "\n"
    "Events are written at exit, at _exit/_Exit, before every exec (execve, execv, execvp,\n"
    "execvpe, execl, execlp, execle, fexecve) and on fatal signals whose action is the\n"
    "default (SIGSEGV, SIGABRT, SIGTERM, SIGINT...); SIGKILL loses the unwritten ones.\n"
    "\n"
    "Exit status: 0 recorded and PROGRAM succeeded, 1 PROGRAM failed or was killed (a\n"
    "crash too: FILE holds what was recorded until then), 2 bad usage, PROGRAM could not\n"
    "be run, FILE's absolute path is too long, or no event was recorded (the message says\n"
    "why; FILE is left as it was). Ctrl-C, SIGTERM or SIGHUP sent to rtmem record itself\n"
    "abandons the recording: FILE is left as it was and record dies of the signal (to keep\n"
    "the trace of a program that runs until stopped, signal PROGRAM, not record).\n";

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

/* What the ELF header and program headers of a file say about preloading. */
typedef struct {
    int is_elf;
    int elf_class; /* 1: 32-bit, 2: 64-bit */
    int dynamic;   /* has PT_INTERP: the dynamic loader runs */
    int set_id;    /* setuid or setgid: the loader ignores LD_PRELOAD paths */
} elf_facts_t;

static uint32_t rd32(const unsigned char *p, int le)
{
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
              : (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}

static uint64_t rd_word(const unsigned char *p, int le, int wide)
{
    if (!wide)
        return rd32(p, le);
    uint64_t lo = rd32(p + (le ? 0 : 4), le), hi = rd32(p + (le ? 4 : 0), le);
    return hi << 32 | lo;
}

static uint16_t rd16(const unsigned char *p, int le)
{
    unsigned lo = le ? p[0] : p[1];
    unsigned hi = le ? p[1] : p[0];
    return (uint16_t)(lo | hi << 8);
}

static void elf_facts(const char *path, elf_facts_t *out)
{
    memset(out, 0, sizeof *out);
    struct stat st;
    if (stat(path, &st) != 0)
        return;
    out->set_id = (st.st_mode & (S_ISUID | S_ISGID)) != 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    unsigned char eh[64];
    if (fread(eh, 1, sizeof eh, f) == sizeof eh && memcmp(eh, "\177ELF", 4) == 0 &&
        (eh[4] == 1 || eh[4] == 2) && (eh[5] == 1 || eh[5] == 2)) {
        out->is_elf = 1;
        out->elf_class = eh[4];
        int wide = eh[4] == 2, le = eh[5] == 1;
        uint64_t phoff = rd_word(eh + (wide ? 32 : 28), le, wide);
        uint16_t phentsize = rd16(eh + (wide ? 54 : 42), le);
        uint16_t phnum = rd16(eh + (wide ? 56 : 44), le);
        unsigned char ph[64];
        for (uint16_t i = 0; i < phnum && phentsize >= 4 && phentsize <= sizeof ph; i++) {
            if (phoff > (uint64_t)LONG_MAX - (uint64_t)i * phentsize ||
                fseek(f, (long)(phoff + (uint64_t)i * phentsize), SEEK_SET) != 0 ||
                fread(ph, 1, phentsize, f) != phentsize)
                break;
            if (rd32(ph, le) == 3u) { /* PT_INTERP */
                out->dynamic = 1;
                break;
            }
        }
    }
    fclose(f);
}

/* PROGRAM as execvp finds it (the first executable regular file on PATH). */
static int find_program(const char *name, char *out, size_t cap)
{
    if (strchr(name, '/'))
        return join_path(out, cap, NULL, name);
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        char dir[PATH_MAX];
        if (len == 0) {
            strcpy(dir, ".");
        } else if (len < sizeof dir) {
            memcpy(dir, path, len);
            dir[len] = '\0';
        } else {
            dir[0] = '\0';
        }
        struct stat st;
        if (dir[0] && join_path(out, cap, dir, name) == 0 && stat(out, &st) == 0 &&
            S_ISREG(st.st_mode) && access(out, X_OK) == 0)
            return 0; /* execvp also passes over directories of that name */
        path = end ? end + 1 : path + len;
    }
    return -1;
}

/* 0 if execvp could run PROGRAM, else the errno it would fail with, so a
 * mistyped name is refused before FILE (maybe an earlier trace) is
 * truncated. Only what can be told without running it: a file that is
 * found but whose exec fails anyway is still reported after the fork. */
static int program_errno(const char *name)
{
    char path[PATH_MAX];
    if (find_program(name, path, sizeof path) != 0)
        return strchr(name, '/') ? ENAMETOOLONG : ENOENT;
    struct stat st;
    if (stat(path, &st) != 0)
        return errno != 0 ? errno : ENOENT;
    if (!S_ISREG(st.st_mode) || access(path, X_OK) != 0)
        return EACCES;
    return 0;
}

/* Why the trace holds no event, as one sentence for stderr and a short
 * code for --json. loaded: the shim reported in; open_errno: its open of
 * trace, the file it was given (FILE's temporary, or FILE). */
static const char *explain_nothing(char *msg, size_t cap, const char *file, const char *trace,
                                   const char *prog, const char *preload, int loaded,
                                   int open_errno, int header, int status)
{
    if (loaded && open_errno != 0) {
        snprintf(msg, cap, "the recorder could not write %s: %s", trace, strerror(open_errno));
        return "file_not_written";
    }
    if (loaded && header) {
        snprintf(msg, cap, "%s ran but made no heap allocation while it was recorded", prog);
        return "no_allocation";
    }
    if (loaded) {
        if (WIFSIGNALED(status))
            snprintf(msg, cap, "%s was killed by signal %d before the recorder wrote anything "
                               "(a signal that cannot be caught, or one the program handles itself)",
                     prog, WTERMSIG(status));
        else
            snprintf(msg, cap, "the recorder loaded but nothing reached %s", file);
        return "nothing_written";
    }
    char path[PATH_MAX];
    elf_facts_t pf, lf;
    memset(&pf, 0, sizeof pf);
    if (find_program(prog, path, sizeof path) == 0)
        elf_facts(path, &pf);
    elf_facts(preload, &lf);
    if (pf.set_id) {
        snprintf(msg, cap, "%s is setuid or setgid: the dynamic loader ignores LD_PRELOAD for it", prog);
        return "setuid";
    }
    if (pf.is_elf && !pf.dynamic) {
        snprintf(msg, cap, "%s is statically linked: no dynamic loader runs, so LD_PRELOAD cannot load "
                           "the recorder", prog);
        return "static";
    }
    if (pf.is_elf && lf.is_elf && pf.elf_class != lf.elf_class) {
        snprintf(msg, cap, "%s is a %d-bit program and %s is %d-bit: use a recorder of the program's "
                           "word size (RTMEM_PRELOAD)",
                 prog, pf.elf_class == 1 ? 32 : 64, preload, lf.elf_class == 1 ? 32 : 64);
        return "word_size";
    }
    snprintf(msg, cap, "the recorder %s was not loaded into %s (the loader's messages above may say why)",
             preload, prog);
    return "not_loaded";
}

typedef struct event_counts {
    unsigned long long allocs, reallocs, frees;
    bool header; /* "# rtmem-trace 1" seen: the recorder wrote the file */
} event_counts_t;

/* Counts the events of the trace the recorder wrote, through the tools'
 * line reader. A missing or empty file counts nothing (explain_nothing
 * says why); 0, or -1 with the reader's "FILE:LINE: what" in err. */
static int count_events(const char *path, event_counts_t *n, char *err, size_t errlen)
{
    memset(n, 0, sizeof *n);
    FILE *t = fopen(path, "r");
    if (!t)
        return 0;
    rtm_line_reader_t *r = malloc(sizeof *r);
    if (!r) {
        fclose(t);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rtm_line_reader_init(r, t, path);
    size_t len;
    int got;
    while ((got = rtm_line_next(r, &len)) > 0) {
        const char *line = r->text;
        if ((line[0] == 'a' || line[0] == 'A') && line[1] == ' ')
            n->allocs++;
        else if (line[0] == 'r' && line[1] == ' ')
            n->reallocs++;
        else if (line[0] == 'f' && line[1] == ' ')
            n->frees++;
        else if (strncmp(line, "# rtmem-trace 1", 15) == 0)
            n->header = true;
    }
    int rc = 0;
    if (got < 0 && r->seen_text) { /* not merely empty */
        snprintf(err, errlen, "%s", r->err);
        rc = -1;
    }
    free(r);
    fclose(t);
    return rc;
}

/* file as an absolute path in out (cap bytes): itself if it is one, else
 * the working directory, '/', file. 0, or -1 with errno (ENAMETOOLONG when
 * the result would not fit, getcwd's error). */
static int absolute_path(const char *file, char *out, size_t cap)
{
    size_t file_len = strlen(file);
    size_t dir_len = 0;
    if (file[0] != '/') {
        if (!getcwd(out, cap)) {
            return -1;
        }
        dir_len = strlen(out);
        if (out[dir_len - 1u] != '/') {
            out[dir_len++] = '/'; /* where getcwd's NUL was: in bounds */
        }
    }
    if (file_len >= cap - dir_len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(out + dir_len, file, file_len + 1u);
    return 0;
}

/* What running PROGRAM came to. */
typedef struct run_result {
    int status;     /* waitpid's */
    int exec_errno; /* 0, or why its exec failed */
    int loaded;     /* the shim reported in */
    int open_errno; /* and how its open of the trace went */
} run_result_t;

/* In the child: the preload and where it writes, then PROGRAM. The
 * parent's temporary is not the child's to remove on a signal. */
static void exec_recorded(char **prog, const char *preload, const char *trace, int errfd,
                          int statfd, const sigset_t *mask)
{
    rtm_temp_after_fork_child();
    (void)sigprocmask(SIG_SETMASK, mask, NULL);
    char fdnum[16];
    snprintf(fdnum, sizeof fdnum, "%d", statfd);
    const char *old = getenv("LD_PRELOAD");
    char ld[2 * PATH_MAX + 128];
    if (old && *old)
        snprintf(ld, sizeof ld, "%s:%s", preload, old);
    else
        snprintf(ld, sizeof ld, "%s", preload);
    if (setenv("LD_PRELOAD", ld, 1) != 0 || setenv("RTMEM_RECORD_FILE", trace, 1) != 0 ||
        setenv("RTMEM_RECORD_STATUS_FD", fdnum, 1) != 0)
        _exit(127);
    execvp(prog[0], prog);
    int e = errno;
    ssize_t w = write(errfd, &e, sizeof e);
    (void)w;
    _exit(127);
}

/* Runs PROGRAM recorded into trace and waits for it. 0, or -1 with the
 * message printed (no pipe, no fork, no wait). */
static int run_program(char **prog, const char *preload, const char *trace, run_result_t *res)
{
    memset(res, 0, sizeof *res);
    int errpipe[2]; /* the child reports an exec failure through it */
    if (pipe(errpipe) != 0) {
        rtm_esc_msg(stderr, "rtmem record: pipe: %s", strerror(errno));
        return -1;
    }
    fcntl(errpipe[1], F_SETFD, FD_CLOEXEC);
    int statpipe[2]; /* the shim reports through it that it loaded (preload.c) */
    if (pipe(statpipe) != 0) {
        rtm_esc_msg(stderr, "rtmem record: pipe: %s", strerror(errno));
        close(errpipe[0]);
        close(errpipe[1]);
        return -1;
    }
    fcntl(statpipe[0], F_SETFD, FD_CLOEXEC);
    fcntl(statpipe[0], F_SETFL, O_NONBLOCK);
    fflush(NULL);
    sigset_t mask;
    rtm_temp_block_signals(&mask);
    pid_t pid = fork();
    if (pid == 0) {
        close(errpipe[0]);
        exec_recorded(prog, preload, trace, errpipe[1], statpipe[1], &mask);
    }
    int fork_errno = errno;
    (void)sigprocmask(SIG_SETMASK, &mask, NULL);
    close(errpipe[1]);
    close(statpipe[1]);
    if (pid < 0) {
        rtm_esc_msg(stderr, "rtmem record: fork: %s", strerror(fork_errno));
        close(errpipe[0]);
        close(statpipe[0]);
        return -1;
    }
    ssize_t got;
    while ((got = read(errpipe[0], &res->exec_errno, sizeof res->exec_errno)) < 0 && errno == EINTR)
        ;
    close(errpipe[0]);
    if (got != (ssize_t)sizeof res->exec_errno)
        res->exec_errno = 0;
    while (waitpid(pid, &res->status, 0) < 0) {
        if (errno != EINTR) {
            rtm_esc_msg(stderr, "rtmem record: waitpid: %s", strerror(errno));
            close(statpipe[0]);
            return -1;
        }
    }
    int open_errno = 0;
    ssize_t status_got;
    while ((status_got = read(statpipe[0], &open_errno, sizeof open_errno)) < 0 && errno == EINTR)
        ;
    close(statpipe[0]);
    res->loaded = status_got == (ssize_t)sizeof open_errno;
    res->open_errno = open_errno;
    return 0;
}

int rtm_cmd_record(int argc, char **argv)
{
    const char *file = RECORD_DEFAULT_FILE;
    bool json = false;
    const rtm_cli_opt_t opts[] = {
        {.name = "output", .short_name = 'o', .kind = RTM_CLI_STRING, .dest = &file},
        {.name = "json", .kind = RTM_CLI_FLAG, .dest = &json},
    };
    const rtm_cli_spec_t spec = {
        .cmd = "record",
        .usage = record_usage,
        .opts = opts,
        .nopts = sizeof opts / sizeof opts[0],
        .operand = "PROGRAM",
        .stop_at_operand = true,
    };
    rtm_cli_args_t args;
    rtm_cli_status_t st = rtm_cli_parse(&spec, argc, argv, &args);
    if (st != RTM_CLI_RUN)
        return rtm_cli_exit_status(st);
    int i = args.rest;
    if (i >= argc) {
        rtm_esc_msg(stderr, "rtmem record: no PROGRAM given (see rtmem record --help)");
        return 2;
    }
    char **prog = argv + i;

    char preload[PATH_MAX + 64];
    if (find_preload(preload, sizeof preload) != 0) {
        rtm_esc_msg(stderr, "rtmem record: %s not found (looked at %s); set RTMEM_PRELOAD", PRELOAD_NAME,
                preload);
        return 2;
    }
    int cannot = program_errno(prog[0]);
    if (cannot != 0) {
        rtm_esc_msg(stderr, "rtmem record: cannot run %s: %s (%s left as it was)", prog[0],
                    strerror(cannot), file);
        return 2;
    }
    /* The shim opens the trace by its absolute path (PROGRAM may change
     * directory). One that does not fit is refused before FILE is touched,
     * never cut: a cut path names another file. */
    char abs_file[PATH_MAX];
    if (absolute_path(file, abs_file, sizeof abs_file) != 0) {
        rtm_esc_msg(stderr, "rtmem record: %s: cannot make its absolute path: %s (%s left as it was)",
                    file, strerror(errno), file);
        return 2;
    }
    /* The recorder writes a temporary next to FILE, renamed over it once
     * PROGRAM has ended and the trace holds events: an earlier trace
     * survives a PROGRAM that cannot start or records nothing, and record
     * being interrupted, which removes the temporary (output_file.h). */
    rtm_out_t out;
    if (rtm_out_open_named(&out, "record", abs_file, file) != 0)
        return 2;
    /* the recorder opens the file itself: PROGRAM inherits no descriptor */
    (void)fcntl(fileno(out.f), F_SETFD, FD_CLOEXEC);
    const char *trace = out.temp[0] != '\0' ? out.temp : abs_file;
    run_result_t res;
    if (run_program(prog, preload, trace, &res) != 0) {
        rtm_out_abandon(&out);
        return 2;
    }
    if (res.exec_errno != 0) {
        rtm_out_abandon(&out);
        rtm_esc_msg(stderr, "rtmem record: cannot run %s: %s (%s left as it was)", prog[0],
                    strerror(res.exec_errno), file);
        return 2;
    }

    event_counts_t n;
    char err[RTM_LINE_ERR_MAX];
    if (count_events(trace, &n, err, sizeof err) != 0) {
        rtm_out_abandon(&out);
        rtm_esc_msg(stderr, "rtmem record: the trace does not read back (%s left as it was): %s",
                    file, err);
        return 2;
    }
    int status = res.status;
    int exited = WIFEXITED(status);
    int code = exited ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    int recorded = n.allocs + n.reallocs + n.frees > 0;
    char why[PATH_MAX * 2 + 200];
    const char *cause = NULL;
    if (!recorded) {
        cause = explain_nothing(why, sizeof why, file, trace, prog[0], preload, res.loaded,
                                res.open_errno, n.header, status);
        rtm_out_abandon(&out);
    } else if (rtm_out_commit(&out) != 0) {
        return 2;
    }
    if (json) {
        rtm_json_t j;
        rtm_json_begin_doc(&j, stdout, "record");
        rtm_json_kv_str(&j, "file", abs_file);
        rtm_json_kv_bool(&j, "recorded", recorded);
        rtm_json_kv_u64(&j, "allocs", n.allocs);
        rtm_json_kv_u64(&j, "reallocs", n.reallocs);
        rtm_json_kv_u64(&j, "frees", n.frees);
        rtm_json_kv_i64(&j, "exit_status", exited ? code : -1);
        rtm_json_kv_i64(&j, "signal", exited ? 0 : WTERMSIG(status));
        rtm_json_kv_str(&j, "cause", cause);
        (void)rtm_json_end_doc(&j);
    } else {
        rtm_esc_msg(stdout, "%s: %llu allocations, %llu reallocations, %llu frees recorded%s", file,
                    n.allocs, n.reallocs, n.frees, recorded ? "" : " (not written)");
        if (exited)
            rtm_esc_msg(stdout, "%s exited with status %d", prog[0], code);
        else if (recorded)
            rtm_esc_msg(stdout, "%s was killed by signal %d (%s): %s holds the events recorded "
                        "until then", prog[0], WTERMSIG(status), strsignal(WTERMSIG(status)), file);
        else
            rtm_esc_msg(stdout, "%s was killed by signal %d (%s)", prog[0], WTERMSIG(status),
                        strsignal(WTERMSIG(status)));
    }
    if (!recorded) {
        rtm_esc_msg(stderr, "rtmem record: nothing recorded (%s left as it was): %s", file, why);
        return 2;
    }
    return exited && code == 0 ? 0 : 1;
}
