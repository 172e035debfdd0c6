/* Workloads. Each reports its own result/skip records; the caller writes `end`. */
#ifndef KVMIO_BENCH_H
#define KVMIO_BENCH_H
#include "kernel/cmdline.h"
#include "kernel/report.h"


/* VM-exit cost floors: cpuid, unhandled port, PM timer, PCI BAR MMIO/port reads, timestamp. */
enum guest_status bench_exits(const struct options *o);
/* Block I/O on one disk (rw, bs, qd, ...), with harness cost, access and interrupt counts. */
enum guest_status bench_disk(const struct options *o);
/* Busy loop with interrupts on until the watchdog ends the guest (tests the watchdog). */
enum guest_status bench_spin(const struct options *o);

#endif
