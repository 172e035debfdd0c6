/*
 * What this host offers kvmio, and which accelerator produced a figure (docs/accel.md).
 *
 * One module owns these facts: `kvmio host` prints them, `kvmio boot` resolves --accel from
 * them and labels its figures with the flavour, `kvmio run` records that label on every row.
 * Reading the facts (files, ioctls, CPUID, QEMU) is kept apart from judging them: the judging
 * functions are pure, so unit tests give them any host (bare-metal VMX, nested SVM, kvm_pvm...).
 */
#ifndef KVMIO_HOST_BOOT_HOSTINFO_H
#define KVMIO_HOST_BOOT_HOSTINFO_H
#include <stddef.h>
#include <stdint.h>
#include "kvmio_proto.h" /* KVMIO_EXEC_EMULATED_DEADLINE_SCALE: the guest's factor too */

/* The KVM device to use; KVMIO_KVM_DEVICE overrides it ("none": behave as if there is none). */
#define HOST_KVM_DEVICE_DEFAULT "/dev/kvm"
#define HOST_KVM_DEVICE_ENV "KVMIO_KVM_DEVICE"

/* Deadlines under instruction emulation: the host stretches its own by the factor the guest
 * applies to its deadlines when it measures exec=emulated (kernel/exec.h). */
#define HOST_EMULATED_DEADLINE_SCALE KVMIO_EXEC_EMULATED_DEADLINE_SCALE

struct host_facts {
	/* /dev/kvm (or KVMIO_KVM_DEVICE) */
	char kvm_path[128];
	int kvm_exists;              /* the path exists */
	int kvm_open_errno;          /* 0: opened read-write */
	int kvm_api;                 /* KVM_GET_API_VERSION; -1: not answered */
	int kvm_api_errno;
	int kvm_vm_errno;            /* KVM_CREATE_VM: 0 created; -1 not tried */
	/* kernel modules (/sys/module) */
	int mod_kvm, mod_kvm_intel, mod_kvm_amd, mod_kvm_pvm;
	char nested[16];             /* the hardware module's `nested` parameter, "" if none */
	/* the CPU this host sees */
	int flag_vmx, flag_svm;      /* /proc/cpuinfo flags */
	int cpuid_hypervisor;        /* CPUID.1:ECX[31]: this host is itself a virtual machine */
	char hv_vendor[13];          /* CPUID 0x40000000 vendor signature, "" if none */
	char cpu_model[128];
	/* the rest of what kvmio can use (filled by host_facts_read_all only) */
	int all_read;
	int vhost_net, net_tun, netns, io_uring;
	char qemu[256];
	char qemu_version[128];      /* "" if QEMU did not run */
	int qemu_kvm, qemu_tcg;      /* QEMU's -accel help lists them */
	char ovmf_code[256];         /* "" if not found */
	int gnuplot, chromium;
	uint64_t tsc_hz;             /* this host's TSC frequency (host_tsc_hz), 0 if unknown */
	const char *tsc_method;
};

enum kvm_backend {
	KVM_BACKEND_NONE,            /* no device node */
	KVM_BACKEND_UNUSABLE,        /* there, but open/KVM_GET_API_VERSION/KVM_CREATE_VM fail */
	KVM_BACKEND_INTEL,           /* kvm_intel: hardware VMX */
	KVM_BACKEND_AMD,             /* kvm_amd: hardware SVM */
	KVM_BACKEND_PVM,             /* kvm_pvm: an unmodified guest runs in KVM's emulator */
	KVM_BACKEND_OTHER,           /* usable, backend not recognised */
};

/* How guest code is executed under an accelerator, as the guest's hello `exec=` says it. */
enum exec_mode { EXEC_NATIVE, EXEC_EMULATED, EXEC_UNKNOWN };

struct kvm_flavour {
	enum kvm_backend backend;
	int nested;                  /* this host is itself a virtual machine */
	enum exec_mode exec;         /* what an unmodified guest gets under -accel kvm */
	char why[320];               /* unusable: why; other: what is known */
	char label[400];             /* e.g. "kvm (kvm_intel, hardware VMX, bare metal)" */
};

/* ---- reading (touches the system) -------------------------------------------------------- */

/* The KVM facts: device, modules, cpuinfo, CPUID. Cheap: every `kvmio boot` calls it. */
void host_facts_read_kvm(struct host_facts *f);
/* Everything `kvmio host` reports; runs `QEMU -version` and `QEMU -accel help` (bounded). */
void host_facts_read_all(struct host_facts *f, const char *qemu);

/* OVMF code and variables template: KVMIO_OVMF_CODE/_VARS, else the 4M pair, else the 2M
 * pair. 0 if both exist; the paths tried are left in *code and *vars either way. */
int host_find_ovmf(const char **code, const char **vars);

/*
 * This host's TSC frequency: the kernel's value where sysfs offers it (tsc_freq_khz), else
 * calibrated against CLOCK_MONOTONIC_RAW (the median of bracketed windows, ~100 ms). 0, or -1
 * when neither works. method: "sysfs" or "monotonic_raw".
 */
int host_tsc_hz(uint64_t *hz, const char **method);

/* The guest's TSC frequency against the host's, in ppm of the host's (pure). */
double host_tsc_error_ppm(uint64_t guest_hz, uint64_t host_hz);
/* Guest and host disagree by more than this: the figures' ns are off by as much (issue: 0.1 %). */
#define HOST_TSC_TOLERANCE_PPM 1000.0

/* ---- judging (pure) ---------------------------------------------------------------------- */

/* Fill flags from the text of /proc/cpuinfo (first "flags" line). */
void host_parse_cpuinfo(struct host_facts *f, const char *cpuinfo);
/* The KVM device's flavour from the facts. */
void host_kvm_flavour(const struct host_facts *f, struct kvm_flavour *out);
/* What to label a figure with: "tcg", or the KVM flavour's label. */
const char *host_accel_label(const char *accel, const struct kvm_flavour *k);
/* How the guest's code runs under accel ("kvm" or "tcg"). */
enum exec_mode host_accel_exec(const char *accel, const struct kvm_flavour *k);
const char *host_exec_name(enum exec_mode e);
enum exec_mode host_exec_parse(const char *s);

/*
 * Resolve --accel (auto, kvm, tcg; NULL = auto). Returns 0 with *chosen ("kvm" or "tcg") and
 * a one-line reason in why ("auto: tcg, because ..."), or 2 with the problem in why.
 */
int host_accel_choose(const char *requested, const struct kvm_flavour *k, const char **chosen,
		      char *why, size_t whylen);

/* Default host deadline: base_s, scaled when the guest's code is emulated. */
double host_default_timeout(double base_s, enum exec_mode exec);

/* A warning (one line, in buf) when the guest's own verdict (hello exec=) disagrees with what
 * the host's flavour predicts; 0 when they agree or either is unknown. */
int host_exec_disagrees(enum exec_mode expected, const char *label, const char *guest_exec,
			char *buf, size_t len);

/* The boot paths kvmio ships, for verdicts. */
struct boot_path {
	const char *firmware, *machine;
};
extern const struct boot_path host_boot_paths[];
extern const size_t host_nboot_paths;

/* Whether firmware/machine is expected to boot under accel on this host: 1 yes, 0 no; the
 * reason (or the caveat) in why. */
int host_path_verdict(const struct host_facts *f, const struct kvm_flavour *k,
		      const char *firmware, const char *machine, const char *accel, char *why,
		      size_t whylen);

/*
 * QEMU's stderr so far: a cause if it shows the accelerator failing (KVM internal error,
 * emulation failure, failed to initialize kvm, ...), else NULL. The cause is one line.
 */
const char *host_accel_failure(const char *qemu_stderr);

/* `kvmio host [--json]` */
int cmd_host(int argc, char **argv);

#endif
