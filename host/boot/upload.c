/*
 * The guest's kernel or image put on a remote libvirt host through libvirt's storage API
 * (upload.h): a dir pool, a volume per SHA-256, virStorageVolUpload with a virStream.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libvirt/virterror.h>
#include "boot/libvirt.h"
#include "boot/qemubin.h"
#include "boot/upload.h"
#include "lib/proc.h"

int upload_uri_remote(const char *uri)
{
	const char *sep, *plus;

	if (!uri || !*uri || !(sep = strstr(uri, "://")))
		return 0;
	plus = memchr(uri, '+', (size_t)(sep - uri));
	if (plus) /* a transport: only unix stays on this machine */
		return !(sep - plus - 1 == 4 && strncmp(plus + 1, "unix", 4) == 0);
	return !libvirt_uri_is_local(uri);
}

void upload_uri_host(const char *uri, char *host, size_t len)
{
	const char *sep = uri ? strstr(uri, "://") : NULL;

	snprintf(host, len, "%.*s", sep ? (int)strcspn(sep + 3, "/?") : 0, sep ? sep + 3 : "");
}

/* libvirt's last error after WHAT, one line. */
static void fail(const char *what, char *err, size_t errlen)
{
	const char *m = virGetLastErrorMessage();

	snprintf(err, errlen, "libvirt: %s: %s", what, m ? m : "unknown error");
	for (char *p = err; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

/* The pool UPLOAD_POOL, active: looked up (started if defined but inactive) or made. */
static virStoragePoolPtr pool_get(virConnectPtr conn, char *err, size_t errlen)
{
	static const char xml[] = "<pool type='dir'>\n  <name>" UPLOAD_POOL "</name>\n"
				  "  <target>\n    <path>" UPLOAD_POOL_PATH "</path>\n  </target>\n"
				  "</pool>\n";
	virStoragePoolPtr pool;

	libvirt_watch("virStoragePoolLookupByName");
	pool = virStoragePoolLookupByName(conn, UPLOAD_POOL);
	if (!pool) {
		libvirt_watch("virStoragePoolCreateXML");
		pool = virStoragePoolCreateXML(conn, xml, VIR_STORAGE_POOL_CREATE_WITH_BUILD);
		if (!pool) { /* the reason first; or made meanwhile by another kvmio? */
			fail("cannot make the storage pool " UPLOAD_POOL " at " UPLOAD_POOL_PATH,
			     err, errlen);
			pool = virStoragePoolLookupByName(conn, UPLOAD_POOL);
		}
	} else if (virStoragePoolIsActive(pool) != 1) {
		libvirt_watch("virStoragePoolCreate");
		if (virStoragePoolCreate(pool, 0) != 0) {
			fail("cannot start the storage pool " UPLOAD_POOL, err, errlen);
			if (virStoragePoolIsActive(pool) != 1) {
				virStoragePoolFree(pool);
				pool = NULL;
			}
		}
	}
	if (pool) {
		libvirt_watch("virStoragePoolRefresh");
		virStoragePoolRefresh(pool, 0); /* files placed by hand; a busy pool says no: fine */
	}
	libvirt_watch(NULL);
	return pool;
}

/* FILE (size bytes, open as fd) into the new volume vol through a stream. 0 or -1. */
static int send_file(virConnectPtr conn, virStorageVolPtr vol, int fd, long long size,
		     const char *file, char *err, size_t errlen)
{
	virStreamPtr st;
	char *buf = malloc(UPLOAD_CHUNK);
	long long sent = 0;
	int rc = -1;

	libvirt_watch("virStorageVolUpload");
	st = buf ? virStreamNew(conn, 0) : NULL;
	if (!st || virStorageVolUpload(vol, st, 0, (unsigned long long)size, 0) != 0) {
		fail("cannot start the upload", err, errlen);
		goto out;
	}
	while (sent < size) {
		ssize_t n = read(fd, buf, UPLOAD_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "cannot read %.300s: %s", file,
				 n < 0 ? strerror(errno) : "shorter than it was");
			goto out;
		}
		for (ssize_t off = 0; off < n;) {
			int k;

			libvirt_watch("virStreamSend");
			k = virStreamSend(st, buf + off, (size_t)(n - off));
			if (k < 0) {
				fail("upload", err, errlen);
				goto out;
			}
			off += k;
		}
		sent += n;
	}
	libvirt_watch("virStreamFinish");
	if (virStreamFinish(st) != 0) {
		fail("upload", err, errlen);
		goto out;
	}
	rc = 0;
out:
	if (st) {
		if (rc)
			virStreamAbort(st);
		virStreamFree(st);
	}
	libvirt_watch(NULL);
	free(buf);
	return rc;
}

int upload_file(virConnectPtr conn, const char *file, struct upload_result *r, char *err,
		size_t errlen)
{
	char hex[QEMUBIN_SHA256_HEX + 1], part[160], host[64] = "", xml[512];
	virStoragePoolPtr pool = NULL;
	virStorageVolPtr vol = NULL, tmp = NULL;
	struct stat st;
	double t0 = clock_now_s();
	int fd = -1, rc = -1;
	char *path;

	memset(r, 0, sizeof(*r));
	if (stat(file, &st) != 0 || qemubin_sha256_file(file, hex) != 0) {
		snprintf(err, errlen, "cannot read %.300s: %s", file, strerror(errno));
		return -1;
	}
	r->bytes = (long long)st.st_size;
	snprintf(r->volume, sizeof(r->volume), "%s", hex);
	pool = pool_get(conn, err, errlen);
	if (!pool)
		return -1;
	libvirt_watch("virStorageVolLookupByName");
	vol = virStorageVolLookupByName(pool, hex);
	r->reused = vol != NULL;
	if (!vol) {
		gethostname(host, sizeof(host) - 1);
		host[strcspn(host, ".")] = '\0';
		snprintf(part, sizeof(part), "%s.part-%.40s-%d", hex, host, (int)getpid());
		snprintf(xml, sizeof(xml), "<volume>\n  <name>%s</name>\n  <capacity unit='bytes'>"
			 "%lld</capacity>\n  <target>\n    <format type='raw'/>\n    <permissions>"
			 "<mode>0644</mode></permissions>\n  </target>\n</volume>\n", part, r->bytes);
		libvirt_watch("virStorageVolCreateXML");
		tmp = virStorageVolCreateXML(pool, xml, 0);
		if (!tmp) {
			fail("cannot make a volume in the storage pool " UPLOAD_POOL, err, errlen);
			goto out;
		}
		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			snprintf(err, errlen, "cannot open %.300s: %s", file, strerror(errno));
			goto out;
		}
		if (send_file(conn, tmp, fd, r->bytes, file, err, errlen) != 0)
			goto out;
		/* the whole file under its final name, in one step on the host */
		snprintf(xml, sizeof(xml), "<volume>\n  <name>%s</name>\n  <capacity unit='bytes'>"
			 "%lld</capacity>\n  <target>\n    <format type='raw'/>\n    <permissions>"
			 "<mode>0644</mode></permissions>\n  </target>\n</volume>\n", hex, r->bytes);
		libvirt_watch("virStorageVolCreateXMLFrom");
		vol = virStorageVolCreateXMLFrom(pool, xml, tmp, 0);
		if (!vol) { /* the reason first; or another kvmio's upload finished first? */
			fail("cannot make the volume of the upload in the storage pool " UPLOAD_POOL, err,
			     errlen);
			vol = virStorageVolLookupByName(pool, hex);
		}
		if (!vol)
			goto out;
		r->seconds = clock_now_s() - t0;
	}
	libvirt_watch("virStorageVolGetPath");
	path = virStorageVolGetPath(vol);
	if (!path) {
		fail("cannot get the path of a volume of the storage pool " UPLOAD_POOL, err, errlen);
		goto out;
	}
	snprintf(r->path, sizeof(r->path), "%s", path);
	free(path);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		libvirt_watch("virStorageVolDelete");
		virStorageVolDelete(tmp, 0);
		virStorageVolFree(tmp);
	}
	if (vol)
		virStorageVolFree(vol);
	virStoragePoolFree(pool);
	libvirt_watch(NULL);
	return rc;
}
