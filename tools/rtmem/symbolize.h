/*
 * Caller addresses to function and file:line with binutils' addr2line: one
 * `addr2line -f -C -e ELF` process per run, fed every address through a
 * pipe. The binary is chosen from the ELF header's e_machine (Xtensa,
 * RISC-V, ARM, else the host's addr2line) unless one is given.
 */
#ifndef RTMEM_TOOL_SYMBOLIZE_H
#define RTMEM_TOOL_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t addr;
    uint64_t query;       /* the address given to addr2line (0: addr) */
    char function[128];   /* "??" when unknown */
    char file[192];       /* "??" when unknown */
    unsigned long line;   /* 0 when unknown; at most SYM_LINE_MAX */
} sym_entry_t;

/* The largest line number kept, the same on every host (unsigned long may
 * have 32 bits). */
#define SYM_LINE_MAX 4294967295ul

/* e_machine of an ELF file, or -1 (message in err) when it is not one:
 * shorter than 20 bytes, no "\177ELF" magic, or EI_DATA neither 1 nor 2.
 * Reads 20 bytes. */
int sym_elf_machine(const char *elf, char *err, size_t errcap);

/* 1 when elf is position-independent (ET_DYN): runtime addresses of a
 * host program then need its load bias subtracted. 0 for every file that
 * sym_elf_machine rejects (the same header check), and for unreadable ones. */
int sym_elf_is_pie(const char *elf);

/* The addr2line to use for elf: override if given, else by e_machine from
 * PATH; NULL (message in err) when none is found. A PATH directory whose
 * full file name would not fit in 1023 bytes is passed over. Static buffer. */
const char *sym_pick_addr2line(const char *elf, const char *override, char *err, size_t errcap);

/* One FILE:LINE answer of addr2line (without its newline) into e->file
 * and e->line. FILE is what comes before the last ':' (the whole answer
 * when there is none), cut to fit e->file. LINE, after that ':', counts
 * when it is decimal digits worth 1 to SYM_LINE_MAX that end the answer or
 * are followed by a space (addr2line adds " (discriminator N)"); anything
 * else there ("?", which addr2line writes for an unknown line, a sign,
 * other bytes, nothing, a larger number of any length) gives 0, unknown,
 * as addr2line's own "??:0". Cost: linear in the answer. */
void sym_parse_file_line(const char *answer, sym_entry_t *e);

/* Symbolize n addresses in one addr2line run. 0, or -1 with err set.
 * Each answer is read by sym_parse_file_line. */
int sym_resolve(const char *addr2line, const char *elf, sym_entry_t *e, size_t n, char *err,
                size_t errcap);

#endif
