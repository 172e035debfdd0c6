/*
 * The guest's kernel or image put on a remote libvirt host (`kvmio boot --connect URI`, URI on
 * another host): a volume of the storage pool "kvmio" there, named by the file's SHA-256, so it
 * is uploaded once and re-used by every later boot (docs/libvirt.md, "Remote hosts").
 */
#ifndef KVMIO_HOST_BOOT_UPLOAD_H
#define KVMIO_HOST_BOOT_UPLOAD_H
#include <stddef.h>
#include <libvirt/libvirt.h>

/* The pool the files go to; made as a transient dir pool at UPLOAD_POOL_PATH when the host has
 * no pool of that name (an administrator may define one elsewhere). */
#define UPLOAD_POOL "kvmio"
#define UPLOAD_POOL_PATH "/var/lib/libvirt/images/kvmio"
#define UPLOAD_CHUNK (256u << 10)  /* bytes per virStreamSend, each call under the watchdog */

/* 1 if URI names another host, whose files are not this machine's: a transport other than unix
 * (qemu+ssh://, qemu+tcp://, qemu+tls://, qemu+libssh2://...) or a host name without one
 * (qemu://HOST/system, TLS). 0 for qemu:///system, qemu+unix:///..., qemu:///embed, NULL, "". */
int upload_uri_remote(const char *uri);

/* The authority of URI (USER@HOST:PORT, "" if none) into host, for messages. */
void upload_uri_host(const char *uri, char *host, size_t len);

struct upload_result {
	char path[4096];           /* the volume's path on the host (what the XML names) */
	char volume[80];           /* its name: the SHA-256 in hex */
	int reused;                /* 1: it was there already, nothing sent */
	double seconds;            /* the upload's wall time (0 when re-used) */
	long long bytes;           /* the file's size */
};

/*
 * Put FILE into pool UPLOAD_POOL on conn's host unless a volume of its SHA-256 is there: sent to
 * a volume of its own (SHA.part-HOST-PID) through virStorageVolUpload and a virStream, then
 * cloned to the final name on the host and the part deleted, so a volume of that name is always
 * whole (an upload cut short leaves only a part). Every libvirt call runs under the watchdog of
 * libvirt.c (libvirt_watch). 0, or -1 with one line in err.
 */
int upload_file(virConnectPtr conn, const char *file, struct upload_result *r, char *err,
		size_t errlen);

#endif
