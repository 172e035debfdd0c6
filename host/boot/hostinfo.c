/* What this host offers kvmio and which accelerator flavour produced a figure (hostinfo.h). */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/io_uring.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "lib/args.h"
#include "boot/hostinfo.h"
#include "boot/noise.h"
#include "lib/clock.h"
#include "boot/storage.h"
#include "boot/launch.h"
#include "lib/file.h"
#include "lib/proc.h"
#include "proto/proto.h"
#include "boot/qemu.h"

#define CPUID_FEATURES 1u
#define CPUID_FEATURES_ECX_HYPERVISOR (1u << 31) /* SDM Vol. 2A, CPUID: reserved for VMMs */
#define CPUID_HV_VENDOR 0x40000000u              /* hypervisor vendor leaf (KVM, Hyper-V...) */
#define QEMU_PROBE_TIMEOUT_S 10.0

/* ---- reading ----------------------------------------------------------------------------- */

void host_parse_cpuinfo(struct host_facts *f, const char *cpuinfo)
{
	const char *flags = cpuinfo ? strstr(cpuinfo, "\nflags") : NULL;
	const char *model = cpuinfo ? strstr(cpuinfo, "model name") : NULL;

	f->flag_vmx = f->flag_svm = 0;
	if (flags) {
		const char *end = strchr(flags + 1, '\n');
		const char *p = strchr(flags, ':');
		size_t n = end ? (size_t)(end - flags) : strlen(flags);

		for (; p && p < flags + n;) {
			size_t w;

			p += strspn(p, ": \t");
			w = strcspn(p, " \t\n");
			if (w == 3 && !strncmp(p, "vmx", 3))
				f->flag_vmx = 1;
			if (w == 3 && !strncmp(p, "svm", 3))
				f->flag_svm = 1;
			if (!w)
				break;
			p += w;
		}
	}
	if (model && (model = strchr(model, ':'))) {
		model += strspn(model, ": \t");
		snprintf(f->cpu_model, sizeof(f->cpu_model), "%.*s", (int)strcspn(model, "\n"),
			 model);
	}
}

static void read_cpuid(struct host_facts *f)
{
	unsigned a, b, c, d;

	f->cpuid_hypervisor = 0;
	f->hv_vendor[0] = '\0';
	if (!__get_cpuid(CPUID_FEATURES, &a, &b, &c, &d))
		return;
	f->cpuid_hypervisor = !!(c & CPUID_FEATURES_ECX_HYPERVISOR);
	if (!f->cpuid_hypervisor)
		return;
	__cpuid(CPUID_HV_VENDOR, a, b, c, d);
	memcpy(f->hv_vendor, &b, 4);
	memcpy(f->hv_vendor + 4, &c, 4);
	memcpy(f->hv_vendor + 8, &d, 4);
	f->hv_vendor[12] = '\0';
}

static void read_kvm_device(struct host_facts *f)
{
	const char *env = getenv(HOST_KVM_DEVICE_ENV);
	int fd, vm;

	snprintf(f->kvm_path, sizeof(f->kvm_path), "%s",
		 env && *env ? env : HOST_KVM_DEVICE_DEFAULT);
	f->kvm_api = -1;
	f->kvm_vm_errno = -1;
	f->kvm_exists = strcmp(f->kvm_path, "none") != 0 && path_exists(f->kvm_path);
	if (!f->kvm_exists)
		return;
	fd = open(f->kvm_path, O_RDWR | O_CLOEXEC);
	f->kvm_open_errno = fd < 0 ? errno : 0;
	if (fd < 0)
		return;
	f->kvm_api = ioctl(fd, KVM_GET_API_VERSION, 0);
	f->kvm_api_errno = f->kvm_api < 0 ? errno : 0;
	if (f->kvm_api >= 0) {
		vm = ioctl(fd, KVM_CREATE_VM, 0);
		f->kvm_vm_errno = vm < 0 ? errno : 0;
		if (vm >= 0)
			close(vm);
	}
	close(fd);
}

void host_facts_read_kvm(struct host_facts *f)
{
	char *cpuinfo, *text;
	const char *mod = NULL;
	char path[128];

	memset(f, 0, sizeof(*f));
	read_kvm_device(f);
	f->mod_kvm = path_exists("/sys/module/kvm");
	f->mod_kvm_intel = path_exists("/sys/module/kvm_intel");
	f->mod_kvm_amd = path_exists("/sys/module/kvm_amd");
	f->mod_kvm_pvm = path_exists("/sys/module/kvm_pvm");
	mod = f->mod_kvm_intel ? "kvm_intel" : f->mod_kvm_amd ? "kvm_amd" : NULL;
	if (mod) {
		snprintf(path, sizeof(path), "/sys/module/%s/parameters/nested", mod);
		file_read_line(path, f->nested, sizeof(f->nested));
	}
	/* host_parse_cpuinfo looks for "\nflags": a newline before the first line too */
	text = file_read("/proc/cpuinfo", NULL);
	if (asprintf(&cpuinfo, "\n%s", text ? text : "") < 0)
		cpuinfo = NULL;
	host_parse_cpuinfo(f, cpuinfo);
	free(cpuinfo);
	free(text);
	read_cpuid(f);
}

static int on_path(const char *prog)
{
	char buf[4096];

	return path_search(prog, buf, sizeof(buf)) == 0;
}

static int io_uring_works(void)
{
	struct io_uring_params p;
	long fd;

	memset(&p, 0, sizeof(p));
	fd = syscall(__NR_io_uring_setup, 1, &p);
	if (fd < 0)
		return 0;
	close((int)fd);
	return 1;
}

int host_find_ovmf(const char **code, const char **vars)
{
	static const char *const pairs[][2] = {
		{ "/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd" },
		{ "/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd" },
	};
	const char *ec = getenv("KVMIO_OVMF_CODE"), *ev = getenv("KVMIO_OVMF_VARS");

	if (ec && *ec && ev && *ev) {
		*code = ec;
		*vars = ev;
		return file_exists(ec) && file_exists(ev) ? 0 : -1;
	}
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		if (file_exists(pairs[i][0]) && file_exists(pairs[i][1])) {
			*code = ec && *ec ? ec : pairs[i][0];
			*vars = ev && *ev ? ev : pairs[i][1];
			return file_exists(*code) && file_exists(*vars) ? 0 : -1;
		}
	}
	*code = ec && *ec ? ec : pairs[0][0];
	*vars = ev && *ev ? ev : pairs[0][1];
	return -1;
}

/* Run QEMU with args, bounded; its stdout (malloc'd) or NULL. */
static char *qemu_output(const char *qemu, const char *arg1, const char *arg2)
{
	char *argv[] = { (char *)qemu, (char *)arg1, (char *)arg2, NULL };
	struct launch_result res;
	char *out = NULL;

	if (launch_run(argv, QEMU_PROBE_TIMEOUT_S, &res) == 0 && res.exited && res.exit_code == 0)
		out = res.out ? strdup(res.out) : NULL;
	launch_result_free(&res);
	return out;
}

void host_facts_read_all(struct host_facts *f, const char *qemu)
{
	char *v, *a;
	const char *code, *vars;

	host_facts_read_kvm(f);
	f->all_read = 1;
	f->vhost_net = path_exists("/dev/vhost-net");
	f->net_tun = path_exists("/dev/net/tun");
	f->netns = path_exists("/proc/self/ns/net") && on_path("ip");
	f->io_uring = io_uring_works();
	snprintf(f->qemu, sizeof(f->qemu), "%s", qemu);
	v = qemu_output(qemu, "-version", NULL);
	if (v)
		snprintf(f->qemu_version, sizeof(f->qemu_version), "%.*s",
			 (int)strcspn(v, "\n"), v);
	a = qemu_output(qemu, "-accel", "help");
	if (a) {
		for (char *l = strtok(a, "\n"); l; l = strtok(NULL, "\n")) {
			f->qemu_kvm |= !strcmp(l, "kvm");
			f->qemu_tcg |= !strcmp(l, "tcg");
		}
	}
	free(v);
	free(a);
	if (host_find_ovmf(&code, &vars) == 0)
		snprintf(f->ovmf_code, sizeof(f->ovmf_code), "%s", code);
	if (host_tsc_hz(&f->tsc_hz, &f->tsc_method) != 0)
		f->tsc_hz = 0;
	f->gnuplot = on_path("gnuplot");
	f->chromium = on_path("chromium") || on_path("chromium-browser");
}

/* ---- the host's TSC ---- */

#define TSC_SYSFS "/sys/devices/system/cpu/cpu0/tsc_freq_khz"
#define TSC_CAL_WINDOWS 5
#define TSC_CAL_WINDOW_NS 20000000ll  /* 20 ms */
#define TSC_CAL_TRIES 5               /* bracketed reads per window end; the tightest counts */

static uint64_t host_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

/* The clock and the TSC at one instant: the tightest of a few bracketed reads. */
static void tsc_sample(int64_t *ns, uint64_t *tsc)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < TSC_CAL_TRIES; i++) {
		uint64_t t0 = host_rdtsc();
		int64_t n = (int64_t)clock_raw_ns();
		uint64_t t1 = host_rdtsc();

		if (t1 - t0 < best) {
			best = t1 - t0;
			*ns = n;
			*tsc = t0 + (t1 - t0) / 2;
		}
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int host_tsc_hz(uint64_t *hz, const char **method)
{
	uint64_t w[TSC_CAL_WINDOWS];
	char buf[64];

	*hz = 0;
	if (file_read_line(TSC_SYSFS, buf, sizeof(buf)) == 0 && strtoull(buf, NULL, 10) > 0) {
		*hz = strtoull(buf, NULL, 10) * 1000;
		*method = "sysfs";
		return 0;
	}
	for (int i = 0; i < TSC_CAL_WINDOWS; i++) {
		int64_t n0, n1;
		uint64_t t0, t1;

		tsc_sample(&n0, &t0);
		do
			tsc_sample(&n1, &t1);
		while (n1 - n0 < TSC_CAL_WINDOW_NS);
		if (t1 <= t0)
			return -1;
		w[i] = (uint64_t)((double)(t1 - t0) * 1e9 / (double)(n1 - n0));
	}
	qsort(w, TSC_CAL_WINDOWS, sizeof(w[0]), cmp_u64);
	*hz = w[TSC_CAL_WINDOWS / 2];
	*method = "monotonic_raw";
	return 0;
}

double host_tsc_error_ppm(uint64_t guest_hz, uint64_t host_hz)
{
	return host_hz ? ((double)guest_hz - (double)host_hz) * 1e6 / (double)host_hz : 0;
}

/* ---- judging ----------------------------------------------------------------------------- */

/* What the CPUID vendor signature says this host runs under. */
static const char *hv_name(const char *vendor)
{
	static const struct {
		const char *sig, *name;
	} known[] = {
		{ "KVMKVMKVM", "KVM" }, { "Microsoft Hv", "Hyper-V" }, { "VMwareVMware", "VMware" },
		{ "XenVMMXenVMM", "Xen" }, { "TCGTCGTCGTCG", "QEMU TCG" }, { "bhyve bhyve ", "bhyve" },
		{ "ACRNACRNACRN", "ACRN" }, { " lrpepyh  vr", "Parallels" }, { "VBoxVBoxVBox", "VirtualBox" },
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(vendor, known[i].sig))
			return known[i].name;
	return NULL;
}

void host_kvm_flavour(const struct host_facts *f, struct kvm_flavour *k)
{
	const char *hv = hv_name(f->hv_vendor), *mod, *tech;
	char where[128];

	memset(k, 0, sizeof(*k));
	k->nested = f->cpuid_hypervisor;
	k->exec = EXEC_UNKNOWN;
	if (!f->kvm_exists) {
		k->backend = KVM_BACKEND_NONE;
		if (!strcmp(f->kvm_path, "none"))
			snprintf(k->why, sizeof(k->why), HOST_KVM_DEVICE_ENV "=none says to use no KVM");
		else
			snprintf(k->why, sizeof(k->why), "there is no %s", f->kvm_path[0] ?
				 f->kvm_path : HOST_KVM_DEVICE_DEFAULT);
		snprintf(k->label, sizeof(k->label), "kvm (unavailable: %s)", k->why);
		return;
	}
	if (f->kvm_open_errno || f->kvm_api < 0 || f->kvm_vm_errno > 0) {
		k->backend = KVM_BACKEND_UNUSABLE;
		if (f->kvm_open_errno)
			snprintf(k->why, sizeof(k->why), "%s cannot be opened read-write: %s",
				 f->kvm_path, strerror(f->kvm_open_errno));
		else if (f->kvm_api < 0)
			snprintf(k->why, sizeof(k->why), "%s does not answer KVM_GET_API_VERSION: %s",
				 f->kvm_path, strerror(f->kvm_api_errno));
		else
			snprintf(k->why, sizeof(k->why), "%s refuses KVM_CREATE_VM: %s", f->kvm_path,
				 strerror(f->kvm_vm_errno));
		snprintf(k->label, sizeof(k->label), "kvm (unusable: %s)", k->why);
		return;
	}
	if (f->mod_kvm_pvm && !f->mod_kvm_intel && !f->mod_kvm_amd) {
		k->backend = KVM_BACKEND_PVM;
		k->exec = EXEC_EMULATED;
		snprintf(k->label, sizeof(k->label),
			 "kvm (kvm_pvm: unmodified guest run by KVM's instruction emulator)");
		return;
	}
	if (f->mod_kvm_intel || (!f->mod_kvm_amd && f->flag_vmx)) {
		k->backend = KVM_BACKEND_INTEL;
		mod = "kvm_intel";
		tech = "hardware VMX";
	} else if (f->mod_kvm_amd || f->flag_svm) {
		k->backend = KVM_BACKEND_AMD;
		mod = "kvm_amd";
		tech = "hardware SVM";
	} else {
		k->backend = KVM_BACKEND_OTHER;
		snprintf(k->why, sizeof(k->why), "%s works, but no kvm_intel, kvm_amd or kvm_pvm "
			 "module and no vmx/svm flag says what runs the guest", f->kvm_path);
		snprintf(k->label, sizeof(k->label), "kvm (backend not recognised)");
		return;
	}
	k->exec = EXEC_NATIVE;
	if (!k->nested)
		snprintf(where, sizeof(where), "bare metal");
	else if (hv)
		snprintf(where, sizeof(where), "nested: this host is itself a %s guest", hv);
	else if (f->hv_vendor[0])
		snprintf(where, sizeof(where), "nested: this host is itself a guest of '%s'",
			 f->hv_vendor);
	else
		snprintf(where, sizeof(where), "nested: this host is itself a virtual machine");
	snprintf(k->label, sizeof(k->label), "kvm (%s, %s, %s)", mod, tech, where);
}

const char *host_accel_label(const char *accel, const struct kvm_flavour *k)
{
	return accel && !strcmp(accel, "kvm") ? k->label : "tcg";
}

enum exec_mode host_accel_exec(const char *accel, const struct kvm_flavour *k)
{
	/* TCG translates guest code into host code: a register-only loop runs at host speed */
	return accel && !strcmp(accel, "kvm") ? k->exec : EXEC_NATIVE;
}

const char *host_exec_name(enum exec_mode e)
{
	return e == EXEC_NATIVE ? "native" : e == EXEC_EMULATED ? "emulated" : "unknown";
}

enum exec_mode host_exec_parse(const char *s)
{
	return !s ? EXEC_UNKNOWN : !strcmp(s, "native") ? EXEC_NATIVE
	       : !strcmp(s, "emulated") ? EXEC_EMULATED : EXEC_UNKNOWN;
}

static int kvm_usable(const struct kvm_flavour *k)
{
	return k->backend != KVM_BACKEND_NONE && k->backend != KVM_BACKEND_UNUSABLE;
}

int host_accel_choose(const char *requested, const struct kvm_flavour *k, const char **chosen,
		      char *why, size_t whylen)
{
	const char *r = requested ? requested : "auto";

	if (!strcmp(r, "tcg")) {
		*chosen = "tcg";
		snprintf(why, whylen, "tcg, as asked");
		return KVMIO_EXIT_OK;
	}
	if (!strcmp(r, "kvm")) {
		if (!kvm_usable(k)) {
			snprintf(why, whylen, "--accel kvm: %s (use --accel tcg or auto)", k->why);
			return KVMIO_EXIT_BADCONFIG;
		}
		*chosen = "kvm";
		snprintf(why, whylen, "kvm, as asked: %s", k->label);
		return KVMIO_EXIT_OK;
	}
	if (strcmp(r, "auto")) {
		snprintf(why, whylen, "unknown accelerator '%s' (auto, kvm or tcg)", r);
		return KVMIO_EXIT_BADCONFIG;
	}
	switch (k->backend) {
	case KVM_BACKEND_INTEL:
	case KVM_BACKEND_AMD:
		*chosen = "kvm";
		snprintf(why, whylen, "auto: kvm, because %s", k->label);
		return KVMIO_EXIT_OK;
	case KVM_BACKEND_PVM:
		snprintf(why, whylen, "auto: tcg, because /dev/kvm is kvm_pvm and this guest is not "
			 "PVM-aware (KVM would run it in its instruction emulator)");
		break;
	case KVM_BACKEND_OTHER:
		snprintf(why, whylen, "auto: tcg, because %s", k->why);
		break;
	default:
		snprintf(why, whylen, "auto: tcg, because %s", k->why);
		break;
	}
	*chosen = "tcg";
	return KVMIO_EXIT_OK;
}

double host_default_timeout(double base_s, enum exec_mode exec)
{
	return exec == EXEC_EMULATED ? base_s * HOST_EMULATED_DEADLINE_SCALE : base_s;
}

int host_exec_disagrees(enum exec_mode expected, const char *label, const char *guest_exec,
			char *buf, size_t len)
{
	enum exec_mode g = host_exec_parse(guest_exec);

	buf[0] = '\0';
	if (expected == EXEC_UNKNOWN || g == EXEC_UNKNOWN || g == expected)
		return 0;
	snprintf(buf, len, "the guest measured exec=%s, but %s should run it %s: its figures may "
		 "not come from what the label says", host_exec_name(g), label,
		 expected == EXEC_NATIVE ? "natively" : "in an instruction emulator");
	return 1;
}

const struct boot_path host_boot_paths[] = {
	{ "bios", "pc" }, { "bios", "q35" }, { "pvh", "microvm" }, { "pvh", "pc" }, { "uefi", "q35" },
};
const size_t host_nboot_paths = sizeof(host_boot_paths) / sizeof(host_boot_paths[0]);

int host_path_verdict(const struct host_facts *f, const struct kvm_flavour *k,
		      const char *firmware, const char *machine, const char *accel, char *why,
		      size_t whylen)
{
	int uefi = !strcmp(firmware, "uefi");

	why[0] = '\0';
	if (f->all_read && !f->qemu_version[0]) {
		snprintf(why, whylen, "QEMU (%s) does not run", f->qemu);
		return 0;
	}
	if (uefi && f->all_read && !f->ovmf_code[0]) {
		snprintf(why, whylen, "no OVMF firmware (apt-get install ovmf)");
		return 0;
	}
	if (!strcmp(accel, "tcg")) {
		if (f->all_read && !f->qemu_tcg) {
			snprintf(why, whylen, "this QEMU has no TCG accelerator");
			return 0;
		}
		snprintf(why, whylen, "emulation figures, not KVM figures");
		return 1;
	}
	if (!kvm_usable(k)) {
		snprintf(why, whylen, "%s", k->why);
		return 0;
	}
	if (f->all_read && !f->qemu_kvm) {
		snprintf(why, whylen, "this QEMU has no KVM accelerator");
		return 0;
	}
	switch (k->backend) {
	case KVM_BACKEND_PVM:
		if (uefi) {
			snprintf(why, whylen, "uefi under kvm_pvm: OVMF executes x87 instructions "
				 "(fwait, fninit) that KVM's instruction emulator lacks; QEMU stops "
				 "with 'KVM internal error'");
			return 0;
		}
		snprintf(why, whylen, "%s/%s under kvm_pvm: boots, but every guest instruction "
			 "runs in KVM's instruction emulator (about 10x slower than TCG): emulator "
			 "figures, not hardware-virtualization figures", firmware, machine);
		return 1;
	case KVM_BACKEND_OTHER:
		snprintf(why, whylen, "unknown: %s", k->why);
		return 0;
	default:
		snprintf(why, whylen, "%s", k->label);
		return 1;
	}
}

const char *host_accel_failure(const char *err)
{
	static const struct {
		const char *pattern, *cause;
	} causes[] = {
		{ "emulation failure", "KVM internal error: emulation failure (KVM's instruction "
		  "emulator met an instruction it cannot run)" },
		{ "KVM internal error", "KVM internal error (KVM could not run the guest)" },
		{ "failed to initialize kvm", "QEMU failed to initialize KVM" },
		{ "failed to initialize KVM", "QEMU failed to initialize KVM" },
		{ "Could not access KVM kernel module", "QEMU could not access the KVM kernel module" },
		{ "KVM: entry failed", "KVM could not enter the guest (hardware entry failure)" },
		{ "kvm run failed", "KVM_RUN failed" },
		{ "invalid accelerator", "this QEMU lacks the accelerator asked for" },
		{ "no accelerator found", "QEMU found no usable accelerator" },
	};

	if (!err)
		return NULL;
	for (size_t i = 0; i < sizeof(causes) / sizeof(causes[0]); i++)
		if (strstr(err, causes[i].pattern))
			return causes[i].cause;
	return NULL;
}

/* ---- kvmio host -------------------------------------------------------------------------- */

static const char *yes_no(int v)
{
	return v ? "yes" : "no";
}

static const char *backend_module(const struct host_facts *f)
{
	return f->mod_kvm_intel ? "kvm_intel" : f->mod_kvm_amd ? "kvm_amd"
	       : f->mod_kvm_pvm ? "kvm_pvm" : f->mod_kvm ? "kvm (no backend module)" : "none";
}

static void describe_device(const struct host_facts *f, char *buf, size_t len)
{
	if (!f->kvm_exists)
		snprintf(buf, len, "absent");
	else if (f->kvm_open_errno)
		snprintf(buf, len, "present, unusable: open: %s", strerror(f->kvm_open_errno));
	else if (f->kvm_api < 0)
		snprintf(buf, len, "present, unusable: KVM_GET_API_VERSION: %s",
			 strerror(f->kvm_api_errno));
	else if (f->kvm_vm_errno > 0)
		snprintf(buf, len, "present, unusable: KVM_CREATE_VM: %s", strerror(f->kvm_vm_errno));
	else
		snprintf(buf, len, "present, usable (API %d, KVM_CREATE_VM ok)", f->kvm_api);
}

static void describe_self(const struct host_facts *f, char *buf, size_t len)
{
	const char *hv = hv_name(f->hv_vendor);

	if (!f->cpuid_hypervisor)
		snprintf(buf, len, "bare metal (CPUID hypervisor bit clear)");
	else
		snprintf(buf, len, "a virtual machine (CPUID hypervisor bit; vendor '%s'%s%s)",
			 f->hv_vendor, hv ? ": " : "", hv ? hv : "");
}

static json_t *host_json(const struct host_facts *f, const struct kvm_flavour *k,
			 const char *chosen, const char *why)
{
	json_t *o = json_object(), *paths = json_array();
	char dev[256], self[256];

	describe_device(f, dev, sizeof(dev));
	describe_self(f, self, sizeof(self));
	json_object_set_new(o, "kvm_device", json_pack("{s:s,s:b,s:b,s:i,s:s}", "path", f->kvm_path,
		"present", f->kvm_exists, "usable", kvm_usable(k), "api_version", f->kvm_api,
		"state", dev));
	json_object_set_new(o, "kvm_module", json_string(backend_module(f)));
	json_object_set_new(o, "tsc", json_pack("{s:I,s:s}", "hz", (json_int_t)f->tsc_hz,
		"method", f->tsc_hz ? f->tsc_method : ""));
	json_object_set_new(o, "nested_param", json_string(f->nested));
	json_object_set_new(o, "cpu", json_pack("{s:s,s:b,s:b,s:b,s:s,s:s}", "model", f->cpu_model,
		"vmx", f->flag_vmx, "svm", f->flag_svm, "hypervisor", f->cpuid_hypervisor,
		"hv_vendor", f->hv_vendor, "this_host", self));
	json_object_set_new(o, "kvm_flavour", json_pack("{s:s,s:s,s:s}", "label", k->label,
		"exec", host_exec_name(k->exec), "why", k->why));
	json_object_set_new(o, "auto", json_pack("{s:s,s:s}", "accel", chosen, "why", why));
	json_object_set_new(o, "vhost_net", json_boolean(f->vhost_net));
	json_object_set_new(o, "net_tun", json_boolean(f->net_tun));
	json_object_set_new(o, "netns", json_boolean(f->netns));
	json_object_set_new(o, "io_uring", json_boolean(f->io_uring));
	json_object_set_new(o, "qemu", json_pack("{s:s,s:s,s:b,s:b}", "binary", f->qemu,
		"version", f->qemu_version, "kvm", f->qemu_kvm, "tcg", f->qemu_tcg));
	json_object_set_new(o, "ovmf_code", json_string(f->ovmf_code));
	json_object_set_new(o, "gnuplot", json_boolean(f->gnuplot));
	json_object_set_new(o, "chromium", json_boolean(f->chromium));
	for (size_t i = 0; i < host_nboot_paths; i++) {
		static const char *const accels[] = { "kvm", "tcg" };

		for (int a = 0; a < 2; a++) {
			char w[512];
			int ok = host_path_verdict(f, k, host_boot_paths[i].firmware,
						   host_boot_paths[i].machine, accels[a], w, sizeof(w));

			json_array_append_new(paths, json_pack("{s:s,s:s,s:s,s:b,s:s}", "firmware",
				host_boot_paths[i].firmware, "machine", host_boot_paths[i].machine,
				"accel", accels[a], "works", ok, "why", w));
		}
	}
	json_object_set_new(o, "boot_paths", paths);
	return o;
}

static void host_text(FILE *out, const struct host_facts *f, const struct kvm_flavour *k,
		      const char *chosen, const char *why)
{
	char dev[256], self[256];

	describe_device(f, dev, sizeof(dev));
	describe_self(f, self, sizeof(self));
	fprintf(out, "KVM device:          %s: %s\n", f->kvm_path, dev);
	fprintf(out, "KVM module:          %s\n", backend_module(f));
	fprintf(out, "hardware virt flags: vmx=%s svm=%s (/proc/cpuinfo)\n", yes_no(f->flag_vmx),
		yes_no(f->flag_svm));
	fprintf(out, "this host:           %s\n", self);
	fprintf(out, "nesting offered:     %s\n", f->nested[0] ? f->nested : "n/a (no kvm_intel or "
		"kvm_amd module)");
	fprintf(out, "CPU:                 %s\n", f->cpu_model[0] ? f->cpu_model : "unknown");
	if (f->tsc_hz)
		fprintf(out, "TSC:                 %llu Hz (%s)\n", (unsigned long long)f->tsc_hz,
			f->tsc_method);
	else
		fprintf(out, "TSC:                 unknown\n");
	fprintf(out, "KVM flavour:         %s\n", k->label);
	fprintf(out, "--accel auto:        %s (%s)\n", chosen, why);
	fprintf(out, "vhost-net:           %s\n", yes_no(f->vhost_net));
	fprintf(out, "/dev/net/tun:        %s\n", yes_no(f->net_tun));
	fprintf(out, "network namespaces:  %s\n", yes_no(f->netns));
	fprintf(out, "io_uring:            %s\n", yes_no(f->io_uring));
	fprintf(out, "QEMU:                %s: %s; accelerators:%s%s\n", f->qemu,
		f->qemu_version[0] ? f->qemu_version : "does not run", f->qemu_kvm ? " kvm" : "",
		f->qemu_tcg ? " tcg" : "");
	fprintf(out, "OVMF:                %s\n", f->ovmf_code[0] ? f->ovmf_code : "not found");
	fprintf(out, "gnuplot:             %s\n", yes_no(f->gnuplot));
	fprintf(out, "chromium:            %s\n", yes_no(f->chromium));
	fprintf(out, "\nboot path x accelerator:\n");
	for (size_t i = 0; i < host_nboot_paths; i++) {
		static const char *const accels[] = { "kvm", "tcg" };

		for (int a = 0; a < 2; a++) {
			char w[512], name[32];
			int ok = host_path_verdict(f, k, host_boot_paths[i].firmware,
						   host_boot_paths[i].machine, accels[a], w, sizeof(w));

			snprintf(name, sizeof(name), "%s/%s %s", host_boot_paths[i].firmware,
				 host_boot_paths[i].machine, accels[a]);
			fprintf(out, "  %-18s %-3s  %s\n", name, ok ? "yes" : "no", w);
		}
	}
}

int cmd_host(int argc, char **argv)
{
	const char *qemu_env = getenv("KVMIO_QEMU"), *chosen = "tcg";
	struct host_facts f;
	struct kvm_flavour k;
	char why[512];
	int json = 0;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--noise")) {
			double secs = 2;
			char *end;

			if (i + 1 < argc && argv[i + 1][0] != '-') {
				secs = strtod(argv[++i], &end);
				if (*end || !(secs > 0 && secs <= 600)) {
					fprintf(stderr, "kvmio: host: --noise: bad duration '%s' "
						"(seconds, over 0 and up to 600)\n", argv[i]);
					return KVMIO_EXIT_BADCONFIG;
				}
			}
			if (i + 1 < argc) {
				fprintf(stderr, "kvmio: host: --noise takes no more options ('%s')\n",
					argv[i + 1]);
				return KVMIO_EXIT_BADCONFIG;
			}
			return noise_command(secs);
		} else if (!strcmp(argv[i], "--storage")) {
			long reads = STORAGE_COMMAND_READS;
			char *end;

			if (i + 1 >= argc) {
				fprintf(stderr, "kvmio: host: --storage needs a FILE (a disk image, or "
					"any file on the storage to probe)\n");
				return KVMIO_EXIT_BADCONFIG;
			}
			const char *path = argv[++i];

			if (i + 1 < argc) {
				reads = strtol(argv[++i], &end, 10);
				if (*end || reads < 1 || reads > STORAGE_MAX_READS) {
					fprintf(stderr, "kvmio: host: --storage: bad read count '%s' (1 "
						"to %d)\n", argv[i], STORAGE_MAX_READS);
					return KVMIO_EXIT_BADCONFIG;
				}
			}
			if (i + 1 < argc) {
				fprintf(stderr, "kvmio: host: --storage takes no more options ('%s')\n",
					argv[i + 1]);
				return KVMIO_EXIT_BADCONFIG;
			}
			return storage_command(path, (int)reads);
		} else {
			fprintf(stderr, "kvmio: host: unknown option '%s' (try 'kvmio help')\n", argv[i]);
			return KVMIO_EXIT_BADCONFIG;
		}
	}
	host_facts_read_all(&f, qemu_env && *qemu_env ? qemu_env : "qemu-system-x86_64");
	host_kvm_flavour(&f, &k);
	host_accel_choose("auto", &k, &chosen, why, sizeof(why));
	if (json) {
		json_t *o = host_json(&f, &k, chosen, why);

		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
	} else {
		host_text(stdout, &f, &k, chosen, why);
	}
	return fflush(stdout) == 0 ? KVMIO_EXIT_OK : KVMIO_EXIT_IO;
}
