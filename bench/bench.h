/* Workloads. Each reports its own result/skip records; the caller writes `end`. */
#ifndef KVMIO_BENCH_BENCH_H
#define KVMIO_BENCH_BENCH_H
#include "kernel/cmdline.h"
#include "kernel/report.h"

/* Run the benchmark bench= names (common/benches.def). */
enum guest_status bench_run(const struct options *o);

/* VM-exit cost floors: cpuid, unhandled port, PM timer, PCI BAR MMIO/port reads, timestamp. */
enum guest_status bench_exits(const struct options *o);
/* Block I/O on one disk (rw, bs, qd, ...), with harness cost, access and interrupt counts. */
enum guest_status bench_disk(const struct options *o);
/* Network: net-tx, net-rx, net-rr on one NIC (peer/tap) or two on a hub (loop, rxdev=). */
enum guest_status bench_net(const struct options *o);
struct netdev;
/* net-echo: answer ARP, ICMP echo and UDP echo on ip= until idle, ops= answers or time=. */
enum guest_status net_echo(const struct options *o, struct netdev *d, uint64_t second);
/* Busy loop with interrupts on until the watchdog ends the guest (tests the watchdog). */
enum guest_status bench_spin(const struct options *o);

#endif
