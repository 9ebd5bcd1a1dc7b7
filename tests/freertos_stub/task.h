/*
 * TEST SCAFFOLDING, NOT FreeRTOS. rtmem's own stand-in for the kernel's
 * task.h: only the scheduler-suspension calls heap_rtmem.c makes. They are
 * implemented by tests/test_freertos_heap.c, which counts them and tracks
 * the nesting depth, so the test can see that every heap operation is
 * bracketed exactly as the kernel's heaps bracket theirs.
 */
#ifndef RTM_TEST_FREERTOS_STUB_TASK_H
#define RTM_TEST_FREERTOS_STUB_TASK_H

#include "FreeRTOS.h"

void vTaskSuspendAll(void);
BaseType_t xTaskResumeAll(void);

#endif
