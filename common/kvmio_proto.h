/*
 * The kvmio protocol: what the guest writes on the serial line and the host reads
 * (docs/protocol.md). One self-contained header both sides compile; nothing but <stdint.h>.
 *
 *   @kvmio VERSION TYPE seq=N key=value ... crc=XXXXXXXX
 *
 * A change that an older reader could misread bumps KVMIO_PROTO_VERSION; the host refuses
 * logs of a version it does not know (exit KVMIO_EXIT_VERSION).
 */
#ifndef KVMIO_COMMON_KVMIO_PROTO_H
#define KVMIO_COMMON_KVMIO_PROTO_H
#include <stdint.h>

#define KVMIO_PROTO_PREFIX "@kvmio"
#define KVMIO_PROTO_VERSION 1
#define KVMIO_PROTO_VERSION_STR "1"
#define KVMIO_PROTO_MAX_LINE 4096   /* bytes of one record line, newline excluded */
#define KVMIO_PROTO_MAX_FIELDS 96   /* fields of one record, seq and crc included */
#define KVMIO_PROTO_MAX_REQUIRED 16

/* Guest status: the `end` record's status= and the value written to isa-debug-exit. */
enum guest_status { STATUS_OK = 0, STATUS_FAIL = 1, STATUS_BADCONFIG = 2, STATUS_TIMEOUT = 3 };

/* Exit codes of the kvmio tool (docs/protocol.md, "What the host checks"). */
enum kvmio_exit {
	KVMIO_EXIT_OK = 0,
	KVMIO_EXIT_GUEST_FAIL = 1,
	KVMIO_EXIT_FAILED = 1,         /* host commands: the work or the check failed (kvmio report,
					* verify-disk, a run of kvmio run) */
	KVMIO_EXIT_REGRESSION = 1,     /* kvmio compare --max-regression: B is significantly slower
					* than A by more than the limit */
	KVMIO_EXIT_BADCONFIG = 2,
	KVMIO_EXIT_TIMEOUT = 3,
	KVMIO_EXIT_TRUNCATED = 4,
	KVMIO_EXIT_NO_END = 5,
	KVMIO_EXIT_CORRUPT = 6,
	KVMIO_EXIT_VERSION = 7,
	KVMIO_EXIT_SEQUENCE = 8,
	KVMIO_EXIT_QEMU = 9,
	KVMIO_EXIT_IO = 10,
	KVMIO_EXIT_ACCEL = 11,         /* the accelerator failed (KVM internal error, ...) */
	KVMIO_EXIT_CALIBRATION = 12,   /* kvmio calibrate: on the iothread path the guest's figure
					* and the host timer disagree (README, "kvmio calibrate") */
	KVMIO_EXIT_HOST_LOST = 13,     /* --connect: the libvirt host went away once connected
					* (connection closed, RPC error; cannot connect is 2): not the
					* guest's failure; kvmio run --hosts gives the run to another
					* host (docs/fleet.md) */
	KVMIO_EXIT_INTERRUPTED = 130,  /* SIGINT/SIGTERM: QEMU stopped */
};

/* A guest status is the host's exit code for it: kvmio passes it through unchanged. */
_Static_assert((int)STATUS_OK == (int)KVMIO_EXIT_OK, "ok");
_Static_assert((int)STATUS_FAIL == (int)KVMIO_EXIT_GUEST_FAIL, "fail");
_Static_assert((int)STATUS_BADCONFIG == (int)KVMIO_EXIT_BADCONFIG, "badconfig");
_Static_assert((int)STATUS_TIMEOUT == (int)KVMIO_EXIT_TIMEOUT, "timeout");

/* isa-debug-exit: the guest writes its status V, QEMU exits with (V << 1) | 1. */
#define KVMIO_DEBUG_EXIT_CODE(status) (((status) << 1) | 1)

/* The status words of the `end` record, indexed by enum guest_status. */
#define KVMIO_STATUS_NAMES { "ok", "fail", "badconfig", "timeout" }

/* Record types and the fields each must carry (besides seq and crc). */
struct kvmio_record_kind {
	const char *type;
	const char *required[KVMIO_PROTO_MAX_REQUIRED];
};
#define KVMIO_RECORD_KINDS { \
	{ "hello", { "build", "boot", "tsc_hz", "tsc_method", "accel" } }, \
	{ "option", { "name", "default", "help" } }, \
	{ "pci", { "bdf", "id", "class" } }, \
	{ "result", { "bench", "name", "ops", "total", "min", "p50", "p90", "p99", "p999", \
		      "max", "mean", "hist" } }, \
	{ "skip", { "bench", "name", "reason" } }, \
	{ "disk", { "index", "model", "transport", "sectors", "sector_size" } }, \
	{ "nic", { "index", "model", "transport", "mac" } }, \
	{ "ready", { "ip" } }, \
	{ "error", { "code", "msg" } }, \
	{ "timeout", { "after_s" } }, \
	{ "end", { "status", "records" } }, \
}

/*
 * How the guest's instructions are executed (hello exec=, kernel/exec.c), and what the host
 * expects of each accelerator flavour (host: hostinfo). The probe: a register-only
 * `dec %rcx; jnz` loop of KVMIO_EXEC_LOOP_ITERS iterations, minimum over several trials.
 * Emulated when an iteration costs more than KVMIO_EXEC_EMULATED_CYC_PER_ITER TSC cycles: ~1 on
 * hardware, ~5 in TCG's translated code, hundreds to thousands when KVM's instruction emulator
 * interprets each instruction (kvm_pvm with a guest that is not PVM-aware).
 */
#define KVMIO_EXEC_LOOP_ITERS 1000ull
#define KVMIO_EXEC_EMULATED_CYC_PER_ITER 40ull
#define KVMIO_EXEC_EMULATED_LOOP_CYC (KVMIO_EXEC_EMULATED_CYC_PER_ITER * KVMIO_EXEC_LOOP_ITERS)
/* Wall-time deadlines are stretched by this when emulated (~10x slower than TCG, x2 margin),
 * by the guest for its own and by the host for its launch deadline. */
#define KVMIO_EXEC_EMULATED_DEADLINE_SCALE 20ull

#endif
