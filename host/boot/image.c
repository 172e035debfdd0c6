/* `kvmio image`: the disk image with guest options baked in (image.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "boot/boot.h"
#include "boot/image.h"
#include "boot/launch.h"
#include "kvmio_proto.h"
#include "lib/args.h"
#include "lib/file.h"
#include "options.h"

#define SECTOR 512
/* UEFI 2.9 §5.3.2 Table 5-5 "GPT Header": fields used here */
#define GPT_HEADER_LBA       1
#define GPT_SIGNATURE        "EFI PART"
#define GPT_HDR_ENTRIES_LBA  72   /* u64 PartitionEntryLBA */
#define GPT_HDR_NENTRIES     80   /* u32 NumberOfPartitionEntries */
#define GPT_HDR_ENTRY_SIZE   84   /* u32 SizeOfPartitionEntry */
/* §5.3.3 Table 5-6 "GPT Partition Entry" */
#define GPT_ENTRY_TYPE       0    /* PartitionTypeGUID, 16 bytes */
#define GPT_ENTRY_FIRST_LBA  32   /* u64 StartingLBA */
#define GPT_ENTRY_MIN_SIZE   128
/* §5.3.3 Table 5-7: EFI System Partition C12A7328-F81F-11D2-BA4B-00A0C93EC93B, as stored
 * (the first three fields little-endian) */
static const uint8_t esp_type_guid[16] = { 0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
					   0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b };

/* The guest takes a command line of at most this many bytes (kernel/boot.h BOOT_CMDLINE_MAX
 * less its NUL); a longer one would be refused by the guest at boot. */
#define IMAGE_CMDLINE_MAX 1023
#define MCOPY_TIMEOUT_S 60.0

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int image_find_esp(const uint8_t *disk, size_t len, uint64_t *offset, char *err, size_t errlen)
{
	const uint8_t *h = disk + GPT_HEADER_LBA * SECTOR;
	uint64_t entries_lba, n, size;

	if (len < (GPT_HEADER_LBA + 1) * SECTOR || memcmp(h, GPT_SIGNATURE, 8) != 0) {
		snprintf(err, errlen, "no GPT header (not a kvmio.img disk image)");
		return KVMIO_EXIT_BADCONFIG;
	}
	entries_lba = le(h + GPT_HDR_ENTRIES_LBA, 8);
	n = le(h + GPT_HDR_NENTRIES, 4);
	size = le(h + GPT_HDR_ENTRY_SIZE, 4);
	if (size < GPT_ENTRY_MIN_SIZE || entries_lba > len / SECTOR) {
		snprintf(err, errlen, "bad GPT header (partition entries at LBA %llu, %llu bytes each)",
			 (unsigned long long)entries_lba, (unsigned long long)size);
		return KVMIO_EXIT_BADCONFIG;
	}
	for (uint64_t i = 0; i < n; i++) {
		uint64_t at = entries_lba * SECTOR + i * size;

		if (at + size > len)
			break;
		if (memcmp(disk + at + GPT_ENTRY_TYPE, esp_type_guid, sizeof(esp_type_guid)) == 0) {
			*offset = le(disk + at + GPT_ENTRY_FIRST_LBA, 8) * SECTOR;
			return KVMIO_EXIT_OK;
		}
	}
	snprintf(err, errlen, "no EFI System Partition in the GPT (not a kvmio.img disk image)");
	return KVMIO_EXIT_BADCONFIG;
}

int image_grub_cfg(const char *options, char *out, size_t outlen, char *err, size_t errlen)
{
	size_t n;

	if (strlen(options) > IMAGE_CMDLINE_MAX) {
		snprintf(err, errlen, "--cmdline is %zu bytes: the guest takes at most %d",
			 strlen(options), IMAGE_CMDLINE_MAX);
		return KVMIO_EXIT_BADCONFIG;
	}
	for (const char *p = options; *p; p++)
		/* GRUB's single quotes carry anything but a quote; '"' and '\' would be escaped
		 * again on the way to the kernel's command line: none of them is in an option. */
		if (*p < ' ' || *p > '~' || *p == '\'' || *p == '"' || *p == '\\') {
			snprintf(err, errlen, "--cmdline: character 0x%02x is not allowed (printable "
				 "ASCII without quotes or backslashes)", (unsigned char)*p);
			return KVMIO_EXIT_BADCONFIG;
		}
	n = (size_t)snprintf(out, outlen, "# kvmio image: the guest options (README, \"Guest "
			     "options\")\nmultiboot2 " IMAGE_KERNEL);
	for (const char *p = options; *p && n < outlen;) {
		size_t w = strcspn(p, " ");

		if (w)
			n += (size_t)snprintf(out + n, outlen - n, " '%.*s'", (int)w, p);
		p += w;
		p += strspn(p, " ");
	}
	if (n < outlen)
		n += (size_t)snprintf(out + n, outlen - n, "\nboot\n");
	if (n >= outlen) {
		snprintf(err, errlen, "--cmdline too long");
		return KVMIO_EXIT_BADCONFIG;
	}
	return KVMIO_EXIT_OK;
}

/* mcopy CFG into the FAT file system at byte OFFSET of IMG; 0, or -1 with err. */
static int write_cfg(const char *img, uint64_t offset, const char *cfg, char *err, size_t errlen)
{
	char target[4200];
	char *argv[] = { "mcopy", "-o", "-i", target, (char *)cfg, IMAGE_GRUB_CFG, NULL };
	struct launch_result r;
	int rc = 0;

	snprintf(target, sizeof(target), "%s@@%llu", img, (unsigned long long)offset);
	setenv("MTOOLS_SKIP_CHECK", "1", 1); /* the FAT was made by mkfs.fat, not by DOS */
	launch_run(argv, MCOPY_TIMEOUT_S, &r);
	if (!r.started || !r.exited || r.exit_code != 0) {
		char *nl = r.err ? strchr(r.err, '\n') : NULL;

		if (nl)
			*nl = '\0';
		snprintf(err, errlen, "mcopy failed: %s", !r.started ? strerror(r.exec_errno) :
			 r.err && r.err[0] ? r.err : "no message (install mtools)");
		rc = -1;
	}
	launch_result_free(&r);
	return rc;
}

int cmd_image(int argc, char **argv)
{
	const char *file = NULL, *options = "", *from = NULL, *v;
	char err[512], cfg[4096], *dir = NULL, *src = NULL, *tmp = NULL, *tmp_img = NULL;
	char *tmp_cfg = NULL, *data = NULL;
	struct options gopts;
	struct option_error oe;
	struct stat st;
	uint64_t esp;
	size_t len;
	int force = 0, rc = KVMIO_EXIT_IO;

	for (int i = 0; i < argc; i++) {
		int missing = 0;

		if (strcmp(argv[i], "--force") == 0)
			force = 1;
		else if ((v = option_value(argc, argv, &i, "--cmdline", &missing)))
			options = v;
		else if ((v = option_value(argc, argv, &i, "--from", &missing)))
			from = v;
		else if (missing)
			return usage_error("image: option '%s' needs a value", argv[i]);
		else if (argv[i][0] == '-' && argv[i][1])
			return usage_error("image: unknown option '%s'", argv[i]);
		else if (!file)
			file = argv[i];
		else
			return usage_error("image: unexpected argument '%s'", argv[i]);
	}
	if (!file)
		return usage_error("image: usage: kvmio image FILE [--cmdline \"OPTIONS\"] "
				  "[--from IMG] [--force]");
	/* The guest's own option table decides, as for kvmio boot. */
	if (options_parse(options, &gopts, &oe) != 0) {
		fprintf(stderr, "kvmio: image: guest option %s%s%s: %s (kvmio boot -- help lists "
			"them)\n", oe.key, oe.value[0] || strchr(options, '=') ? "=" : "", oe.value,
			oe.why);
		return KVMIO_EXIT_BADCONFIG;
	}
	if (image_grub_cfg(options, cfg, sizeof(cfg), err, sizeof(err)) != 0) {
		fprintf(stderr, "kvmio: image: %s\n", err);
		return KVMIO_EXIT_BADCONFIG;
	}
	if (!force && lstat(file, &st) == 0) {
		fprintf(stderr, "kvmio: image: %s exists (use --force to overwrite it)\n", file);
		return KVMIO_EXIT_BADCONFIG;
	}
	if (!from) {
		dir = boot_image_dir();
		if (!dir || asprintf(&src, "%s/" IMAGE_FILE_NAME, dir) < 0) {
			src = NULL;
			goto out;
		}
		from = src;
	}
	if (!file_exists(from)) {
		fprintf(stderr, "kvmio: image: source image %s not found: run make (or give "
			"--from IMG)\n", from);
		rc = KVMIO_EXIT_BADCONFIG;
		goto out;
	}
	data = file_read(from, &len);
	if (!data) {
		fprintf(stderr, "kvmio: image: cannot read %s: %s\n", from, strerror(errno));
		goto out;
	}
	if (image_find_esp((const uint8_t *)data, len, &esp, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvmio: image: %s: %s\n", from, err);
		rc = KVMIO_EXIT_BADCONFIG;
		goto out;
	}
	tmp = dir_make_temp();
	if (!tmp || asprintf(&tmp_img, "%s/" IMAGE_FILE_NAME, tmp) < 0 ||
	    asprintf(&tmp_cfg, "%s/grub.cfg", tmp) < 0) {
		fprintf(stderr, "kvmio: image: cannot make a temporary directory: %s\n",
			strerror(errno));
		goto out;
	}
	if (file_write(tmp_img, data, len) != 0 || file_write(tmp_cfg, cfg, strlen(cfg)) != 0) {
		fprintf(stderr, "kvmio: image: cannot write in %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	if (write_cfg(tmp_img, esp, tmp_cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvmio: image: %s\n", err);
		goto out;
	}
	if (force)
		unlink(file);
	if (file_copy(tmp_img, file) != 0) {
		fprintf(stderr, "kvmio: image: cannot write %s: %s\n", file, strerror(errno));
		unlink(file);
		goto out;
	}
	printf("%s: %s with guest options '%s' (%s in the EFI System Partition at byte %llu)\n",
	       file, from, options, &IMAGE_GRUB_CFG[2], (unsigned long long)esp);
	rc = KVMIO_EXIT_OK;
out:
	dir_remove_tree(tmp);
	free(tmp);
	free(tmp_img);
	free(tmp_cfg);
	free(data);
	free(src);
	free(dir);
	return rc;
}
