/*
 * Startup for the test programs on QEMU's mps2-an385 (Cortex-M3), also
 * used by bench/target on mps2-an386 (the same board with a Cortex-M4F):
 * vector table, reset (copy .data, zero .bss, set up TLS, run main),
 * semihosting exit with main's result, and fault handlers that report
 * where the program died and exit with status 200 instead of hanging until
 * the time limit. Unaligned word accesses and integer division by zero
 * trap: code that does either is broken on some core rtmem targets (the
 * Cortex-M0+ has no unaligned access at all).
 *
 * Memory map and sections: mps2_an385.ld. The C library is picolibc with
 * its semihosting system calls (--specs=picolibc.specs --oslib=semihost);
 * its own start file is not used (-nostartfiles), so this file also sets
 * up the one thread's TLS block (picolibc keeps errno there).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "target.h"

int main(void);
void _set_tls(void *tls); /* picolibc (picotls.h): points the thread pointer at a TLS block */

void rtmt_reset_handler(void);
void rtmt_fault_report(const uint32_t *frame, uint32_t exc_return);

/* Linker script symbols. */
extern uint8_t rtmt_stack_top[];
extern uint8_t rtmt_data_load[], rtmt_data_start[], rtmt_data_end[];
extern uint8_t rtmt_tdata_load[], rtmt_tdata_start[], rtmt_tdata_end[];
extern uint8_t rtmt_bss_start[], rtmt_bss_end[]; /* .tbss and .bss */

/* ------------------------------------------------------------------ */
/* Semihosting (Arm semihosting specification, BKPT 0xAB on M-profile)  */

#define SEMIHOST_SYS_WRITE0 0x04u
#define SEMIHOST_SYS_EXIT_EXTENDED 0x20u
#define SEMIHOST_ADP_APPLICATION_EXIT 0x20026u

static uint32_t semihost_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static void semihost_write(const char *text)
{
    (void)semihost_call(SEMIHOST_SYS_WRITE0, text);
}

void rtmt_target_exit(int status)
{
    /* SYS_EXIT_EXTENDED carries the status itself; plain SYS_EXIT only
     * says success or failure on 32-bit Arm. */
    uint32_t block[2] = {SEMIHOST_ADP_APPLICATION_EXIT, (uint32_t)status};
    (void)semihost_call(SEMIHOST_SYS_EXIT_EXTENDED, block);
    for (;;) {
    }
}

/* ------------------------------------------------------------------ */
/* Reset                                                               */

#define SCB_CCR (*(volatile uint32_t *)0xE000ED14u)
#define SCB_CCR_UNALIGN_TRP (1u << 3)
#define SCB_CCR_DIV_0_TRP (1u << 4)
#define SCB_SHCSR (*(volatile uint32_t *)0xE000ED24u)
#define SCB_SHCSR_FAULTS_ENABLE ((1u << 16) | (1u << 17) | (1u << 18)) /* mem, bus, usage */

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define SCB_CPACR_CP10_CP11_FULL (0xfu << 20)

void rtmt_reset_handler(void)
{
#if defined(__ARM_FP)
    /* A build for a core with an FPU (the Cortex-M4F programs of
     * bench/target, on mps2-an386) may use its registers anywhere, even
     * to pass a double: give full access before any code that might. */
    SCB_CPACR |= SCB_CPACR_CP10_CP11_FULL;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    memcpy(rtmt_data_start, rtmt_data_load, (size_t)(rtmt_data_end - rtmt_data_start));
    memcpy(rtmt_tdata_start, rtmt_tdata_load, (size_t)(rtmt_tdata_end - rtmt_tdata_start));
    memset(rtmt_bss_start, 0, (size_t)(rtmt_bss_end - rtmt_bss_start));
    _set_tls(rtmt_tdata_start);
    /* Unaligned word accesses and integer divisions by zero fault instead
     * of quietly working (or giving 0): rtmem must do neither on any core. */
    SCB_CCR |= SCB_CCR_UNALIGN_TRP | SCB_CCR_DIV_0_TRP;
    SCB_SHCSR |= SCB_SHCSR_FAULTS_ENABLE;
    int status = main();
    (void)fflush(stdout);
    if (status < 0 || status > 255) {
        status = 255; /* the exit status is 8 bits: 256 failures must not read as 0 */
    }
    rtmt_target_exit(status);
}

/* ------------------------------------------------------------------ */
/* Faults                                                              */

/* No library calls: the fault may have happened inside one. */
static void write_hex(const char *label, uint32_t value)
{
    static const char digits[] = "0123456789abcdef";
    char text[12];
    text[0] = '0';
    text[1] = 'x';
    for (unsigned i = 0; i < 8u; i++) {
        text[2u + i] = digits[(value >> (28u - 4u * i)) & 0xfu];
    }
    text[10] = '\n';
    text[11] = '\0';
    semihost_write(label);
    semihost_write(text);
}

/* frame: the registers the core stacked on entry (r0-r3, r12, lr, pc, xpsr).
 * Writes straight to the semihosting console: stdio may be what failed. */
__attribute__((used)) void rtmt_fault_report(const uint32_t *frame, uint32_t exc_return)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    semihost_write("\n*** fault ***\n");
    write_hex("exception ", ipsr & 0x1ffu);
    write_hex("pc        ", frame[6]);
    write_hex("lr        ", frame[5]);
    write_hex("exc_return ", exc_return);
    write_hex("CFSR      ", *(volatile uint32_t *)0xE000ED28u);
    write_hex("HFSR      ", *(volatile uint32_t *)0xE000ED2Cu);
    write_hex("MMFAR     ", *(volatile uint32_t *)0xE000ED34u);
    write_hex("BFAR      ", *(volatile uint32_t *)0xE000ED38u);
    semihost_write("(arm-none-eabi-addr2line -e <elf> <pc> names the line)\n");
    rtmt_target_exit(200);
}

/* Finds the stacked frame (main or process stack) and reports it. */
__attribute__((naked)) static void fault_handler(void)
{
    __asm__ volatile("tst lr, #4\n"
                     "ite eq\n"
                     "mrseq r0, msp\n"
                     "mrsne r0, psp\n"
                     "mov r1, lr\n"
                     "b rtmt_fault_report\n");
}

/* ------------------------------------------------------------------ */
/* Vector table: placed at address 0 by the linker script, where the
 * core reads the initial stack pointer and the reset vector.          */

typedef void (*rtmt_handler_t)(void);

/* System exceptions only: the tests enable no interrupt, so the table
 * stops before the IRQ vectors. Every exception but reset is unexpected
 * and reported by fault_handler with its number. */
typedef struct vector_table {
    void *initial_sp;
    rtmt_handler_t handlers[15];
} vector_table_t;

__attribute__((section(".vectors"), used)) static const vector_table_t k_vectors = {
    .initial_sp = rtmt_stack_top,
    .handlers =
        {
            rtmt_reset_handler,
            fault_handler, /* NMI */
            fault_handler, /* HardFault */
            fault_handler, /* MemManage */
            fault_handler, /* BusFault */
            fault_handler, /* UsageFault */
            NULL,          /* reserved 7..10 */
            NULL,
            NULL,
            NULL,
            fault_handler, /* SVCall */
            fault_handler, /* DebugMonitor */
            NULL,          /* reserved 13 */
            fault_handler, /* PendSV */
            fault_handler, /* SysTick */
        },
};
