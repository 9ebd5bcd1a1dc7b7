/*
 * rtmem: memory management for FreeRTOS-class firmware.
 * Including this header includes every public rtmem header.
 */
#ifndef RTMEM_RTMEM_H
#define RTMEM_RTMEM_H

#include "rtmem/caps.h"
#include "rtmem/config.h"
#include "rtmem/debug.h"
#include "rtmem/heap.h"
#include "rtmem/monitor.h"
#include "rtmem/observer.h"
#include "rtmem/output.h"
#include "rtmem/pool.h"
#include "rtmem/port.h"
#include "rtmem/stack.h"
#include "rtmem/task_stats.h"
#include "rtmem/trace.h"

#define RTM_VERSION_MAJOR 0
#define RTM_VERSION_MINOR 1
#define RTM_VERSION_PATCH 0

#endif
