/* `kvmio boot`: the guest under QEMU, with its disks, NICs, peers and tap namespace (boot.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sched.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "analysis/report.h"
#include "boot/boot.h"
#include "boot/hostinfo.h"
#include "boot/domxml.h"
#include "boot/launch.h"
#include "boot/libvirt.h"
#include "boot/net.h"
#include "boot/peer.h"
#include "boot/pin.h"
#include "boot/qemu.h"
#include "boot/qemubin.h"
#include "lib/args.h"
#include "lib/file.h"
#include "lib/proc.h"
#include "options.h"
#include "proto/proto.h"

#define BOOT_TIMEOUT_DEFAULT_S 120.0 /* host deadline of one boot, before scaling (hostinfo.h) */

const char boot_options_help[] =
	"boot options:\n"
	"  --firmware bios|uefi|pvh   entry path (default bios: multiboot)\n"
	"  --image FILE               boot the disk image FILE (build/kvmio.img, or a copy from\n"
	"                             kvmio image FILE --cmdline ...: its guest options) through\n"
	"                             GRUB, under SeaBIOS (bios) or OVMF (uefi)\n"
	"  --machine pc|q35|microvm   default: bios->pc, uefi->q35, pvh->microvm\n"
	"  --accel auto|kvm|tcg       auto: kvm when /dev/kvm is hardware-assisted (kvm_intel,\n"
	"                             kvm_amd) and usable, else tcg; the report says why\n"
	"  --timeout S                host deadline in seconds (default 120; x20 when the\n"
	"                             accelerator emulates each instruction, as kvm_pvm does)\n"
	"  --memory MIB               guest RAM (default 128, uefi 256)\n"
	"  --no-guest-check           hand the guest options over unchecked (by default they are\n"
	"                             checked against the guest's option table first)\n"
	"  --no-debug-exit            leave out isa-debug-exit: the guest powers off through ACPI\n"
	"                             or UEFI as under other VMMs; the status comes from the log\n"
	"  --log FILE                 write the raw serial output to FILE\n"
	"  --csv | --json             output format (default: table)\n"
	"  --disk SPEC                add a disk (repeatable; the guest's dev=N is the N-th --disk):\n"
	"      ide|ahci|nvme|virtio-blk|virtio-scsi[,transport=legacy|modern|transitional|mmio|\n"
	"      mmio-modern][,backend=null|file=PATH]   (mmio, mmio-modern: virtio-blk on microvm)\n"
	"      [,file=PATH (short for backend=file=PATH)]\n"
	"      [,size=SIZE][,cache=none|writethrough|writeback|directsync|unsafe]\n"
	"      [,aio=threads|native|io_uring][,format=raw|qcow2][,latency-ns=N][,readonly=on|off]\n"
	"      [,inject=eio-read|eio-write][,iothread=on|off|NAME]   (ide: -M pc only; disks in\n"
	"      the order ide, ahci, nvme, virtio-blk, virtio-scsi; ahci, nvme: pc or q35; nvme: no\n"
	"      readonly=on, the guest's dbbuf= picks its doorbells; virtio-scsi: a virtio-scsi-pci\n"
	"      controller per disk, the scsi-hd at target 0; iothread: virtio only, off = QEMU's main\n"
	"      loop (default), on = an iothread of its own, NAME = one shared by the disks naming it)\n"
	"      [,packed=on|off][,queues=N]   (virtio: offer packed rings; virtio-blk: num-queues=N)\n"
	"  --net SPEC                 add a NIC (repeatable; the guest's dev=N is the N-th --net, at\n"
	"                             PCI slot 0x18+N):\n"
	"      e1000|e1000-82545em|e1000-82544gc|e1000e|rtl8139|virtio-net[,transport=legacy|modern|\n"
	"      transitional|mmio|mmio-modern][,topology=peer|loop|tap][,vhost=on|off]\n"
	"      [,mac=XX:XX:XX:XX:XX:XX]\n"
	"      [,peer-mode=reflect|sink|flood][,peer-rate=PPS][,peer-size=N][,peer-count=N]\n"
	"      [,peer-drop-every=N][,peer-corrupt-every=N]   (pc or q35; microvm: virtio-net)\n"
	"      [,packed=on|off]   (virtio-net: offer packed rings)\n"
	"  --disk/--net SPEC,prop.NAME=VALUE   NAME=VALUE added to that disk's or NIC's -device,\n"
	"                             NAME checked against the binary's -device MODEL,help first\n"
	"  --tap-cmd CMD              topology=tap: run CMD (sh -c) in the namespace once the guest\n"
	"                             is ready (the guest at 10.199.0.2, the host side 10.199.0.1)\n"
	"  --pin CPUS                 QEMU's vCPU thread on the first CPU of the list (1, 0-1,\n"
	"                             0,2-3), its other threads on the rest (or the same one)\n"
	"  --qemu PATH                the QEMU binary (default: KVMIO_QEMU, else\n"
	"                             qemu-system-x86_64 in PATH); asked once for its version and\n"
	"                             devices, refused if missing or not executable\n"
	"  --qemu-arg ARG             append ARG to the QEMU command line (repeatable)\n"
	"  --dry-run                  print the QEMU command line and exit\n"
	"  --connect [URI]            run the guest through libvirt (a transient domain) at URI;\n"
	"                             without one (or --connect=): qemu:///embed?root=TMPDIR,\n"
	"                             libvirt's in-process QEMU driver (no daemon). Null disks and\n"
	"                             loop NICs as QEMU arguments in the XML (docs/libvirt.md)\n"
	"  --print-xml                print the libvirt domain XML and exit\n"
	"  --no-upload                --connect to another host: the kernel (or --image) is there\n"
	"                             at this path already (default: uploaded once into the\n"
	"                             host's storage pool kvmio, a volume named by its SHA-256)\n"
	"\n"
	"environment: KVMIO_IMAGE_DIR (guest images; default: next to kvmio, else ../lib/kvmio\n"
	"  beside it), KVMIO_QEMU,\n"
	"  KVMIO_OVMF_CODE, KVMIO_OVMF_VARS, KVMIO_KVM_DEVICE (default /dev/kvm; 'none': act as\n"
	"  if there were no KVM), KVMIO_STATE_DIR (where kvmio calibrate keeps this host's last\n"
	"  calibration for kvmio report; default $XDG_STATE_HOME/kvmio, ~/.local/state/kvmio).\n";

struct boot_args {
	struct qemu_options q;
	double timeout_s;             /* 0: not given (the default depends on the accelerator) */
	const char *log_file;
	enum report_format format;
	int dry_run;
	int no_guest_check;           /* 1: hand the guest options over unchecked */
	const char *tap_cmd;
	const char *qemu;             /* --qemu PATH, or NULL */
	int pin;                      /* 1: --pin given */
	struct pin_cpus pin_cpus;
	int libvirt;                  /* 1: --connect or --print-xml (libvirt.h) */
	const char *connect;          /* its URI; NULL: the embedded driver */
	int print_xml;
	int no_upload;                /* 1: a remote host has the guest image at its path here */
};


static int parse_boot_args(int argc, char **argv, struct boot_args *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	a->q.guest_args = calloc((size_t)argc + 1, sizeof(char *));
	a->q.qemu_args = calloc((size_t)argc + 1, sizeof(char *));
	a->q.disks = calloc((size_t)argc + 1, sizeof(char *));
	a->q.nets = calloc((size_t)argc + 1, sizeof(char *));
	if (!a->q.guest_args || !a->q.qemu_args || !a->q.disks || !a->q.nets)
		return KVMIO_EXIT_IO;
	for (i = 0; i < argc; i++) {
		const char *arg = argv[i], *v;
		int missing = 0;

		if (strcmp(arg, "--") == 0) {
			for (i++; i < argc; i++)
				a->q.guest_args[a->q.nguest_args++] = argv[i];
			break;
		}
		if (arg[0] != '-') { /* a guest option without "--" */
			a->q.guest_args[a->q.nguest_args++] = argv[i];
			continue;
		}
		if (strcmp(arg, "--csv") == 0) {
			a->format = REPORT_CSV;
		} else if (strcmp(arg, "--json") == 0) {
			a->format = REPORT_JSON;
		} else if (strcmp(arg, "--dry-run") == 0) {
			a->dry_run = 1;
		} else if (strcmp(arg, "--no-debug-exit") == 0) {
			a->q.no_debug_exit = 1;
		} else if (strcmp(arg, "--no-guest-check") == 0) {
			a->no_guest_check = 1;
		} else if (strcmp(arg, "--connect") == 0 || strncmp(arg, "--connect=", 10) == 0) {
			/* --connect URI takes the next word only when it is a URI (holds ":/") */
			a->libvirt = 1;
			if (arg[9] == '=')
				a->connect = arg[10] ? arg + 10 : NULL;
			else if (i + 1 < argc && strstr(argv[i + 1], ":/"))
				a->connect = argv[++i];
		} else if (strcmp(arg, "--print-xml") == 0) {
			a->libvirt = a->print_xml = 1;
		} else if (strcmp(arg, "--no-upload") == 0) {
			a->no_upload = 1;
		} else if ((v = option_value(argc, argv, &i, "--firmware", &missing))) {
			a->q.firmware = v;
		} else if ((v = option_value(argc, argv, &i, "--image", &missing))) {
			a->q.boot_image = v;
		} else if ((v = option_value(argc, argv, &i, "--machine", &missing))) {
			a->q.machine = v;
		} else if ((v = option_value(argc, argv, &i, "--accel", &missing))) {
			a->q.accel = v;
		} else if ((v = option_value(argc, argv, &i, "--log", &missing))) {
			a->log_file = v;
		} else if ((v = option_value(argc, argv, &i, "--disk", &missing))) {
			a->q.disks[a->q.ndisks++] = (char *)v;
		} else if ((v = option_value(argc, argv, &i, "--net", &missing))) {
			a->q.nets[a->q.nnets++] = (char *)v;
		} else if ((v = option_value(argc, argv, &i, "--tap-cmd", &missing))) {
			a->tap_cmd = v;
		} else if ((v = option_value(argc, argv, &i, "--pin", &missing))) {
			char err[256];

			if (pin_resolve(v, &a->pin_cpus, err, sizeof(err)) != 0)
				return usage_error("boot: --pin: %s", err);
			a->pin = 1;
		} else if ((v = option_value(argc, argv, &i, "--qemu", &missing))) {
			a->qemu = v;
		} else if ((v = option_value(argc, argv, &i, "--qemu-arg", &missing))) {
			a->q.qemu_args[a->q.nqemu_args++] = (char *)v;
		} else if ((v = option_value(argc, argv, &i, "--timeout", &missing))) {
			if (arg_double(v, 0, 1e6, &a->timeout_s) != 0 || a->timeout_s <= 0)
				return usage_error("boot: bad --timeout '%s' (seconds > 0)", v);
		} else if ((v = option_value(argc, argv, &i, "--memory", &missing))) {
			uint64_t m;

			if (arg_u64(v, 10, &m) != 0 || m < 16 || m > 1048576)
				return usage_error("boot: bad --memory '%s' (MiB, 16 or more)", v);
			a->q.memory_mib = (int)m;
		} else if (missing) {
			return usage_error("boot: option '%s' needs a value", arg);
		} else {
			return usage_error("boot: unknown option '%s'", arg);
		}
	}
	return KVMIO_EXIT_OK;
}

#define INSTALLED_IMAGE_DIR "../lib/kvmio" /* from PREFIX/bin: make install's layout */

/* Where the guest images are: KVMIO_IMAGE_DIR, else beside kvmio (the build tree), else
 * PREFIX/lib/kvmio beside an installed PREFIX/bin/kvmio. */
static char *image_dir(void)
{
	const char *env = getenv("KVMIO_IMAGE_DIR");
	char exe[PATH_MAX], *dir, *installed = NULL, probe[PATH_MAX + 64];
	struct stat st;

	if (env && *env)
		return strdup(env);
	self_exe(exe, sizeof(exe));
	dir = strchr(exe, '/') ? dirname(exe) : ".";
	snprintf(probe, sizeof(probe), "%s/%s", dir, qemu_image_name("bios"));
	if (stat(probe, &st) != 0 && asprintf(&installed, "%s/" INSTALLED_IMAGE_DIR, dir) > 0) {
		snprintf(probe, sizeof(probe), "%s/%s", installed, qemu_image_name("bios"));
		if (stat(probe, &st) == 0)
			return installed;
		free(installed);
	}
	return strdup(dir);
}

char *boot_image_dir(void) { return image_dir(); }

/* UEFI: the boot volume (EFI/BOOT/BOOTX64.EFI, kvmio.cmd) and a writable variable store. */
static int prepare_uefi(const char *tmp, const struct qemu_command *cmd, const char *vars,
			const struct qemu_options *q, char **esp, char **vars_copy)
{
	char *boot = NULL, *loader = NULL, *cmdfile = NULL, *guest = NULL, *line = NULL;
	int rc = -1;

	if (asprintf(esp, "%s/esp", tmp) < 0 || asprintf(vars_copy, "%s/OVMF_VARS.fd", tmp) < 0)
		return -1;
	if (q->boot_image) /* --image: the disk image is the boot volume */
		return file_copy(vars, *vars_copy);
	guest = qemu_join_guest_args(q->guest_args, q->nguest_args);
	if (!guest || asprintf(&boot, "%s/EFI/BOOT", *esp) < 0 ||
	    asprintf(&loader, "%s/BOOTX64.EFI", boot) < 0 ||
	    asprintf(&cmdfile, "%s/kvmio.cmd", *esp) < 0 || asprintf(&line, "%s\n", guest) < 0)
		goto out;
	if (dir_make_all(boot) == 0 && file_copy(cmd->image, loader) == 0 &&
	    file_write(cmdfile, line, strlen(line)) == 0 && file_copy(vars, *vars_copy) == 0)
		rc = 0;
out:
	free(boot);
	free(loader);
	free(cmdfile);
	free(guest);
	free(line);
	return rc;
}

/* ---- boot --net: peers, the tap namespace, --tap-cmd ------------------------------------- */

struct netrun {
	struct qemu_nic nics[QEMU_MAX_NICS];
	int nnics;
	int peer_pid[QEMU_MAX_NICS], peer_fd[QEMU_MAX_NICS];
	struct peer_stats peers[QEMU_MAX_NICS];
	int npeers;
	int udp;                   /* --connect: peers on UDP ports (<interface type='udp'>) */
	unsigned udp_peer[QEMU_MAX_NICS], udp_guest[QEMU_MAX_NICS];
	char *dir;                 /* private: peer sockets, tap-cmd output */
	char netns[64], tap[16];
	int tap_up;
	const char *tap_cmd;
	pid_t tap_pid;
	int tap_status;            /* -1 not run, -2 killed, else exit status */
	char *tap_out;
};

static void netrun_init(struct netrun *nr, const struct boot_args *a)
{
	memset(nr, 0, sizeof(*nr));
	nr->tap_status = -1;
	nr->tap_cmd = a->tap_cmd;
	for (int i = 0; i < a->q.nnets && i < QEMU_MAX_NICS; i++) {
		char e[256];

		if (net_parse_spec(a->q.nets[i], &nr->nics[i], e, sizeof(e)) == 0)
			nr->nnics = i + 1;
	}
	net_netns_name(nr->netns, sizeof(nr->netns));
	net_tap_name(0, nr->tap, sizeof(nr->tap));
}

static int netrun_has(const struct netrun *nr, enum net_topology t)
{
	for (int i = 0; i < nr->nnics; i++)
		if (nr->nics[i].topology == t)
			return 1;
	return 0;
}

static unsigned guest_size(const struct boot_args *a)
{
	char v[32];

	if (net_guest_option(a->q.guest_args, a->q.nguest_args, "size", v, sizeof(v)) != 0)
		return 0;
	return (unsigned)strtoul(v, NULL, 10);
}

static void netrun_dry(const struct netrun *nr, const struct boot_args *a)
{
	for (int i = 0; i < nr->nnics; i++) {
		char **pv;
		char *s;

		if (nr->nics[i].topology != NET_PEER)
			continue;
		pv = net_peer_argv("kvmio", &nr->nics[i], i, "NETDIR", a->timeout_s + 10,
				   guest_size(a));
		s = pv ? qemu_command_string(pv) : NULL;
		printf("# peer (started before QEMU, stopped after): %s\n", s ? s : "?");
		free(s);
		net_argv_free(pv);
	}
	if (netrun_has(nr, NET_TAP)) {
		char *up = net_tap_script(nr->netns, nr->tap, 0);
		char *down = net_tap_script(nr->netns, nr->tap, 1);

		printf("# netns setup (before QEMU):\n");
		for (char *l = up ? strtok(up, "\n") : NULL; l; l = strtok(NULL, "\n"))
			printf("#   %s\n", l);
		if (nr->tap_cmd) {
			char *cv[] = { "ip", "netns", "exec", (char *)nr->netns, "sh", "-c",
				       (char *)nr->tap_cmd, NULL };
			char *s = qemu_command_string(cv);

			printf("# tap-cmd (after the guest's ready record): %s\n", s ? s : "?");
			free(s);
		}
		printf("# netns teardown (after QEMU, always):\n");
		for (char *l = down ? strtok(down, "\n") : NULL; l; l = strtok(NULL, "\n"))
			printf("#   %s\n", l);
		free(up);
		free(down);
	}
	if (netrun_has(nr, NET_PEER))
		printf("# NETDIR: a private temporary directory (peer sockets)\n");
}

/* Start the peers and the tap namespace. 0, or an exit code with the message printed. */
static int netrun_start(struct netrun *nr, const struct boot_args *a)
{
	char exe[4096], err[512];

	if (nr->nnics == 0)
		return KVMIO_EXIT_OK;
	self_exe(exe, sizeof(exe));
	for (int i = 0; i < nr->nnics; i++) {
		char **pv, sock[4096];
		int pid, fd = -1;

		if (nr->nics[i].topology != NET_PEER)
			continue;
		if (nr->udp) {
			if (peer_udp_ports(&nr->udp_peer[i], &nr->udp_guest[i]) != 0) {
				fprintf(stderr, "kvmio: boot: no free UDP port on 127.0.0.1 for the peer "
					"of NIC %d: %s\n", i, strerror(errno));
				return KVMIO_EXIT_IO;
			}
			pv = net_peer_argv_udp(exe, &nr->nics[i], i, nr->udp_peer[i],
					       nr->udp_guest[i], a->timeout_s + 10, guest_size(a));
			pid = pv ? peer_spawn_udp(pv, nr->udp_peer[i], 5.0, &fd) : -1;
		} else {
			pv = net_peer_argv(exe, &nr->nics[i], i, nr->dir, a->timeout_s + 10,
					   guest_size(a));
			net_peer_socket(nr->dir, i, sock, sizeof(sock));
			pid = pv ? peer_spawn(pv, sock, 5.0, &fd) : -1;
		}
		net_argv_free(pv);
		if (pid < 0) {
			fprintf(stderr, "kvmio: boot: cannot start kvmio peer for NIC %d\n", i);
			return KVMIO_EXIT_IO;
		}
		nr->peer_pid[nr->npeers] = pid;
		nr->peer_fd[nr->npeers] = fd;
		nr->peers[nr->npeers].dev = i;
		nr->npeers++;
	}
	if (netrun_has(nr, NET_TAP)) {
		if (net_tap_setup(nr->netns, nr->tap, err, sizeof(err)) != 0) {
			fprintf(stderr, "kvmio: boot: %s\n", err);
			return KVMIO_EXIT_BADCONFIG;
		}
		nr->tap_up = 1;
	}
	return KVMIO_EXIT_OK;
}

/* launch tick: start --tap-cmd once the guest says ready. */
static void netrun_tick(void *ctx, const char *out, size_t len)
{
	struct netrun *nr = ctx;
	char path[4200];
	pid_t pid;

	if (!nr->tap_cmd || !nr->tap_up || nr->tap_pid || !out ||
	    !memmem(out, len, KVMIO_PROTO_PREFIX " 1 ready ", strlen(KVMIO_PROTO_PREFIX " 1 ready ")))
		return;
	snprintf(path, sizeof(path), "%s/tap-cmd.out", nr->dir);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int o = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		int nul = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (o < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(o, 1) < 0 || dup2(o, 2) < 0)
			_exit(PROC_EXEC_FAILED);
		execlp("ip", "ip", "netns", "exec", nr->netns, "sh", "-c", nr->tap_cmd,
		       (char *)NULL);
		_exit(PROC_EXEC_FAILED);
	}
	nr->tap_pid = pid > 0 ? pid : -1;
	if (pid > 0)
		setpgid(pid, pid);
}

/* What runs every launch tick: --tap-cmd once the guest is ready, --pin once it speaks. */
struct boot_tick {
	struct netrun *nr;
	const struct boot_args *a;
	const struct launch_result *res;   /* its pid */
	struct pin_outcome pin;
	int pin_tried;
};

static void boot_tick(void *ctx, const char *out, size_t len)
{
	struct boot_tick *bt = ctx;

	netrun_tick(bt->nr, out, len);
	/* the first record: QEMU's threads (vCPU, main loop, iothreads, RCU) all exist by now */
	if (bt->a->pin && !bt->a->libvirt && !bt->pin_tried && bt->res->pid > 0 && out &&
	    memmem(out, len, KVMIO_PROTO_PREFIX, strlen(KVMIO_PROTO_PREFIX))) {
		bt->pin_tried = 1;
		pin_apply(bt->res->pid, &bt->a->pin_cpus, &bt->pin);
	}
}

/* --connect --pin: libvirt pinned QEMU's threads (<cputune>) as it set the domain up; read back
 * what it did, before the vCPU runs (libvirt_session.started). */
static void boot_started(void *ctx, int pid)
{
	struct boot_tick *bt = ctx;

	bt->pin_tried = 1;
	if (pid > 0) {
		pin_verify(pid, &bt->a->pin_cpus, &bt->pin);
		return;
	}
	bt->pin.cpus = bt->a->pin_cpus;
	snprintf(bt->pin.why, sizeof(bt->pin.why), "libvirt pinned QEMU's threads (<cputune>); "
		 "they are not on this machine's embedded driver, so not read back");
}

/* After QEMU: wait for --tap-cmd (bounded), stop the peers, remove the namespace. */
static void netrun_stop(struct netrun *nr, double grace_s)
{
	if (nr->tap_pid > 0) {
		int status = 0, done = 0;

		for (int k = 0; k < (int)(grace_s * 100) && !done; k++) {
			done = waitpid(nr->tap_pid, &status, WNOHANG) == nr->tap_pid;
			if (!done)
				usleep(10000);
		}
		if (!done) {
			kill(-nr->tap_pid, SIGKILL);
			kill(nr->tap_pid, SIGKILL);
			waitpid(nr->tap_pid, &status, 0);
			nr->tap_status = -2;
		} else {
			nr->tap_status = WIFEXITED(status) ? WEXITSTATUS(status) : -2;
		}
		if (nr->dir) {
			char path[4200];

			snprintf(path, sizeof(path), "%s/tap-cmd.out", nr->dir);
			nr->tap_out = file_read(path, NULL);
		}
		nr->tap_pid = 0;
	}
	for (int k = 0; k < nr->npeers; k++) {
		int dev = nr->peers[k].dev;

		if (nr->peer_pid[k] <= 0)
			continue;
		if (peer_stop_and_read(nr->peer_pid[k], nr->peer_fd[k], 3.0, &nr->peers[k]) != 0)
			nr->peers[k].valid = 0;
		nr->peers[k].dev = dev;
		nr->peer_pid[k] = 0;
	}
	if (nr->tap_up) {
		net_tap_teardown(nr->netns, nr->tap);
		nr->tap_up = 0;
	}
}

/* topology=tap through the embedded driver: this thread into the tap's namespace, so that the
 * QEMU libvirt starts from it (and libvirt's open of the tap) are there, as `ip netns exec`
 * puts the QEMU backend's. 0, or -1 with err. */
static int netns_enter(const char *ns, char *err, size_t errlen)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
		snprintf(err, errlen, "cannot enter network namespace %s: %s", ns, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* The CPUs this process may run on as a libvirt cpuset ("0,2,3"). 0, or -1. */
static int own_cpus(char *buf, size_t len)
{
	cpu_set_t set;
	size_t used = 0;

	buf[0] = '\0';
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return -1;
	for (int c = 0; c < CPU_SETSIZE && used < len; c++)
		if (CPU_ISSET(c, &set))
			used += (size_t)snprintf(buf + used, len - used, "%s%d", used ? "," : "", c);
	return buf[0] && used < len ? 0 : -1;
}

/* The libvirt domain XML of the boot (domxml.h): serial file and name on the host running QEMU.
 * The guest image by its absolute path (libvirt may run QEMU elsewhere than our directory). */
static int libvirt_xml(const struct boot_args *a, struct qemu_command *cmd, const char *serial,
		       const char *name, const struct netrun *nr, char **xml, char *err,
		       size_t errlen)
{
	char emulator[4096], image[PATH_MAX], cpus[1024];
	struct domxml_params p = { name, emulator, serial, geteuid() == 0,
				   a->pin ? &a->pin_cpus : NULL, nr->udp_peer, nr->udp_guest,
				   NULL };

	/* the embedded driver's QEMU on this machine: kvmio's own CPUs, as the QEMU backend's */
	if (libvirt_serial_to_file(a->connect) && own_cpus(cpus, sizeof(cpus)) == 0)
		p.cpuset = cpus;

	if (path_search(a->q.qemu, emulator, sizeof(emulator)) != 0)
		snprintf(emulator, sizeof(emulator), "%s", a->q.qemu);
	if (cmd->image[0] != '/' && realpath(cmd->image, image))
		snprintf(cmd->image, sizeof(cmd->image), "%s", image);
	return domxml_build(&a->q, cmd, &p, xml, err, errlen);
}

/* After an upload to a remote host (libvirt.h): the XML again, the kernel or --image at path. */
struct libvirt_rebuild {
	struct boot_args *a;
	struct qemu_command *cmd;
	const char *name;
	const struct netrun *nr;
};

static int libvirt_rebuild_xml(void *ctx, const char *path, char **xml, char *err, size_t errlen)
{
	struct libvirt_rebuild *r = ctx;

	if (r->a->q.boot_image) { /* the image is in the QEMU arguments of the boot disk */
		r->a->q.boot_image = path;
		qemu_command_free(r->cmd);
		if (qemu_build_command(&r->a->q, r->cmd, err, errlen) != 0)
			return KVMIO_EXIT_BADCONFIG;
	} else {
		snprintf(r->cmd->image, sizeof(r->cmd->image), "%s", path);
	}
	return libvirt_xml(r->a, r->cmd, NULL, r->name, r->nr, xml, err, errlen);
}

int cmd_boot(int argc, char **argv)
{
	struct boot_args a;
	struct qemu_command cmd;
	struct launch_result res;
	struct report_launch launch;
	struct log log;
	struct netrun nr;
	struct boot_tick tick;
	struct libvirt_session lv;
	const char *ovmf_code = NULL, *ovmf_vars = NULL, *qemu_env = getenv("KVMIO_QEMU");
	char err[4096], msg[1024], *dir = NULL, *tmp = NULL, *esp = NULL, *vars_copy = NULL;
	int rc;

	memset(&nr, 0, sizeof(nr));
	memset(&lv, 0, sizeof(lv));
	rc = parse_boot_args(argc, argv, &a);
	if (rc)
		goto done_args;
	if (a.libvirt)
		a.q.no_debug_exit = 1; /* libvirt has no isa-debug-exit: the guest powers off */
	if (a.libvirt && a.q.boot_image && a.q.boot_image[0] != '/') {
		/* by its absolute path: libvirt's QEMU may not run in our directory */
		static char image[PATH_MAX];

		if (realpath(a.q.boot_image, image))
			a.q.boot_image = image;
	}
	netrun_init(&nr, &a);
	nr.udp = a.libvirt;
	if (a.libvirt && a.connect && strstr(a.connect, "://") && !libvirt_uri_is_local(a.connect) &&
	    netrun_has(&nr, NET_PEER)) {
		/* qemu+ssh://HOST/...: the peer and 127.0.0.1 are this machine's, QEMU is not here */
		rc = usage_error("boot: --connect %s: topology=peer needs QEMU on this machine (the "
				 "peer listens on 127.0.0.1 here); use topology=loop", a.connect);
		goto done_args;
	}
	if (a.libvirt && upload_uri_remote(a.connect) && a.q.firmware &&
	    strcmp(a.q.firmware, "uefi") == 0) {
		/* the boot's copy of OVMF's variables and its FAT boot volume are files here */
		rc = usage_error("boot: --connect %s: --firmware uefi needs QEMU on this machine (the "
				 "UEFI variables and boot volume are temporary files here); use bios "
				 "or pvh", a.connect);
		goto done_args;
	}
	if (a.libvirt && netrun_has(&nr, NET_TAP) && !libvirt_serial_to_file(a.connect)) {
		rc = usage_error("boot: --connect %s: topology=tap only through the embedded driver "
				 "(its QEMU starts in kvmio's network namespace)", a.connect);
		goto done_args;
	}
	if (a.tap_cmd && !netrun_has(&nr, NET_TAP)) {
		rc = usage_error("boot: --tap-cmd needs a --net ...,topology=tap NIC");
		goto done_args;
	}
	/* The guest's own option table decides, here before QEMU starts (the guest checks again). */
	if (!a.no_guest_check) {
		char *joined = qemu_join_guest_args(a.q.guest_args, a.q.nguest_args);
		struct options gopts;
		struct option_error oe;

		if (!joined) {
			rc = KVMIO_EXIT_IO;
			goto done_args;
		}
		if (options_parse(joined, &gopts, &oe) != 0) {
			fprintf(stderr, "kvmio: boot: guest option %s%s%s: %s (kvmio boot -- help lists "
				"them)\n", oe.key, oe.value[0] || strchr(joined, '=') ? "=" : "",
				oe.value, oe.why);
			free(joined);
			rc = KVMIO_EXIT_BADCONFIG;
			goto done_args;
		}
		free(joined);
	}
	/* Two NICs on the loop hub: NIC 0 sends, NIC 1 receives, unless the options say. */
	if (qemu_loop_needs_rxdev(&a.q) && !a.q.boot_image)
		a.q.guest_args[a.q.nguest_args++] = "rxdev=1";
	dir = image_dir();
	a.q.image_dir = dir;
	a.q.qemu = qemu_env && *qemu_env ? qemu_env : "qemu-system-x86_64";
	if (a.qemu) {
		const struct qemu_binary *qb = qemubin_probe(a.qemu);

		if (!qb->usable) {
			rc = usage_error("boot: --qemu: %s", qb->why);
			goto done_args;
		}
		a.q.qemu = a.qemu;
	}
	if (a.q.firmware && strcmp(a.q.firmware, "uefi") == 0) {
		host_find_ovmf(&ovmf_code, &ovmf_vars);
		a.q.ovmf_code = ovmf_code;
		a.q.ovmf_vars = "TMPDIR/OVMF_VARS.fd";
		a.q.esp_dir = "TMPDIR/esp";
	}
	rc = qemu_build_command(&a.q, &cmd, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "kvmio: boot: %s\n", err);
		goto done_args;
	}
	if (a.timeout_s <= 0)
		a.timeout_s = host_default_timeout(BOOT_TIMEOUT_DEFAULT_S, cmd.exec);
	if (a.libvirt) {
		/* the XML, with placeholders: printed (--print-xml, --dry-run) or only checked */
		char *xml = NULL;

		rc = libvirt_xml(&a, &cmd, libvirt_serial_to_file(a.connect) ? "TMPDIR/serial.log" :
				 NULL, "kvmio-PID", &nr, &xml, err, sizeof(err));
		if (rc)
			fprintf(stderr, "kvmio: boot: %s\n", err);
		else if (a.print_xml || a.dry_run)
			printf("%s", xml);
		if (!rc && a.dry_run)
			printf("<!-- libvirt %s; accelerator: %s (%s); host deadline %g s -->\n",
			       a.connect ? a.connect : "qemu:///embed?root=TMPDIR", cmd.accel_label,
			       cmd.accel_why, a.timeout_s);
		if (!rc && a.dry_run && upload_uri_remote(a.connect))
			printf("<!-- another host: %s %s -->\n", cmd.image, a.no_upload ?
			       "is there at this path (--no-upload)" : "is uploaded into its storage "
			       "pool " UPLOAD_POOL " first (a volume named by its SHA-256), and the "
			       "XML names that volume");
		free(xml);
		if (rc || a.print_xml || a.dry_run) {
			qemu_command_free(&cmd);
			goto done_args;
		}
	}
	if (a.dry_run) {
		char *s = qemu_command_string(cmd.argv);

		printf("%s\n", s ? s : "");
		printf("# accelerator: %s (%s); host deadline %g s\n", cmd.accel_label,
		       cmd.accel_why, a.timeout_s);
		if (a.qemu) {
			const struct qemu_binary *qb = qemubin_probe(a.qemu);

			printf("# qemu: %s, version %s, build sha256:%s\n", a.qemu, qb->version,
			       qb->build);
		}
		if (strcmp(cmd.firmware, "uefi") == 0 && !a.q.boot_image) {
			char *g = qemu_join_guest_args(a.q.guest_args, a.q.nguest_args);

			printf("# TMPDIR/esp: EFI/BOOT/BOOTX64.EFI = %s, kvmio.cmd = '%s'; "
			       "TMPDIR/OVMF_VARS.fd = copy of %s\n", cmd.image, g ? g : "", ovmf_vars);
			free(g);
		}
		netrun_dry(&nr, &a);
		if (a.pin) {
			char rest[256];

			pin_cpus_text(&a.pin_cpus, a.pin_cpus.n > 1 ? 1 : 0, rest, sizeof(rest));
			printf("# --pin (once the guest's first record arrives): vCPU thread on CPU %d, "
			       "the other threads on %s\n", a.pin_cpus.cpu[0], rest);
		}
		free(s);
		qemu_command_free(&cmd);
		rc = KVMIO_EXIT_OK;
		goto done_args;
	}
	if (!file_exists(cmd.image)) {
		fprintf(stderr, "kvmio: boot: guest image %s not found: run make (or set "
			"KVMIO_IMAGE_DIR)\n", cmd.image);
		qemu_command_free(&cmd);
		rc = KVMIO_EXIT_BADCONFIG;
		goto done_args;
	}
	if (strcmp(cmd.firmware, "uefi") == 0 && host_find_ovmf(&ovmf_code, &ovmf_vars) != 0) {
		fprintf(stderr, "kvmio: boot: OVMF firmware not found (%s, %s): install ovmf or "
			"set KVMIO_OVMF_CODE/KVMIO_OVMF_VARS\n", ovmf_code, ovmf_vars);
		qemu_command_free(&cmd);
		rc = KVMIO_EXIT_BADCONFIG;
		goto done_args;
	}
	launch_catch_signals();
	if (strcmp(cmd.firmware, "uefi") == 0) {
		tmp = dir_make_temp();
		if (!tmp || prepare_uefi(tmp, &cmd, ovmf_vars, &a.q, &esp, &vars_copy) != 0) {
			fprintf(stderr, "kvmio: boot: cannot prepare the UEFI boot volume in %s: %s\n",
				tmp ? tmp : "TMPDIR", strerror(errno));
			qemu_command_free(&cmd);
			rc = KVMIO_EXIT_IO;
			goto done;
		}
		qemu_command_free(&cmd);
		a.q.ovmf_vars = vars_copy;
		a.q.esp_dir = esp;
		rc = qemu_build_command(&a.q, &cmd, err, sizeof(err));
		if (rc) {
			fprintf(stderr, "kvmio: boot: %s\n", err);
			goto done;
		}
	}
	if (nr.nnics > 0) {
		nr.dir = dir_make_temp();
		if (!nr.dir) {
			fprintf(stderr, "kvmio: boot: cannot make a temporary directory: %s\n",
				strerror(errno));
			qemu_command_free(&cmd);
			rc = KVMIO_EXIT_IO;
			goto done;
		}
		qemu_command_free(&cmd);
		a.q.net_dir = nr.dir;
		a.q.netns = nr.netns;
		rc = qemu_build_command(&a.q, &cmd, err, sizeof(err));
		if (rc) {
			fprintf(stderr, "kvmio: boot: %s\n", err);
			goto done;
		}
		rc = netrun_start(&nr, &a);
		if (rc) {
			netrun_stop(&nr, 0);
			qemu_command_free(&cmd);
			goto done;
		}
	}
	tick = (struct boot_tick){ .nr = &nr, .a = &a, .res = &res };
	if (a.libvirt) {
		char *xml = NULL;

		memset(&res, 0, sizeof(res));
		rc = libvirt_session_init(&lv, a.connect, err, sizeof(err));
		if (a.pin) {
			lv.started = boot_started;
			lv.started_ctx = &tick;
		}
		if (!rc)
			rc = libvirt_xml(&a, &cmd, lv.console ? NULL : lv.serial, lv.name, &nr, &xml,
					 err, sizeof(err));
		if (!rc && nr.tap_up && netns_enter(nr.netns, err, sizeof(err)) != 0)
			rc = KVMIO_EXIT_IO;
		if (!rc && !a.no_upload && upload_uri_remote(a.connect)) {
			static char upload[sizeof(cmd.image)];
			static struct libvirt_rebuild rb;

			snprintf(upload, sizeof(upload), "%s", cmd.image);
			rb = (struct libvirt_rebuild){ &a, &cmd, lv.name, &nr };
			lv.upload = upload;
			lv.rebuild = libvirt_rebuild_xml;
			lv.rebuild_ctx = &rb;
		}
		if (!rc)
			rc = libvirt_launch(&lv, xml, a.timeout_s, &res, boot_tick, &tick, err,
					    sizeof(err));
		free(xml);
		if (rc) {
			fprintf(stderr, "kvmio: boot: %s\n", err);
			launch_result_free(&res);
			qemu_command_free(&cmd);
			goto done;
		}
	} else {
		launch_run_tick(cmd.argv, a.timeout_s, &res, boot_tick, &tick);
	}
	if (!tick.pin_tried) {
		tick.pin.cpus = a.pin_cpus;
		snprintf(tick.pin.why, sizeof(tick.pin.why), res.first_record_s < 0 ?
			 "the guest wrote no record" : "QEMU had exited when its first record was read");
	}
	netrun_stop(&nr, res.timed_out || res.interrupted ? 0.5 : 10.0);
	dir_remove_tree(tmp); /* before anything else can fail */
	libvirt_session_end(&lv);
	if (a.log_file && res.out && file_write(a.log_file, res.out, res.out_len) != 0)
		fprintf(stderr, "kvmio: cannot write %s: %s\n", a.log_file, strerror(errno));
	log_parse_buffer(&log, a.log_file ? a.log_file : "serial", res.out ? res.out : "",
			 res.out_len);
	rc = launch_outcome(&res, &log, a.timeout_s, cmd.argv[0], msg, sizeof(msg));
	launch = (struct report_launch){ cmd.firmware, cmd.machine, cmd.accel, cmd.accel_label,
					 cmd.accel_why, cmd.iothreads, res.exited ? res.exit_code : -1,
					 res.first_record_s, res.wall_s, nr.peers, nr.npeers, nr.tap_cmd,
					 nr.tap_status, nr.tap_out, a.pin ? &tick.pin : NULL, 0, NULL };
	if (host_tsc_hz(&launch.host_tsc_hz, &launch.host_tsc_method) != 0)
		launch.host_tsc_hz = 0;
	{
		const struct record *h = log_find(&log, "hello", NULL, NULL);
		char warn[512];

		if (h && host_exec_disagrees(cmd.exec, cmd.accel_label, record_get(h, "exec"),
					     warn, sizeof(warn)))
			fprintf(stderr, "kvmio: warning: %s\n", warn);
	}
	if (rc == KVMIO_EXIT_OK && nr.tap_cmd && nr.tap_status != 0) {
		snprintf(msg, sizeof(msg), nr.tap_status == -1 ? "tap-cmd not run: the guest sent "
			 "no ready record (bench=net-echo sends one)" : nr.tap_status == -2 ?
			 "tap-cmd killed: still running after the guest stopped" :
			 "tap-cmd exited with status %d", nr.tap_status);
		rc = KVMIO_EXIT_GUEST_FAIL;
	}
	if (rc != KVMIO_EXIT_INTERRUPTED && (log.nrecs > 0 || a.format != REPORT_TABLE))
		report_print(&log, 1, a.format, &launch);
	if (msg[0])
		fprintf(stderr, "kvmio: %s\n", msg);
	if (rc != KVMIO_EXIT_OK && rc != KVMIO_EXIT_INTERRUPTED && res.err_len > 0) {
		/* QEMU's own words, for the failure above. */
		for (char *line = res.err, *next; line && *line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			fprintf(stderr, "qemu: %s\n", line);
		}
	}
	log_free(&log);
	launch_result_free(&res);
	qemu_command_free(&cmd);
done:
	netrun_stop(&nr, 0);
	libvirt_session_end(&lv);
	dir_remove_tree(tmp);
	dir_remove_tree(nr.dir);
	free(nr.dir);
	free(nr.tap_out);
done_args:
	free(tmp);
	free(esp);
	free(vars_copy);
	free(dir);
	free(a.q.guest_args);
	free(a.q.qemu_args);
	free(a.q.disks);
	free(a.q.nets);
	return rc;
}

