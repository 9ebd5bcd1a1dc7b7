/*
 * What the target test runner (cmocka_target.c) needs from the board's
 * startup code (startup_mps2_an385.c for QEMU's mps2-an385).
 */
#ifndef RTMEM_TARGET_H
#define RTMEM_TARGET_H

/* Ends the program with an exit status the host sees (QEMU's own exit
 * status under semihosting). Flushes nothing: call fflush first. */
void rtmt_target_exit(int status)
#if defined(__GNUC__)
    __attribute__((noreturn))
#endif
    ;

#endif
