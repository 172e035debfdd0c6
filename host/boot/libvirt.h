/*
 * The libvirt backend of `kvmio boot --connect [URI]`: the domain XML (domxml.h) started as a
 * transient domain through libvirt's API, the guest's serial port a file read as QEMU's stdout
 * is on the QEMU path, the outcome as a struct launch_result (launch.h), so the same checks,
 * records and reports follow. Every libvirt call is bounded (LIBVIRT_CALL_TIMEOUT_S).
 */
#ifndef KVMIO_HOST_BOOT_LIBVIRT_H
#define KVMIO_HOST_BOOT_LIBVIRT_H
#include <stddef.h>
#include "boot/launch.h"
#include "boot/upload.h"

/* Without a URI: libvirt's in-process QEMU driver, rooted in the boot's private directory. */
#define LIBVIRT_EMBED_URI_FMT "qemu:///embed?root=%s"
/* The longest any one libvirt call may take (opening the embedded driver probes QEMU). */
#define LIBVIRT_CALL_TIMEOUT_S 120.0

struct libvirt_session {
	char uri[4200];
	char *dir;                 /* private temporary directory: the serial file, the root of the
				    * default embedded driver */
	char serial[4200];         /* the guest's serial port (a file on this machine) */
	int console;               /* 1: the serial port is a pty, read through the console stream
				    * (libvirt_serial_to_file 0); serial is then unused */
	char name[64];             /* the domain's name: kvmio-PID */
	char root[4200];           /* an embedded driver's root= ("" for other URIs) */
	/* set by the caller: called once the domain is set up (libvirt has pinned its threads)
	 * and before its vCPU runs (the domain starts paused), with QEMU's pid (0 where QEMU is
	 * not this machine's embedded one); NULL: none */
	void (*started)(void *ctx, int pid);
	void *started_ctx;
	/* A remote host (upload.h): the kernel or image to put there before the domain starts,
	 * NULL for none; then rebuild makes the XML again with its path on that host. */
	const char *upload;
	int (*rebuild)(void *ctx, const char *path, char **xml, char *err, size_t errlen);
	void *rebuild_ctx;
	struct upload_result uploaded; /* what upload_file did (valid once the domain started) */
};

/* The libvirt call under way (NULL: none), for the watchdog of libvirt_launch's event loop:
 * one that has not returned after LIBVIRT_CALL_TIMEOUT_S ends kvmio (one line, exit 3). */
void libvirt_watch(const char *call);

/* 1 if the guest's serial port goes to a file kvmio reads (the embedded driver, NULL or ""
 * meaning it: QEMU runs in this process's machine); 0: a pty on the host that runs QEMU, read
 * through virDomainOpenConsole and a virStream (any other URI, remote ones too). */
int libvirt_serial_to_file(const char *uri);

/* 1 for a URI of libvirt's QEMU driver: qemu://..., qemu+TRANSPORT://... (kvmio runs QEMU
 * domains; libvirt would hand any other scheme to its daemon and report the socket). */
int libvirt_uri_is_qemu(const char *uri);

/* The root= of a qemu:///embed URI into root; 0, or -1 if uri is not an embedded one. */
int libvirt_embed_root(const char *uri, char *root, size_t len);

/*
 * Make the session's directory and names. uri NULL: the embedded driver under that directory.
 * An embedded root gets an etc/qemu.conf if it has none (QEMU's stdio in files, no virtlogd;
 * as root, QEMU as root). 0, or KVMIO_EXIT_IO / KVMIO_EXIT_BADCONFIG with a message in err.
 */
int libvirt_session_init(struct libvirt_session *s, const char *uri, char *err, size_t errlen);
void libvirt_session_end(struct libvirt_session *s);

/*
 * Start the domain XML through s->uri, follow the serial file (tick as launch_run_tick calls it)
 * until the domain stops or timeout_s passes (then it is destroyed), and fill res as launch_run
 * does: exited with 0 when the guest powered off (the log decides), the QEMU log's messages as
 * err. 0, or KVMIO_EXIT_BADCONFIG with libvirt's error as one line in err (no daemon, no
 * permission, unknown emulator, a refused XML).
 */
int libvirt_launch(struct libvirt_session *s, const char *xml, double timeout_s,
		   struct launch_result *res, launch_tick_fn tick, void *ctx, char *err,
		   size_t errlen);

/* 1 when a URI names this machine's libvirt (no host part: qemu:///system, qemu:///embed...,
 * qemu+unix:///...); 0 for qemu+ssh://HOST/..., qemu+tcp://HOST/... */
int libvirt_uri_is_local(const char *uri);

/* What a libvirt host says of itself (kvmio run --hosts keeps it per host, hosts/NAME.json). */
struct libvirt_facts {
	char hostname[256];        /* virConnectGetHostname */
	char qemu_version[32];     /* virConnectGetVersion: the hypervisor's (QEMU's) "7.2.0" */
	char libvirt_version[32];  /* virConnectGetLibVersion: the daemon's (remote) or ours */
	char cpu[192];             /* the capabilities' <host><cpu>: "AMD EPYC-Rome" */
	char flavour[8];           /* "kvm" when the host runs kvm domains (its domain
				    * capabilities for virttype kvm load), else "tcg" */
	int local;                 /* libvirt_uri_is_local: then also kvmio host's facts */
	char local_flavour[400];   /* this machine's KVM flavour (hostinfo.h), "tcg (...)" */
	char local_cpu[128];       /* this machine's CPU model (/proc/cpuinfo) */
};

/*
 * Connect to uri and read its facts (every call under the watchdog, LIBVIRT_CALL_TIMEOUT_S).
 * Run it in a process of its own (kvmio run --hosts forks one per host, under its own deadline):
 * an embedded driver stays in the process that opened it. 0, or KVMIO_EXIT_HOST_LOST (the host
 * cannot be reached: an RPC error) or KVMIO_EXIT_BADCONFIG, libvirt's error as one line in err.
 */
int libvirt_host_facts(const char *uri, struct libvirt_facts *f, char *err, size_t errlen);

#endif
