/* The storage under a disk image (storage.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "analysis/stats.h"
#include "boot/storage.h"
#include "kvmio_proto.h"
#include "lib/clock.h"
#include "lib/xalloc.h"

int storage_summarize(double *lat_ns, int n, struct storage_probe *out)
{
	size_t k = (size_t)n;

	if (n < 1)
		return -1;
	stats_sort(lat_ns, k);
	out->reads = n;
	out->median_ns = stats_median(lat_ns, k);
	out->mean_ns = stats_mean(lat_ns, k);
	out->p99_ns = lat_ns[(k * 99) / 100];
	out->max_ns = lat_ns[k - 1];
	return 0;
}

uint64_t storage_offset(uint64_t *state, uint64_t blocks)
{
	if (!*state)
		*state = STORAGE_SEED0; /* xorshift64 never leaves 0 */
	uint64_t x = xorshift64_next(state);

	return blocks ? (x % blocks) * STORAGE_BLOCK : 0;
}

int storage_probe(const char *path, int reads, struct storage_probe *out, char *err,
		  size_t errlen)
{
	struct stat st;
	void *buf = NULL;
	double *lat;
	uint64_t state = 1, blocks, start;
	int fd, n = 0, rc = -1;

	memset(out, 0, sizeof(*out));
	if (reads < 1 || reads > STORAGE_MAX_READS) {
		snprintf(err, errlen, "%d reads (1 to %d)", reads, STORAGE_MAX_READS);
		return -1;
	}
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a file", path);
		return -1;
	}
	fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s%s", path, strerror(errno), errno == EINVAL ?
			 " (its file system has no direct I/O, so the page cache would answer)" : "");
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < STORAGE_BLOCK) {
		snprintf(err, errlen, "%s: not a file of at least %d bytes", path, STORAGE_BLOCK);
		close(fd);
		return -1;
	}
	out->file_bytes = (uint64_t)st.st_size;
	blocks = out->file_bytes / STORAGE_BLOCK;
	if (posix_memalign(&buf, STORAGE_BLOCK, STORAGE_BLOCK) != 0) {
		snprintf(err, errlen, "no memory for the read buffer");
		close(fd);
		return -1;
	}
	lat = xrealloc(NULL, sizeof(*lat) * (size_t)reads);
	start = clock_raw_ns();
	while (n < reads) {
		uint64_t off = storage_offset(&state, blocks), t0 = clock_raw_ns();
		ssize_t got = pread(fd, buf, STORAGE_BLOCK, (off_t)off);
		uint64_t t1 = clock_raw_ns();

		if (got != STORAGE_BLOCK) {
			snprintf(err, errlen, "%s: read at %llu: %s", path, (unsigned long long)off,
				 got < 0 ? strerror(errno) : "short read");
			goto out;
		}
		lat[n++] = (double)(t1 - t0);
		if (t1 - start > (uint64_t)(STORAGE_TIMEOUT_S * 1e9))
			break; /* bounded: a storage that slow is told with the reads it took */
	}
	storage_summarize(lat, n, out);
	rc = 0;
out:
	free(lat);
	free(buf);
	close(fd);
	return rc;
}

void storage_text(FILE *f, const struct storage_probe *p)
{
	fprintf(f, "%d reads of %d bytes: median %.1f us, mean %.1f us, p99 %.1f us, longest %.2f ms",
		p->reads, STORAGE_BLOCK, p->median_ns / 1e3, p->mean_ns / 1e3, p->p99_ns / 1e3,
		p->max_ns / 1e6);
}

int storage_command(const char *path, int reads)
{
	struct storage_probe p;
	char err[PATH_MAX + 256];

	if (storage_probe(path, reads, &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvmio: host: --storage: %s\n", err);
		return KVMIO_EXIT_IO;
	}
	printf("# random reads of %d bytes with O_DIRECT (the page cache left out) over the %llu "
	       "bytes of %s, each timed with CLOCK_MONOTONIC_RAW\n", STORAGE_BLOCK,
	       (unsigned long long)p.file_bytes, path);
	storage_text(stdout, &p);
	putchar('\n');
	return fflush(stdout) == 0 ? KVMIO_EXIT_OK : KVMIO_EXIT_IO;
}
