/* kvmio: check guest logs (`parse`) and boot the guest under QEMU (`boot`). */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "host/launch.h"
#include "host/proto.h"
#include "host/qemu.h"
#include "host/report.h"

#ifndef KVMIO_BUILD_ID
#define KVMIO_BUILD_ID "unknown"
#endif

enum format { FORMAT_TABLE, FORMAT_CSV, FORMAT_JSON };

static const char usage_text[] =
	"usage: kvmio parse [--csv|--json] LOG...      check guest logs ('-' = stdin)\n"
	"       kvmio boot [OPTIONS] [-- GUEST-OPTIONS...]  boot the guest in QEMU\n"
	"       kvmio help                              this text\n"
	"\n"
	"boot options:\n"
	"  --firmware bios|uefi|pvh   entry path (default bios: multiboot)\n"
	"  --machine pc|q35|microvm   default: bios->pc, uefi->q35, pvh->microvm\n"
	"  --accel auto|kvm|tcg       auto: kvm if /dev/kvm opens read-write, else tcg\n"
	"  --timeout S                host deadline in seconds (default 120)\n"
	"  --memory MIB               guest RAM (default 128, uefi 256)\n"
	"  --log FILE                 write the raw serial output to FILE\n"
	"  --csv | --json             output format (default: table)\n"
	"  --qemu-arg ARG             append ARG to the QEMU command line (repeatable)\n"
	"  --dry-run                  print the QEMU command line and exit\n"
	"\n"
	"environment: KVMIO_IMAGE_DIR (guest images; default: next to kvmio), KVMIO_QEMU,\n"
	"  KVMIO_OVMF_CODE, KVMIO_OVMF_VARS.\n"
	"\n"
	"exit: 0 ok, 1 guest error, 2 bad configuration or usage, 3 timeout, 4 truncated log,\n"
	"  5 no end record, 6 corrupt record, 7 unknown protocol version, 8 invalid sequence,\n"
	"  9 QEMU failed, 10 log unreadable, 130 interrupted.\n";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "kvmio: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (try 'kvmio help')\n");
	return KVMIO_EXIT_BADCONFIG;
}

static void print_log_problem(const struct log *log)
{
	if (log->status != KVMIO_EXIT_OK)
		fprintf(stderr, "kvmio: %s:%d: %s\n", log->name ? log->name : "?", log->err_line,
			log->err);
}

static void print_report(const struct log *logs, size_t n, enum format format,
			 const struct report_launch *launch)
{
	if (format == FORMAT_JSON) {
		report_json(stdout, logs, n, launch);
	} else if (format == FORMAT_CSV) {
		report_csv_header(stdout, launch);
		for (size_t i = 0; i < n; i++)
			report_csv_rows(stdout, &logs[i], launch);
	} else {
		for (size_t i = 0; i < n; i++)
			report_table(stdout, &logs[i], launch);
	}
	fflush(stdout);
}

static int cmd_parse(int argc, char **argv)
{
	enum format format = FORMAT_TABLE;
	struct log *logs;
	int nfiles = 0, rc = 0, i, only_files = 0;
	char **files = calloc((size_t)argc + 1, sizeof(*files));

	if (!files)
		return KVMIO_EXIT_IO;
	for (i = 0; i < argc; i++) {
		if (!only_files && strcmp(argv[i], "--csv") == 0)
			format = FORMAT_CSV;
		else if (!only_files && strcmp(argv[i], "--json") == 0)
			format = FORMAT_JSON;
		else if (!only_files && strcmp(argv[i], "--") == 0)
			only_files = 1;
		else if (!only_files && argv[i][0] == '-' && argv[i][1] != '\0') {
			free(files);
			return usage_error("parse: unknown option '%s'", argv[i]);
		} else
			files[nfiles++] = argv[i];
	}
	if (nfiles == 0) {
		free(files);
		return usage_error("parse: no log files given%s", "");
	}
	logs = calloc((size_t)nfiles, sizeof(*logs));
	if (!logs) {
		free(files);
		return KVMIO_EXIT_IO;
	}
	for (i = 0; i < nfiles; i++) {
		int st = log_parse_file(&logs[i], files[i]);

		print_log_problem(&logs[i]);
		if (st != 0 && rc == 0)
			rc = st;
	}
	print_report(logs, (size_t)nfiles, format, NULL);
	for (i = 0; i < nfiles; i++)
		log_free(&logs[i]);
	free(logs);
	free(files);
	return rc;
}

/* ---- boot -------------------------------------------------------------------------------- */

struct boot_args {
	struct qemu_options q;
	double timeout_s;
	const char *log_file;
	enum format format;
	int dry_run;
};

/* "--name VALUE" or "--name=VALUE"; advances *i. NULL if argv[*i] is not this option. */
static const char *option_value(int argc, char **argv, int *i, const char *name, int *missing)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = 1;
		return NULL;
	}
	return argv[++*i];
}

static int parse_boot_args(int argc, char **argv, struct boot_args *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	a->timeout_s = 120;
	a->q.guest_args = calloc((size_t)argc + 1, sizeof(char *));
	a->q.qemu_args = calloc((size_t)argc + 1, sizeof(char *));
	if (!a->q.guest_args || !a->q.qemu_args)
		return KVMIO_EXIT_IO;
	for (i = 0; i < argc; i++) {
		const char *arg = argv[i], *v;
		int missing = 0;
		char *end;

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
			a->format = FORMAT_CSV;
		} else if (strcmp(arg, "--json") == 0) {
			a->format = FORMAT_JSON;
		} else if (strcmp(arg, "--dry-run") == 0) {
			a->dry_run = 1;
		} else if ((v = option_value(argc, argv, &i, "--firmware", &missing))) {
			a->q.firmware = v;
		} else if ((v = option_value(argc, argv, &i, "--machine", &missing))) {
			a->q.machine = v;
		} else if ((v = option_value(argc, argv, &i, "--accel", &missing))) {
			a->q.accel = v;
		} else if ((v = option_value(argc, argv, &i, "--log", &missing))) {
			a->log_file = v;
		} else if ((v = option_value(argc, argv, &i, "--qemu-arg", &missing))) {
			a->q.qemu_args[a->q.nqemu_args++] = (char *)v;
		} else if ((v = option_value(argc, argv, &i, "--timeout", &missing))) {
			errno = 0;
			a->timeout_s = strtod(v, &end);
			if (errno || end == v || *end || !(a->timeout_s > 0) || a->timeout_s > 1e6)
				return usage_error("boot: bad --timeout '%s' (seconds > 0)", v);
		} else if ((v = option_value(argc, argv, &i, "--memory", &missing))) {
			long m;

			errno = 0;
			m = strtol(v, &end, 10);
			if (errno || end == v || *end || m < 16 || m > 1048576)
				return usage_error("boot: bad --memory '%s' (MiB, 16 or more)", v);
			a->q.memory_mib = (int)m;
		} else if (missing) {
			return usage_error("boot: option '%s' needs a value", arg);
		} else {
			return usage_error("boot: unknown option '%s'", arg);
		}
	}
	return 0;
}

static char *image_dir(void)
{
	const char *env = getenv("KVMIO_IMAGE_DIR");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env)
		return strdup(env);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return strdup(".");
	exe[n] = '\0';
	return strdup(dirname(exe));
}

static int file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* OVMF code and variables template: env, else the 4M pair, else the 2M pair. */
static int find_ovmf(const char **code, const char **vars)
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

static int write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int rc = 0;

	if (!f)
		return -1;
	if (len && fwrite(data, 1, len, f) != len)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

/* UEFI: the boot volume (EFI/BOOT/BOOTX64.EFI, kvmio.cmd) and a writable variable store. */
static int prepare_uefi(const char *tmp, const struct qemu_command *cmd, const char *vars,
			const struct qemu_options *q, char **esp, char **vars_copy)
{
	char *path = NULL, *guest = NULL;
	int rc = -1;

	if (asprintf(esp, "%s/esp", tmp) < 0 || asprintf(vars_copy, "%s/OVMF_VARS.fd", tmp) < 0)
		return -1;
	if (mkdir(*esp, 0755) != 0 || asprintf(&path, "%s/EFI", *esp) < 0 || mkdir(path, 0755))
		goto out;
	free(path);
	path = NULL;
	if (asprintf(&path, "%s/EFI/BOOT", *esp) < 0 || mkdir(path, 0755))
		goto out;
	free(path);
	path = NULL;
	if (asprintf(&path, "%s/EFI/BOOT/BOOTX64.EFI", *esp) < 0 ||
	    launch_copy_file(cmd->image, path) != 0)
		goto out;
	free(path);
	path = NULL;
	guest = qemu_join_guest_args(q->guest_args, q->nguest_args);
	if (!guest || asprintf(&path, "%s/kvmio.cmd", *esp) < 0)
		goto out;
	{
		FILE *f = fopen(path, "w");

		if (!f)
			goto out;
		fprintf(f, "%s\n", guest);
		if (fclose(f) != 0)
			goto out;
	}
	if (launch_copy_file(vars, *vars_copy) != 0)
		goto out;
	rc = 0;
out:
	free(path);
	free(guest);
	return rc;
}

static int cmd_boot(int argc, char **argv)
{
	struct boot_args a;
	struct qemu_command cmd;
	struct launch_result res;
	struct report_launch launch;
	struct log log;
	const char *ovmf_code = NULL, *ovmf_vars = NULL, *qemu_env = getenv("KVMIO_QEMU");
	char err[512], msg[1024], *dir = NULL, *tmp = NULL, *esp = NULL, *vars_copy = NULL;
	int rc;

	rc = parse_boot_args(argc, argv, &a);
	if (rc)
		goto done_args;
	dir = image_dir();
	a.q.image_dir = dir;
	a.q.qemu = qemu_env && *qemu_env ? qemu_env : "qemu-system-x86_64";
	if (a.q.firmware && strcmp(a.q.firmware, "uefi") == 0) {
		find_ovmf(&ovmf_code, &ovmf_vars);
		a.q.ovmf_code = ovmf_code;
		a.q.ovmf_vars = "TMPDIR/OVMF_VARS.fd";
		a.q.esp_dir = "TMPDIR/esp";
	}
	rc = qemu_build_command(&a.q, &cmd, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "kvmio: boot: %s\n", err);
		goto done_args;
	}
	if (a.dry_run) {
		char *s = qemu_command_string(cmd.argv);

		printf("%s\n", s ? s : "");
		if (strcmp(cmd.firmware, "uefi") == 0) {
			char *g = qemu_join_guest_args(a.q.guest_args, a.q.nguest_args);

			printf("# TMPDIR/esp: EFI/BOOT/BOOTX64.EFI = %s, kvmio.cmd = '%s'; "
			       "TMPDIR/OVMF_VARS.fd = copy of %s\n", cmd.image, g ? g : "", ovmf_vars);
			free(g);
		}
		free(s);
		qemu_command_free(&cmd);
		rc = 0;
		goto done_args;
	}
	if (!file_exists(cmd.image)) {
		fprintf(stderr, "kvmio: boot: guest image %s not found: run make (or set "
			"KVMIO_IMAGE_DIR)\n", cmd.image);
		qemu_command_free(&cmd);
		rc = KVMIO_EXIT_BADCONFIG;
		goto done_args;
	}
	if (strcmp(cmd.firmware, "uefi") == 0 && find_ovmf(&ovmf_code, &ovmf_vars) != 0) {
		fprintf(stderr, "kvmio: boot: OVMF firmware not found (%s, %s): install ovmf or "
			"set KVMIO_OVMF_CODE/KVMIO_OVMF_VARS\n", ovmf_code, ovmf_vars);
		qemu_command_free(&cmd);
		rc = KVMIO_EXIT_BADCONFIG;
		goto done_args;
	}
	launch_catch_signals();
	if (strcmp(cmd.firmware, "uefi") == 0) {
		tmp = launch_make_tempdir();
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
	launch_run(cmd.argv, a.timeout_s, &res);
	launch_remove_tree(tmp); /* before anything else can fail */
	if (a.log_file && res.out && write_file(a.log_file, res.out, res.out_len) != 0)
		fprintf(stderr, "kvmio: cannot write %s: %s\n", a.log_file, strerror(errno));
	log_parse_buffer(&log, a.log_file ? a.log_file : "serial", res.out ? res.out : "",
			 res.out_len);
	rc = launch_outcome(&res, &log, a.timeout_s, cmd.argv[0], msg, sizeof(msg));
	launch = (struct report_launch){ cmd.firmware, cmd.machine, cmd.accel,
					 res.exited ? res.exit_code : -1 };
	if (rc != 130 && (log.nrecs > 0 || a.format != FORMAT_TABLE))
		print_report(&log, 1, a.format, &launch);
	if (msg[0])
		fprintf(stderr, "kvmio: %s\n", msg);
	if (rc != 0 && rc != 130 && res.err_len > 0) {
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
	launch_remove_tree(tmp);
done_args:
	free(tmp);
	free(esp);
	free(vars_copy);
	free(dir);
	free(a.q.guest_args);
	free(a.q.qemu_args);
	return rc;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		fputs(usage_text, stderr);
		return KVMIO_EXIT_BADCONFIG;
	}
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("kvmio %s (protocol %d)\n", KVMIO_BUILD_ID, PROTO_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "parse"))
		return cmd_parse(argc - 2, argv + 2);
	if (!strcmp(cmd, "boot"))
		return cmd_boot(argc - 2, argv + 2);
	return usage_error("unknown command '%s'", cmd);
}
