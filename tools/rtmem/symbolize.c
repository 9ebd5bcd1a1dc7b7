/* addr2line driver of `rtmem leaks --elf` (symbolize.h). */
#define _POSIX_C_SOURCE 200809L
#include "symbolize.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "escape.h"

#define SYM_EM_386 3
#define SYM_EM_ARM 40
#define SYM_EM_X86_64 62
#define SYM_EM_XTENSA 94
#define SYM_EM_AARCH64 183
#define SYM_EM_RISCV 243

/* The start of an ELF header that both readers below need: e_ident (16
 * bytes), e_type and e_machine (2 bytes each). 0 with the 20 bytes in h,
 * or -1 with a message in err (none when err is NULL) when the file is
 * shorter, is not ELF, or names a byte order other than 1 (little) or 2
 * (big). One check for both readers, so that a file is never rejected by
 * one and understood by the other. */
static int read_elf_head(const char *elf, unsigned char h[20], char *err, size_t errcap)
{
    FILE *f = fopen(elf, "rb");
    if (!f) {
        if (err)
            snprintf(err, errcap, "%s: %s", elf, strerror(errno));
        return -1;
    }
    size_t n = fread(h, 1, 20, f);
    fclose(f);
    if (n < 20 || memcmp(h, "\177ELF", 4) != 0 || (h[5] != 1 && h[5] != 2)) {
        if (err)
            snprintf(err, errcap, "%s: not an ELF file", elf);
        return -1;
    }
    return 0;
}

/* A 16-bit header field at off, in the byte order of EI_DATA (h[5]). */
static int elf_half(const unsigned char h[20], size_t off)
{
    if (h[5] == 2)
        return (int)h[off] << 8 | (int)h[off + 1];
    return (int)h[off + 1] << 8 | (int)h[off];
}

int sym_elf_machine(const char *elf, char *err, size_t errcap)
{
    unsigned char h[20];
    if (read_elf_head(elf, h, err, errcap) != 0)
        return -1;
    return elf_half(h, 18);
}

int sym_elf_is_pie(const char *elf)
{
    unsigned char h[20];
    if (read_elf_head(elf, h, NULL, 0) != 0)
        return 0; /* why does not matter: not PIE */
    return elf_half(h, 16) == 3; /* ET_DYN */
}

/* Full path of an executable named name on PATH, into out. A directory
 * whose DIR/name does not fit in out is passed over: cut short, the path
 * could name some other file. */
static int on_path(const char *name, char *out, size_t cap)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    size_t name_len = strlen(name);
    while (*path) {
        const char *e = strchr(path, ':');
        size_t len = e ? (size_t)(e - path) : strlen(path);
        if (len > 0 && len < cap && name_len < cap - len - 1u) {
            memcpy(out, path, len);
            out[len] = '/';
            memcpy(out + len + 1u, name, name_len + 1u);
            if (access(out, X_OK) == 0)
                return 1;
        }
        path += len;
        if (*path == ':')
            path++;
    }
    return 0;
}

const char *sym_pick_addr2line(const char *elf, const char *override, char *err, size_t errcap)
{
    static char found[1024];
    if (override) {
        if (access(override, X_OK) != 0 && !strchr(override, '/') && on_path(override, found, sizeof found))
            return found;
        if (access(override, X_OK) != 0) {
            snprintf(err, errcap, "%s: not an executable", override);
            return NULL;
        }
        return override;
    }
    int m = sym_elf_machine(elf, err, errcap);
    if (m < 0)
        return NULL;
    static const char *const xtensa[] = {"xtensa-esp32-elf-addr2line", "xtensa-esp32s3-elf-addr2line",
                                         "xtensa-esp32s2-elf-addr2line", "xtensa-esp-elf-addr2line", NULL};
    static const char *const riscv[] = {"riscv32-esp-elf-addr2line", "riscv64-unknown-elf-addr2line",
                                        "riscv32-unknown-elf-addr2line", NULL};
    static const char *const arm[] = {"arm-none-eabi-addr2line", NULL};
    static const char *const host[] = {"addr2line", NULL};
    const char *const *list;
    switch (m) {
    case SYM_EM_XTENSA: list = xtensa; break;
    case SYM_EM_RISCV: list = riscv; break;
    case SYM_EM_ARM: list = arm; break;
    default: list = host; break;
    }
    for (size_t i = 0; list[i]; i++)
        if (on_path(list[i], found, sizeof found))
            return found;
    snprintf(err, errcap, "no addr2line for this ELF (e_machine %d): tried %s%s; pass --addr2line PATH",
             m, list[0], list[1] ? " and others" : "");
    return NULL;
}

void sym_parse_file_line(const char *answer, sym_entry_t *e)
{
    const char *colon = strrchr(answer, ':');
    size_t fl = colon ? (size_t)(colon - answer) : strlen(answer);
    if (fl >= sizeof e->file)
        fl = sizeof e->file - 1;
    memcpy(e->file, answer, fl);
    e->file[fl] = '\0';
    e->line = 0;
    if (!colon)
        return;
    uint64_t v = 0;
    bool over = false;
    size_t digits = rtm_parse_u64(colon + 1, SIZE_MAX, &v, &over);
    char after = colon[1 + digits];
    if (digits > 0 && !over && v <= SYM_LINE_MAX && (after == '\0' || after == ' '))
        e->line = (unsigned long)v;
}

int sym_resolve(const char *addr2line, const char *elf, sym_entry_t *e, size_t n, char *err,
                size_t errcap)
{
    int in_pipe[2], out_pipe[2];
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        strcpy(e[i].function, "??");
        strcpy(e[i].file, "??");
        e[i].line = 0;
    }
    if (pipe(in_pipe) != 0)
        goto sys_fail;
    if (pipe(out_pipe) != 0) {
        close(in_pipe[0]);
        close(in_pipe[1]);
        goto sys_fail;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(in_pipe[0]);
        close(in_pipe[1]);
        close(out_pipe[0]);
        close(out_pipe[1]);
        goto sys_fail;
    }
    if (pid == 0) {
        dup2(in_pipe[0], 0);
        dup2(out_pipe[1], 1);
        close(in_pipe[0]);
        close(in_pipe[1]);
        close(out_pipe[0]);
        close(out_pipe[1]);
        execl(addr2line, addr2line, "-f", "-C", "-e", elf, (char *)NULL);
        _exit(127);
    }
    close(in_pipe[0]);
    close(out_pipe[1]);
    int wfd = in_pipe[1], rfd = out_pipe[0];
    fcntl(wfd, F_SETFL, fcntl(wfd, F_GETFL) | O_NONBLOCK);
    void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);

    /* Write all addresses while reading the answers (a full output pipe
     * must not block our writes): poll both ends. */
    char wbuf[32];
    size_t wi = 0, wlen = 0, woff = 0;
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    int ok = out != NULL;
    while (ok && (wfd >= 0 || rfd >= 0)) {
        struct pollfd pf[2];
        nfds_t np = 0;
        if (wfd >= 0) {
            pf[np].fd = wfd;
            pf[np].events = POLLOUT;
            np++;
        }
        pf[np].fd = rfd;
        pf[np].events = POLLIN;
        np++;
        if (poll(pf, np, -1) < 0) {
            if (errno == EINTR)
                continue;
            ok = 0;
            break;
        }
        if (wfd >= 0 && (pf[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
            if (woff == wlen) {
                if (wi == n) {
                    close(wfd);
                    wfd = -1;
                } else {
                    int k = snprintf(wbuf, sizeof wbuf, "0x%llx\n", (unsigned long long)(e[wi].query ? e[wi].query : e[wi].addr));
                    wi++;
                    wlen = (size_t)k;
                    woff = 0;
                }
            }
            if (wfd >= 0 && woff < wlen) {
                ssize_t w = write(wfd, wbuf + woff, wlen - woff);
                if (w > 0) {
                    woff += (size_t)w;
                } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
                    close(wfd);
                    wfd = -1;
                }
            }
        }
        struct pollfd *rp = &pf[np - 1];
        if (rp->revents & (POLLIN | POLLHUP | POLLERR)) {
            if (len + 1024 > cap) {
                char *nb = realloc(out, cap * 2);
                if (!nb) {
                    ok = 0;
                    break;
                }
                out = nb;
                cap *= 2;
            }
            ssize_t r = read(rfd, out + len, cap - len - 1);
            if (r > 0) {
                len += (size_t)r;
            } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                close(rfd);
                rfd = -1;
                if (wfd >= 0) {
                    close(wfd);
                    wfd = -1;
                }
            }
        }
    }
    if (wfd >= 0)
        close(wfd);
    if (rfd >= 0)
        close(rfd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    signal(SIGPIPE, old_pipe);
    if (!ok) {
        free(out);
        snprintf(err, errcap, "%s: out of memory or poll failed", addr2line);
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        free(out);
        snprintf(err, errcap, "%s -f -C -e %s failed (exit %d)", addr2line, elf,
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return -1;
    }
    out[len] = '\0';
    /* two lines per address: function, then FILE:LINE */
    char *save = out;
    for (size_t i = 0; i < n; i++) {
        char *fn = save, *nl = strchr(fn, '\n');
        if (!nl)
            break;
        *nl = '\0';
        char *fl = nl + 1;
        nl = strchr(fl, '\n');
        if (!nl)
            break;
        *nl = '\0';
        save = nl + 1;
        snprintf(e[i].function, sizeof e[i].function, "%s", fn);
        sym_parse_file_line(fl, &e[i]);
    }
    free(out);
    return 0;
sys_fail:
    snprintf(err, errcap, "cannot run %s: %s", addr2line, strerror(errno));
    return -1;
}
