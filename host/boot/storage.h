/*
 * How fast the storage under a disk image answers (docs/measurement.md §4): random reads of one
 * block, each timed, with O_DIRECT so that this machine's page cache is not what answers. With a
 * file-backed disk and cache=none every guest read is such a read, so a run can be no steadier
 * than the storage. On this project's machine (a VM whose disk is a file on a shared host) the
 * median 4 KiB read took 65 us one minute and 81 us five minutes later, with nothing else
 * running here. `kvmio host --storage FILE` prints it; `kvmio run` probes the image before every
 * run that has one and keeps the result beside the run (runs/ID/rN/host_storage, results.csv
 * host_disk_ns).
 */
#ifndef KVMIO_HOST_BOOT_STORAGE_H
#define KVMIO_HOST_BOOT_STORAGE_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define STORAGE_BLOCK 4096            /* bytes per read, and the offsets' alignment (O_DIRECT) */
#define STORAGE_RUN_READS 256         /* kvmio run: reads before each run (about 20 ms here) */
#define STORAGE_COMMAND_READS 2000    /* kvmio host --storage FILE without READS */
#define STORAGE_MAX_READS 1000000
#define STORAGE_SEED0 0x9e3779b97f4a7c15ull /* the offsets' stream from a zero state */
#define STORAGE_TIMEOUT_S 10.0        /* a probe stops after this long, with what it has */
#define STORAGE_SPEED_LIMIT_PCT 10.0  /* report: runs of one configuration whose probes' median
				       * read differs by more than this ran on other storage
				       * (here 3 % apart over two minutes when steady, 25 % after a
				       * change below this machine) */

struct storage_probe {
	int reads;                    /* reads timed */
	double median_ns, mean_ns, p99_ns, max_ns;
	uint64_t file_bytes;          /* the file's size: reads fall in [0, file_bytes) */
};

/* The figures of n read times (ns). Sorts lat. 0, or -1 if n < 1. Pure. */
int storage_summarize(double *lat_ns, int n, struct storage_probe *out);
/* The block-aligned offset of read i of a probe of a file of `blocks` blocks: a fixed
 * pseudo-random sequence (xorshift64 from seed), so two probes of one file read the same blocks.
 * Pure. */
uint64_t storage_offset(uint64_t *state, uint64_t blocks);
/* Time `reads` random reads of path (O_DIRECT, read-only). 0, or -1 with a reason in err (no
 * such file, smaller than one block, a file system without direct I/O, a read error). */
int storage_probe(const char *path, int reads, struct storage_probe *out, char *err,
		  size_t errlen);
/* "256 reads of 4096 bytes: median 65.3 us, mean 68.4 us, p99 115.5 us, longest 0.4 ms" */
void storage_text(FILE *f, const struct storage_probe *p);
/* `kvmio host --storage FILE [READS]` */
int storage_command(const char *path, int reads);

#endif
