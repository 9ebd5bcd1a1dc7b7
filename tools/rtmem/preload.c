/*
 * librtmem_preload.so: the LD_PRELOAD shim of `rtmem record`. Records every
 * malloc, calloc, realloc, free, posix_memalign, aligned_alloc and memalign
 * of a host program into RTMEM_RECORD_FILE in the rtmem-trace 1 format
 * (docs/formats.md), with decimal IDs assigned in allocation order.
 *
 *  - The real functions come from dlsym(RTLD_NEXT); what dlsym itself
 *    allocates is served from a static bootstrap buffer (never freed).
 *  - A per-thread flag keeps the shim from recording itself (no recursion).
 *  - One mutex is held around the real call and the event line, so the
 *    order of lines is the order of events, IDs follow allocation order and
 *    an address freed and handed out again by another thread cannot be
 *    recorded out of order.
 *  - Live address -> ID in an open-addressing table in mmap'd memory.
 *  - Lines are formatted by hand (no stdio, no malloc) into a buffer
 *    written with write(2) when full and at exit (destructor); after the
 *    destructor every line is written at once, so no event is lost.
 *  - The file's descriptor sits at 200 or above and is checked (fstat:
 *    same device and inode) before each write: a program that closes it
 *    or reuses its number never gets trace lines in its own file; the
 *    path is opened again instead (never created again: rtmem record
 *    creates it, and removes it when it is interrupted).
 *  - Exits that skip destructors also write the buffer: _exit and _Exit
 *    are wrapped, and so are the exec functions (execve, execvpe, execv,
 *    execvp, fexecve, and the execl family, which glibc would run through
 *    its internal execve), and fatal signals whose action is the default at start
 *    (SIGSEGV, SIGABRT, SIGTERM, SIGINT...) get a handler that writes it
 *    with write(2) (async-signal-safe), restores the default action and
 *    raises the signal again, so the program still dies of it.
 *  - rtmem record learns whether the shim loaded and opened the file
 *    through the pipe named by RTMEM_RECORD_STATUS_FD: one int, 0 or the
 *    errno of the failed open.
 *  - Only the first process records: the variable is removed from the
 *    environment of programs it runs, and a forked child stops recording.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RP_TLS __attribute__((tls_model("initial-exec")))
#define RP_EXPORT __attribute__((visibility("default")))

/* prototypes of what we define (for -Wmissing-prototypes; also in glibc headers) */
void *memalign(size_t alignment, size_t size);

typedef void *(*malloc_fn)(size_t);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef void (*free_fn)(void *);
typedef int (*posix_memalign_fn)(void **, size_t, size_t);
typedef void *(*aligned_alloc_fn)(size_t, size_t);
typedef void *(*memalign_fn)(size_t, size_t);
typedef void (*exit_fn)(int);
typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execv_fn)(const char *, char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);

static malloc_fn real_malloc;
static calloc_fn real_calloc;
static realloc_fn real_realloc;
static free_fn real_free;
static posix_memalign_fn real_posix_memalign;
static aligned_alloc_fn real_aligned_alloc;
static memalign_fn real_memalign;
static exit_fn real_exit;
static exit_fn real_Exit;
static execve_fn real_execve;
static execve_fn real_execvpe;
static execv_fn real_execv;
static execv_fn real_execvp;
static fexecve_fn real_fexecve;

static _Thread_local int in_hook RP_TLS;
static _Thread_local unsigned thread_no RP_TLS;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int initialized;
static int recording;          /* a file is open and this is the recording process */
static int out_fd = -1;
/* The trace file's path and identity: the program may close out_fd and
 * open something else under its number (a daemon closing every
 * descriptor, a dup2 onto it), so each write first checks that out_fd is
 * still this file and opens the path again when it is not. */
static char out_path[4096];
static dev_t out_dev;
static ino_t out_ino;
/* out_fd is moved at or above this number, out of the way of the numbers
 * a program reuses (0, 1, 2 when it started with them closed, then 3...) */
#define RP_OUT_FD_MIN 200
static int unbuffered;         /* after the destructor */
static uint64_t next_id = 1;
static unsigned next_thread = 1;
static struct timespec t0;

/* --- bootstrap allocator (for dlsym) ---------------------------------------- */

static _Alignas(64) unsigned char boot_buf[65536];
static size_t boot_used;

static void *boot_alloc(size_t n, size_t align)
{
    if (align < 16)
        align = 16;
    size_t off = (boot_used + align - 1) & ~(align - 1);
    if (off > sizeof boot_buf || n > sizeof boot_buf - off)
        return NULL;
    boot_used = off + n;
    return boot_buf + off;
}

static int is_boot(const void *p)
{
    return (const unsigned char *)p >= boot_buf && (const unsigned char *)p < boot_buf + sizeof boot_buf;
}

/* --- output ---------------------------------------------------------------- */

static char obuf[65536];
static size_t olen;
/* set while the buffer is being written out: a signal handler that
 * interrupts that must not write the same bytes again */
static volatile sig_atomic_t writing;

static int out_fd_is_trace(void)
{
    struct stat st;
    return out_fd >= 0 && fstat(out_fd, &st) == 0 && st.st_dev == out_dev && st.st_ino == out_ino;
}

/* Opens out_path as out_fd; 0 or the errno. Async-signal-safe (open,
 * fcntl, fstat, close). create is for the first open only: opened again
 * (the program took the descriptor), a path that is gone was removed by
 * rtmem record, interrupted, and must not come back as a stray file. */
static int open_out(int create)
{
    int fd = open(out_path, O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
    if (fd < 0)
        return errno != 0 ? errno : EIO;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, RP_OUT_FD_MIN);
    if (high >= 0) {
        close(fd);
        fd = high;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno != 0 ? errno : EIO;
        close(fd);
        return e;
    }
    out_dev = st.st_dev;
    out_ino = st.st_ino;
    out_fd = fd;
    return 0;
}

static void write_all(const char *p, size_t n)
{
    if (n > 0 && out_fd >= 0 && !out_fd_is_trace()) {
        /* not ours any more: leave that descriptor to the program */
        out_fd = -1;
        if (open_out(0) != 0)
            return;
    }
    while (n > 0 && out_fd >= 0) {
        ssize_t w = write(out_fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

static void flush_locked(void)
{
    writing = 1;
    write_all(obuf, olen);
    olen = 0;
    writing = 0;
}

static void emit(const char *line, size_t n)
{
    if (olen + n > sizeof obuf)
        flush_locked();
    memcpy(obuf + olen, line, n);
    olen += n;
    if (unbuffered)
        flush_locked();
}

typedef struct {
    char b[192];
    size_t n;
} line_t;

static void put_s(line_t *l, const char *s)
{
    while (*s && l->n < sizeof l->b - 1)
        l->b[l->n++] = *s++;
}

static void put_u(line_t *l, uint64_t v)
{
    char t[24];
    size_t k = 0;
    do {
        t[k++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (k && l->n < sizeof l->b - 1)
        l->b[l->n++] = t[--k];
}

static void put_x(line_t *l, uint64_t v)
{
    char t[20];
    size_t k = 0;
    do {
        t[k++] = "0123456789abcdef"[v & 15u];
        v >>= 4;
    } while (v);
    put_s(l, "0x");
    while (k && l->n < sizeof l->b - 1)
        l->b[l->n++] = t[--k];
}

static void put_common(line_t *l, const void *caller)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ms = ((int64_t)ts.tv_sec - (int64_t)t0.tv_sec) * 1000 + ((int64_t)ts.tv_nsec - (int64_t)t0.tv_nsec) / 1000000;
    if (!thread_no)
        thread_no = next_thread++;
    put_s(l, " t=");
    put_u(l, (uint64_t)(ms < 0 ? 0 : ms));
    put_s(l, " task=T");
    put_u(l, thread_no);
    if (caller) {
        put_s(l, " caller=");
        put_x(l, (uint64_t)(uintptr_t)caller);
    }
    put_s(l, "\n");
}

/* --- address -> ID table (mmap'd; linear probing, backward-shift deletion) --- */

typedef struct {
    uintptr_t addr;   /* 0: empty */
    uint64_t id;
} slot_t;

static slot_t *table;
static size_t tcap, tused;

static size_t hash_addr(uintptr_t a)
{
    uint64_t h = (uint64_t)a * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 17);
}

static int table_grow(void)
{
    size_t ncap = tcap ? tcap * 2 : 65536;
    slot_t *n = mmap(NULL, ncap * sizeof *n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (n == MAP_FAILED)
        return -1;
    for (size_t i = 0; i < tcap; i++) {
        if (!table[i].addr)
            continue;
        size_t j = hash_addr(table[i].addr) & (ncap - 1);
        while (n[j].addr)
            j = (j + 1) & (ncap - 1);
        n[j] = table[i];
    }
    if (table)
        munmap(table, tcap * sizeof *table);
    table = n;
    tcap = ncap;
    return 0;
}

static void table_put(uintptr_t a, uint64_t id)
{
    if ((tused + 1) * 2 > tcap && table_grow() != 0)
        return;
    size_t j = hash_addr(a) & (tcap - 1);
    while (table[j].addr && table[j].addr != a)
        j = (j + 1) & (tcap - 1);
    if (!table[j].addr)
        tused++;
    table[j].addr = a;
    table[j].id = id;
}

/* Remove a and return its ID (0: not known). */
static uint64_t table_take(uintptr_t a)
{
    if (!tcap)
        return 0;
    size_t j = hash_addr(a) & (tcap - 1);
    while (table[j].addr && table[j].addr != a)
        j = (j + 1) & (tcap - 1);
    if (!table[j].addr)
        return 0;
    uint64_t id = table[j].id;
    table[j].addr = 0;
    tused--;
    size_t k = (j + 1) & (tcap - 1);
    while (table[k].addr) {
        size_t home = hash_addr(table[k].addr) & (tcap - 1);
        if (((j - home) & (tcap - 1)) < ((k - home) & (tcap - 1))) {
            table[j] = table[k];
            table[k].addr = 0;
            j = k;
        }
        k = (k + 1) & (tcap - 1);
    }
    return id;
}

/* --- events (called with the lock held) ------------------------------------- */

static void ev_alloc(void *p, size_t size, size_t align, const void *caller)
{
    line_t l;
    l.n = 0;
    uint64_t id = next_id++;
    table_take((uintptr_t)p); /* a missed free (e.g. from before init) */
    table_put((uintptr_t)p, id);
    put_s(&l, align ? "A " : "a ");
    put_u(&l, id);
    put_s(&l, " ");
    put_u(&l, size);
    if (align) {
        put_s(&l, " ");
        put_u(&l, align);
    }
    put_common(&l, caller);
    emit(l.b, l.n);
}

static void ev_free(void *p, const void *caller)
{
    uint64_t id = table_take((uintptr_t)p);
    if (!id)
        return; /* allocated before recording started */
    line_t l;
    l.n = 0;
    put_s(&l, "f ");
    put_u(&l, id);
    put_common(&l, caller);
    emit(l.b, l.n);
}

static void ev_realloc(void *old, void *p, size_t size, const void *caller)
{
    uint64_t oid = table_take((uintptr_t)old);
    if (!oid) {
        ev_alloc(p, size, 0, caller);
        return;
    }
    uint64_t nid = p == old ? oid : next_id++;
    table_put((uintptr_t)p, nid);
    line_t l;
    l.n = 0;
    put_s(&l, "r ");
    put_u(&l, oid);
    put_s(&l, " ");
    put_u(&l, nid);
    put_s(&l, " ");
    put_u(&l, size);
    put_common(&l, caller);
    emit(l.b, l.n);
}

/* --- init / fini ------------------------------------------------------------- */

static void at_fork_prepare(void)
{
    pthread_mutex_lock(&lock);
}

static void at_fork_parent(void)
{
    pthread_mutex_unlock(&lock);
}

static void at_fork_child(void)
{
    /* the child must not write the parent's buffer or events again */
    recording = 0;
    olen = 0;
    if (out_fd_is_trace())
        close(out_fd);
    out_fd = -1;
    pthread_mutex_unlock(&lock);
}

/* dlsym's object pointer into a function pointer: POSIX guarantees the
 * representation, ISO C has no cast for it, so copy the bytes. */
static void resolve(void *fnptr, size_t size, const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (size == sizeof p)
        memcpy(fnptr, &p, size);
}

/* Tell rtmem record that the shim ran and how opening the file went. */
static void report_status(int open_errno)
{
    const char *v = getenv("RTMEM_RECORD_STATUS_FD");
    if (!v || !*v)
        return;
    int fd = 0;
    for (; *v >= '0' && *v <= '9' && fd < 1000000; v++)
        fd = fd * 10 + (*v - '0');
    if (*v == '\0') {
        ssize_t w = write(fd, &open_errno, sizeof open_errno);
        (void)w;
        close(fd);
    }
    unsetenv("RTMEM_RECORD_STATUS_FD");
}

static void init(void)
{
    in_hook = 1;
    pthread_mutex_lock(&lock);
    if (!initialized) {
        resolve(&real_malloc, sizeof real_malloc, "malloc");
        resolve(&real_calloc, sizeof real_calloc, "calloc");
        resolve(&real_realloc, sizeof real_realloc, "realloc");
        resolve(&real_free, sizeof real_free, "free");
        resolve(&real_posix_memalign, sizeof real_posix_memalign, "posix_memalign");
        resolve(&real_aligned_alloc, sizeof real_aligned_alloc, "aligned_alloc");
        resolve(&real_memalign, sizeof real_memalign, "memalign");
        resolve(&real_exit, sizeof real_exit, "_exit");
        resolve(&real_Exit, sizeof real_Exit, "_Exit");
        resolve(&real_execve, sizeof real_execve, "execve");
        resolve(&real_execvpe, sizeof real_execvpe, "execvpe");
        resolve(&real_execv, sizeof real_execv, "execv");
        resolve(&real_execvp, sizeof real_execvp, "execvp");
        resolve(&real_fexecve, sizeof real_fexecve, "fexecve");
        clock_gettime(CLOCK_MONOTONIC, &t0);
        const char *file = getenv("RTMEM_RECORD_FILE");
        if (file && *file && real_malloc && real_free) {
            size_t len = strlen(file);
            int open_errno = ENAMETOOLONG;
            if (len < sizeof out_path) {
                memcpy(out_path, file, len + 1u);
                open_errno = open_out(1);
            }
            if (open_errno == 0) {
                recording = 1;
                emit("# rtmem-trace 1\n", 16);
                pthread_atfork(at_fork_prepare, at_fork_parent, at_fork_child);
            }
            report_status(open_errno);
            unsetenv("RTMEM_RECORD_FILE"); /* programs it runs do not record */
        }
        initialized = 1;
    }
    pthread_mutex_unlock(&lock);
    in_hook = 0;
}

/* The main program is the first object dl_iterate_phdr reports: its load
 * bias and address range let `rtmem leaks --elf` symbolize a PIE. */
static int exe_range(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    uint64_t *r = data;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uint64_t a = (uint64_t)info->dlpi_addr + (uint64_t)ph->p_vaddr;
        if (a < lo)
            lo = a;
        if (a + (uint64_t)ph->p_memsz > hi)
            hi = a + (uint64_t)ph->p_memsz;
    }
    r[0] = (uint64_t)info->dlpi_addr;
    r[1] = lo;
    r[2] = hi;
    return 1; /* only the first object */
}

/* --- exits that skip the destructor ----------------------------------------- */

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS,
                                    SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGXCPU, SIGXFSZ};

/* Only async-signal-safe calls here. The buffer holds whole lines up to
 * olen (olen grows after the copy), so it can be written as it is, unless
 * the signal interrupted a write of it. */
static void on_fatal_signal(int sig)
{
    int saved = errno;
    if (recording && !writing) {
        write_all(obuf, olen);
        olen = 0;
    }
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    /* blocked while the handler runs: delivered with the default action on
     * return (a fault re-executes the instruction and faults again) */
    raise(sig);
    errno = saved;
}

static void install_signal_flush(void)
{
    for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++) {
        struct sigaction old;
        if (sigaction(fatal_signals[i], NULL, &old) != 0 || old.sa_handler != SIG_DFL ||
            (old.sa_flags & SA_SIGINFO))
            continue; /* ignored or handled by the program: leave it alone */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_fatal_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        sigaction(fatal_signals[i], &sa, NULL);
    }
}

static void flush_before_exit(void)
{
    if (!initialized)
        init();
    if (in_hook) {
        /* a signal handler interrupted the shim in this thread, which may
         * hold the lock: write what is complete without it */
        if (recording && !writing) {
            write_all(obuf, olen);
            olen = 0;
        }
        return;
    }
    in_hook = 1;
    pthread_mutex_lock(&lock);
    if (recording)
        flush_locked();
    pthread_mutex_unlock(&lock);
}

RP_EXPORT void _exit(int status)
{
    flush_before_exit();
    if (real_exit)
        real_exit(status);
    for (;;)
        raise(SIGKILL); /* no libc _exit to call: still never return */
}

/* exec replaces the process without running a destructor: write the
 * buffer first. The thread's flag is put back, since exec can fail. */
static void flush_before_exec(void)
{
    int was_in_hook = in_hook;
    flush_before_exit();
    in_hook = was_in_hook;
}

RP_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    flush_before_exec();
    if (!real_execve) {
        errno = ENOSYS;
        return -1;
    }
    return real_execve(path, argv, envp);
}

RP_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    flush_before_exec();
    if (!real_execvpe) {
        errno = ENOSYS;
        return -1;
    }
    return real_execvpe(file, argv, envp);
}

RP_EXPORT int execv(const char *path, char *const argv[])
{
    flush_before_exec();
    if (!real_execv) {
        errno = ENOSYS;
        return -1;
    }
    return real_execv(path, argv);
}

RP_EXPORT int execvp(const char *file, char *const argv[])
{
    flush_before_exec();
    if (!real_execvp) {
        errno = ENOSYS;
        return -1;
    }
    return real_execvp(file, argv);
}

RP_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    flush_before_exec();
    if (!real_fexecve) {
        errno = ENOSYS;
        return -1;
    }
    return real_fexecve(fd, argv, envp);
}

/* The execl family takes its arguments as a list ending in NULL; glibc
 * runs it through its internal execve, which no wrapper reaches, so these
 * gather the list into an array and go through the array forms above
 * (which write the buffer). The array is mapped rather than put on the
 * stack: a list of any length the kernel could take fits, and a failed
 * exec gives it back. */
typedef enum { EXEC_PATH, EXEC_SEARCH, EXEC_ENV } exec_form_t;

static int exec_list(exec_form_t form, const char *path, const char *arg0, va_list ap)
{
    /* argc counts the arguments before the NULL; arg0 may be that NULL */
    size_t argc = 0;
    if (arg0 != NULL) {
        va_list count_ap;
        va_copy(count_ap, ap);
        argc = 1;
        while (va_arg(count_ap, const char *) != NULL)
            argc++;
        va_end(count_ap);
    }
    size_t bytes = (argc + 1u) * sizeof(char *);
    char **argv = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (argv == MAP_FAILED) {
        errno = ENOMEM;
        return -1;
    }
    argv[0] = (char *)arg0;
    for (size_t i = 1; i <= argc; i++)
        argv[i] = va_arg(ap, char *); /* the last one read is the NULL */
    int rc;
    if (form == EXEC_ENV)
        rc = execve(path, argv, va_arg(ap, char *const *));
    else if (form == EXEC_SEARCH)
        rc = execvp(path, argv);
    else
        rc = execv(path, argv);
    int saved = errno;
    munmap(argv, bytes);
    errno = saved;
    return rc;
}

RP_EXPORT int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    int rc = exec_list(EXEC_PATH, path, arg, ap);
    va_end(ap);
    return rc;
}

RP_EXPORT int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    int rc = exec_list(EXEC_SEARCH, file, arg, ap);
    va_end(ap);
    return rc;
}

RP_EXPORT int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    int rc = exec_list(EXEC_ENV, path, arg, ap);
    va_end(ap);
    return rc;
}

RP_EXPORT void _Exit(int status)
{
    flush_before_exit();
    if (real_Exit)
        real_Exit(status);
    else if (real_exit)
        real_exit(status);
    for (;;)
        raise(SIGKILL);
}

__attribute__((constructor)) static void rp_ctor(void)
{
    if (!initialized)
        init();
    if (recording)
        install_signal_flush();
    uint64_t r[3] = {0, 0, 0};
    in_hook = 1;
    dl_iterate_phdr(exe_range, r);
    pthread_mutex_lock(&lock);
    if (recording && r[2] > r[1]) {
        line_t l;
        l.n = 0;
        put_s(&l, "# rtmem-record exe_base=");
        put_x(&l, r[0]);
        put_s(&l, " exe_lo=");
        put_x(&l, r[1]);
        put_s(&l, " exe_hi=");
        put_x(&l, r[2]);
        put_s(&l, "\n");
        emit(l.b, l.n);
    }
    pthread_mutex_unlock(&lock);
    in_hook = 0;
}

__attribute__((destructor)) static void rp_dtor(void)
{
    pthread_mutex_lock(&lock);
    if (recording) {
        flush_locked();
        unbuffered = 1; /* later events (other destructors) go out at once */
    }
    pthread_mutex_unlock(&lock);
}

/* 1: record this call (caller must then take the lock). */
static int active(void)
{
    if (in_hook)
        return 0;
    if (!initialized)
        init();
    return recording;
}

/* --- the hooks --------------------------------------------------------------- */

RP_EXPORT void *malloc(size_t n)
{
    const void *ra = __builtin_return_address(0);
    if (!active())
        return real_malloc ? real_malloc(n) : boot_alloc(n, 16);
    in_hook = 1;
    pthread_mutex_lock(&lock);
    void *p = real_malloc(n);
    if (p && recording)
        ev_alloc(p, n, 0, ra);
    pthread_mutex_unlock(&lock);
    in_hook = 0;
    return p;
}

RP_EXPORT void *calloc(size_t n, size_t size)
{
    const void *ra = __builtin_return_address(0);
    if (!active()) {
        if (real_calloc)
            return real_calloc(n, size);
        if (size && n > SIZE_MAX / size)
            return NULL;
        return boot_alloc(n * size, 16); /* static: already zero */
    }
    in_hook = 1;
    pthread_mutex_lock(&lock);
    void *p = real_calloc(n, size);
    if (p && recording)
        ev_alloc(p, n * size, 0, ra);
    pthread_mutex_unlock(&lock);
    in_hook = 0;
    return p;
}

RP_EXPORT void free(void *p)
{
    const void *ra = __builtin_return_address(0);
    if (!p || is_boot(p))
        return;
    if (!active()) {
        if (real_free)
            real_free(p);
        return;
    }
    in_hook = 1;
    pthread_mutex_lock(&lock);
    if (recording)
        ev_free(p, ra);
    real_free(p);
    pthread_mutex_unlock(&lock);
    in_hook = 0;
}

RP_EXPORT void *realloc(void *old, size_t n)
{
    const void *ra = __builtin_return_address(0);
    if (old && is_boot(old)) {
        /* grow a bootstrap block into a real one */
        void *p = malloc(n);
        if (p) {
            size_t avail = (size_t)(boot_buf + sizeof boot_buf - (unsigned char *)old);
            memcpy(p, old, n < avail ? n : avail);
        }
        return p;
    }
    if (!active()) {
        if (real_realloc)
            return real_realloc(old, n);
        return old ? NULL : boot_alloc(n, 16);
    }
    in_hook = 1;
    pthread_mutex_lock(&lock);
    void *p = real_realloc(old, n);
    if (recording) {
        if (!old) {
            if (p)
                ev_alloc(p, n, 0, ra);
        } else if (p) {
            ev_realloc(old, p, n, ra);
        } else if (n == 0) {
            ev_free(old, ra); /* realloc(p, 0) freed p */
        }
    }
    pthread_mutex_unlock(&lock);
    in_hook = 0;
    return p;
}

RP_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    const void *ra = __builtin_return_address(0);
    if (!active()) {
        if (real_posix_memalign)
            return real_posix_memalign(out, align, n);
        *out = boot_alloc(n, align);
        return *out ? 0 : ENOMEM;
    }
    in_hook = 1;
    pthread_mutex_lock(&lock);
    int rc = real_posix_memalign(out, align, n);
    if (rc == 0 && *out && recording)
        ev_alloc(*out, n, align, ra);
    pthread_mutex_unlock(&lock);
    in_hook = 0;
    return rc;
}

RP_EXPORT void *aligned_alloc(size_t align, size_t n)
{
    const void *ra = __builtin_return_address(0);
    if (!active())
        return real_aligned_alloc ? real_aligned_alloc(align, n) : boot_alloc(n, align);
    in_hook = 1;
    pthread_mutex_lock(&lock);
    void *p = real_aligned_alloc(align, n);
    if (p && recording)
        ev_alloc(p, n, align, ra);
    pthread_mutex_unlock(&lock);
    in_hook = 0;
    return p;
}

RP_EXPORT void *memalign(size_t align, size_t n)
{
    const void *ra = __builtin_return_address(0);
    if (!active())
        return real_memalign ? real_memalign(align, n) : boot_alloc(n, align);
    in_hook = 1;
    pthread_mutex_lock(&lock);
    void *p = real_memalign(align, n);
    if (p && recording)
        ev_alloc(p, n, align, ra);
    pthread_mutex_unlock(&lock);
    in_hook = 0;
    return p;
}
