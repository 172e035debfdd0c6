/*
 * kvmio UEFI loader (GNU-EFI). It carries the flat kernel image (efi_kernel_blob.S) and:
 *  1. takes the command line from its load options or, failing that, from \kvmio.cmd on its
 *     own volume;
 *  2. finds the ACPI RSDP in the EFI configuration table;
 *  3. copies the kernel to the physical range its kvmio_image_header names;
 *  4. fills a struct boot_info below 4 GiB;
 *  5. leaves boot services and converts the UEFI memory map to E820 types;
 *  6. jumps to the kernel's 64-bit entry with RDI = boot_info.
 * Errors before that are reported as kvmio protocol records (docs/protocol.md) on the console.
 * Section numbers refer to the UEFI Specification 2.9.
 */
#include <efi.h>
#include <efilib.h>

#include "kernel/boot.h"
#include "crc32.h"
#include "kernel/image.h"

/* kernel/image.h entry64: a SysV call that never returns. */
typedef void kernel_entry_fn(struct boot_info *bi);

/* The flat image, linked in by efi_kernel_blob.S. */
extern const UINT8 kernel_blob_start[] __attribute__((visibility("hidden")));
extern const UINT8 kernel_blob_end[] __attribute__((visibility("hidden")));

#define CMD_FILE_NAME      L"kvmio.cmd"
#define CMD_RAW_MAX        (4 * BOOT_CMDLINE_MAX)  /* the most we read before normalizing */
#define MMAP_SLACK_DESCS   8      /* room for descriptors our own allocation may add */
#define EBS_MAX_TRIES      8      /* GetMemoryMap + ExitBootServices attempts */
#define BELOW_4G           0xffffffffull
#define LINE_MAX           512    /* our error records are short */
#define HEADER_ALIGN       8      /* kernel/image.h: the header is 8-byte aligned */

/* isa-debug-exit (docs/protocol.md "Exit status"): writing V exits QEMU with (V << 1) | 1. */
#define DEBUG_EXIT_PORT    0xf4
#define DEBUG_EXIT_FAIL    1

/* COM1, used only when the console may be gone (after a failed ExitBootServices). */
#define COM1_PORT          0x3f8
#define COM1_LSR           (COM1_PORT + 5)
#define COM1_LSR_THRE      0x20   /* transmit holding register empty */

static EFI_GUID loaded_image_guid = LOADED_IMAGE_PROTOCOL;
static EFI_GUID simple_fs_guid = SIMPLE_FILE_SYSTEM_PROTOCOL;
static EFI_GUID acpi20_guid = ACPI_20_TABLE_GUID;
static EFI_GUID acpi10_guid = ACPI_TABLE_GUID;

static EFI_SYSTEM_TABLE *st;
static EFI_BOOT_SERVICES *bs;
static int boot_services_gone;   /* set at the first ExitBootServices call (§7.4.6) */

static char cmd_raw[CMD_RAW_MAX];

/* ---- port I/O ------------------------------------------------------------------------------ */

static inline void outb(UINT16 port, UINT8 v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(UINT16 port, UINT32 v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline UINT8 inb(UINT16 port)
{
	UINT8 v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* ---- error records ------------------------------------------------------------------------- */

struct line {
	char buf[LINE_MAX];
	UINTN len;
};

static void line_putc(struct line *l, char c)
{
	if (l->len < LINE_MAX - 1)
		l->buf[l->len++] = c;
}

static void line_puts(struct line *l, const char *s)
{
	while (*s)
		line_putc(l, *s++);
}

static const char hex_digits[] = "0123456789abcdef";

/* Protocol value escaping: bytes outside 0x21..0x7e and '%' become %XX. */
static void line_put_escaped(struct line *l, const char *s)
{
	for (; *s; s++) {
		UINT8 c = (UINT8)*s;
		if (c > ' ' && c <= '~' && c != '%') {
			line_putc(l, (char)c);
		} else {
			line_putc(l, '%');
			line_putc(l, "0123456789ABCDEF"[c >> 4]);
			line_putc(l, "0123456789ABCDEF"[c & 0xf]);
		}
	}
}

/* " crc=XXXXXXXX" over everything from '@' so far, then CR LF. */
static void line_finish(struct line *l)
{
	UINT32 crc = crc32_update(0, l->buf, l->len);

	line_puts(l, " crc=");
	for (int shift = 28; shift >= 0; shift -= 4)
		line_putc(l, hex_digits[(crc >> shift) & 0xf]);
	line_puts(l, "\r\n");
	l->buf[l->len] = 0;
}

static void line_emit(const struct line *l)
{
	if (!boot_services_gone) {
		/* §12.4 SIMPLE_TEXT_OUTPUT.OutputString; OVMF mirrors the console to the serial port. */
		CHAR16 wide[LINE_MAX];
		for (UINTN i = 0; i <= l->len; i++)
			wide[i] = (CHAR16)(UINT8)l->buf[i];
		uefi_call_wrapper(st->ConOut->OutputString, 2, st->ConOut, wide);
		return;
	}
	for (UINTN i = 0; i < l->len; i++) {
		while (!(inb(COM1_LSR) & COM1_LSR_THRE))
			;
		outb(COM1_PORT, (UINT8)l->buf[i]);
	}
}

/* Report `msg` as an error record plus the end record, then leave QEMU. Never returns. */
static void __attribute__((noreturn)) fail(const char *msg)
{
	struct line l = { .len = 0 };

	line_puts(&l, "@kvmio 1 error seq=0 code=boot msg=");
	line_put_escaped(&l, msg);
	line_finish(&l);
	line_emit(&l);

	l.len = 0;
	line_puts(&l, "@kvmio 1 end seq=1 status=fail records=1");
	line_finish(&l);
	line_emit(&l);

	outl(DEBUG_EXIT_PORT, DEBUG_EXIT_FAIL);
	/* No isa-debug-exit device: power off (§8.5.1 ResetSystem). */
	uefi_call_wrapper(st->RuntimeServices->ResetSystem, 4, EfiResetShutdown, EFI_ABORTED, 0, NULL);
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* fail() with " (EFI status 0x...)" appended. */
static void __attribute__((noreturn)) fail_status(const char *msg, EFI_STATUS status)
{
	struct line l = { .len = 0 };

	line_puts(&l, msg);
	line_puts(&l, " (EFI status 0x");
	for (int shift = 60; shift >= 0; shift -= 4)
		line_putc(&l, hex_digits[(status >> shift) & 0xf]);
	line_puts(&l, ")");
	l.buf[l.len] = 0;
	fail(l.buf);
}

/* ---- command line -------------------------------------------------------------------------- */

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/*
 * Normalize raw text into bi->cmdline: CRs go, line feeds and tabs become spaces, leading and
 * trailing blanks go. Returns 0 if the text holds a byte that is not printable ASCII.
 */
static int cmdline_set(struct boot_info *bi, const char *raw, UINTN n)
{
	UINTN start = 0, end = n, len = 0;

	for (UINTN i = 0; i < n; i++)
		if (!is_space(raw[i]) && (raw[i] < ' ' || raw[i] > '~'))
			return 0;
	while (start < end && is_space(raw[start]))
		start++;
	while (end > start && is_space(raw[end - 1]))
		end--;
	for (UINTN i = start; i < end; i++) {
		if (raw[i] == '\r')
			continue;
		if (len == BOOT_CMDLINE_MAX - 1)
			fail("command line longer than BOOT_CMDLINE_MAX-1 bytes");
		bi->cmdline[len++] = is_space(raw[i]) ? ' ' : raw[i];
	}
	bi->cmdline[len] = 0;
	return 1;
}

/* Does the word [w, w+n) name an EFI image, as argv[0] from the UEFI shell does? */
static int is_efi_name(const char *w, UINTN n)
{
	if (n < 4 || w[n - 4] != '.')
		return 0;
	return (w[n - 3] | 0x20) == 'e' && (w[n - 2] | 0x20) == 'f' && (w[n - 1] | 0x20) == 'i';
}

/*
 * §9.1 EFI_LOADED_IMAGE_PROTOCOL.LoadOptions: UCS-2 text from the shell or a Boot#### option.
 * The boot manager may pass binary data instead (edk2 puts a GUID in the options of boot entries
 * it creates itself), so anything that is not printable ASCII text counts as "no options".
 * Returns 1 if the options gave a non-empty command line.
 */
static int cmdline_from_load_options(struct boot_info *bi, const EFI_LOADED_IMAGE *li)
{
	const CHAR16 *w = li->LoadOptions;
	UINTN n = li->LoadOptionsSize / sizeof(CHAR16), len = 0, skip = 0;

	if (!w || n == 0)
		return 0;
	while (len < n && w[len])
		len++;
	for (UINTN i = 0; i < len; i++) {
		if (w[i] > '~')
			return 0;
		if (i < CMD_RAW_MAX)
			cmd_raw[i] = (char)w[i];
	}
	if (len > CMD_RAW_MAX)
		fail("load options longer than BOOT_CMDLINE_MAX-1 bytes");
	/* Drop argv[0] when it is the image itself ("FS0:\EFI\BOOT\BOOTX64.EFI opt=..."). */
	while (skip < len && is_space(cmd_raw[skip]))
		skip++;
	UINTN word = skip;
	while (word < len && !is_space(cmd_raw[word]))
		word++;
	if (is_efi_name(cmd_raw + skip, word - skip))
		skip = word;
	else
		skip = 0;
	if (!cmdline_set(bi, cmd_raw + skip, len - skip))
		return 0;
	return bi->cmdline[0] != 0;
}

/* §13.4 EFI_SIMPLE_FILE_SYSTEM_PROTOCOL, §13.5 EFI_FILE_PROTOCOL: \kvmio.cmd beside EFI\. */
static void cmdline_from_file(struct boot_info *bi, EFI_HANDLE device)
{
	EFI_FILE_IO_INTERFACE *fs;
	EFI_FILE_HANDLE root, file;
	EFI_STATUS status;
	UINTN size = CMD_RAW_MAX;

	bi->cmdline[0] = 0;
	status = uefi_call_wrapper(bs->HandleProtocol, 3, device, &simple_fs_guid, (void **)&fs);
	if (EFI_ERROR(status))
		return;   /* not loaded from a file system: no command line */
	status = uefi_call_wrapper(fs->OpenVolume, 2, fs, &root);
	if (EFI_ERROR(status))
		fail_status("cannot open the boot volume", status);
	status = uefi_call_wrapper(root->Open, 5, root, &file, CMD_FILE_NAME, EFI_FILE_MODE_READ, 0);
	if (status == EFI_NOT_FOUND) {
		uefi_call_wrapper(root->Close, 1, root);
		return;
	}
	if (EFI_ERROR(status))
		fail_status("cannot open \\kvmio.cmd", status);
	status = uefi_call_wrapper(file->Read, 3, file, &size, cmd_raw);
	if (EFI_ERROR(status))
		fail_status("cannot read \\kvmio.cmd", status);
	uefi_call_wrapper(file->Close, 1, file);
	uefi_call_wrapper(root->Close, 1, root);
	if (size >= CMD_RAW_MAX)
		fail("\\kvmio.cmd longer than BOOT_CMDLINE_MAX-1 bytes");
	if (!cmdline_set(bi, cmd_raw, size))
		fail("\\kvmio.cmd is not printable ASCII text");
}

/* ---- ACPI ---------------------------------------------------------------------------------- */

static int guid_eq(const EFI_GUID *a, const EFI_GUID *b)
{
	const UINT8 *x = (const UINT8 *)a, *y = (const UINT8 *)b;

	for (UINTN i = 0; i < sizeof(EFI_GUID); i++)
		if (x[i] != y[i])
			return 0;
	return 1;
}

/* §4.6 EFI Configuration Table: the RSDP, ACPI 2.0+ preferred. 0 if there is none. */
static UINT64 find_rsdp(void)
{
	UINT64 acpi10 = 0;

	for (UINTN i = 0; i < st->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &st->ConfigurationTable[i];
		if (guid_eq(&t->VendorGuid, &acpi20_guid))
			return (UINT64)(UINTN)t->VendorTable;
		if (guid_eq(&t->VendorGuid, &acpi10_guid))
			acpi10 = (UINT64)(UINTN)t->VendorTable;
	}
	return acpi10;
}

/* ---- kernel image -------------------------------------------------------------------------- */

/* kernel/image.h: the header lies HEADER_ALIGN-aligned in the first KVMIO_IMAGE_SEARCH bytes. */
static void find_header(struct kvmio_image_header *h, UINTN blob_size)
{
	for (UINTN off = 0; off < KVMIO_IMAGE_SEARCH && off + sizeof(*h) <= blob_size;
	     off += HEADER_ALIGN) {
		uefi_call_wrapper(bs->CopyMem, 3, h, (void *)(kernel_blob_start + off), sizeof(*h));
		if (h->magic == KVMIO_IMAGE_MAGIC)
			return;
	}
	fail("no kvmio image header in the kernel image");
}

static void check_header(const struct kvmio_image_header *h, UINTN blob_size)
{
	if (h->version != KVMIO_IMAGE_VERSION)
		fail("kvmio image header: unknown version");
	if (h->header_size < sizeof(*h))
		fail("kvmio image header: header_size too small");
	if (h->load_addr % EFI_PAGE_SIZE)
		fail("kvmio image header: load_addr not page-aligned");
	if (!(h->load_addr < h->load_end && h->load_end <= h->bss_end))
		fail("kvmio image header: bad load_addr/load_end/bss_end");
	if (blob_size > h->load_end - h->load_addr)
		fail("kvmio image header: image larger than load_end-load_addr");
	if (h->entry64 < h->load_addr || h->entry64 >= h->load_end)
		fail("kvmio image header: entry64 outside the image");
}

/*
 * §7.2 AllocatePages(AllocateAddress): the kernel runs where it is linked. EfiLoaderCode, not
 * EfiLoaderData: firmware built with an NX policy for data types (edk2
 * PcdDxeNxMemoryProtectionPolicy) would map loader data non-executable, and entry64 runs on the
 * firmware's page tables. Both types become MEM_RESERVED in the kernel's map.
 */
static void load_kernel(const struct kvmio_image_header *h, UINTN blob_size)
{
	EFI_PHYSICAL_ADDRESS addr = h->load_addr;
	UINTN pages = EFI_SIZE_TO_PAGES(h->bss_end - h->load_addr);
	EFI_STATUS status;

	status = uefi_call_wrapper(bs->AllocatePages, 4, AllocateAddress, EfiLoaderCode, pages,
				   &addr);
	if (EFI_ERROR(status))
		fail_status("cannot allocate the kernel's physical range at load_addr", status);
	/* §7.5 CopyMem/SetMem: the image, then zeros up to bss_end. */
	uefi_call_wrapper(bs->CopyMem, 3, (void *)(UINTN)addr, (void *)kernel_blob_start, blob_size);
	uefi_call_wrapper(bs->SetMem, 3, (void *)(UINTN)(addr + blob_size),
			  h->bss_end - h->load_addr - blob_size, 0);
}

static struct boot_info *alloc_boot_info(void)
{
	EFI_PHYSICAL_ADDRESS addr = BELOW_4G;
	UINTN pages = EFI_SIZE_TO_PAGES(sizeof(struct boot_info));
	EFI_STATUS status;

	status = uefi_call_wrapper(bs->AllocatePages, 4, AllocateMaxAddress, EfiLoaderData, pages,
				   &addr);
	if (EFI_ERROR(status))
		fail_status("cannot allocate boot_info below 4 GiB", status);
	uefi_call_wrapper(bs->SetMem, 3, (void *)(UINTN)addr, pages * EFI_PAGE_SIZE, 0);
	return (struct boot_info *)(UINTN)addr;
}

/* ---- memory map ---------------------------------------------------------------------------- */

/* §7.2 EFI_MEMORY_TYPE onto E820. Loader memory holds this loader, the kernel and boot_info. */
static UINT32 e820_type(const EFI_MEMORY_DESCRIPTOR *d)
{
	if (d->Attribute & EFI_MEMORY_RUNTIME)
		return MEM_RESERVED;   /* the firmware keeps using it at runtime */
	switch (d->Type) {
	case EfiConventionalMemory:
	case EfiBootServicesCode:
	case EfiBootServicesData:
		return MEM_USABLE;
	case EfiACPIReclaimMemory:
		return MEM_ACPI;
	case EfiACPIMemoryNVS:
		return MEM_NVS;
	default:   /* loader, runtime services, MMIO, reserved, unusable, persistent */
		return MEM_RESERVED;
	}
}

/* Which range to give up when the table is full: reserved first (a hole means "not RAM" too),
 * then ACPI/NVS, usable last (losing it only leaves RAM unused), the smallest of a kind first. */
static int drop_rank(UINT32 type)
{
	return type == MEM_RESERVED ? 0 : type == MEM_USABLE ? 2 : 1;
}

static int drop_before(const struct boot_mem_range *a, const struct boot_mem_range *b)
{
	if (drop_rank(a->type) != drop_rank(b->type))
		return drop_rank(a->type) < drop_rank(b->type);
	return a->len < b->len;
}

/* Append a range (input in address order), merging with the previous one when it continues it. */
static void mmap_add(struct boot_info *bi, UINT64 base, UINT64 len, UINT32 type)
{
	struct boot_mem_range r = { .base = base, .len = len, .type = type, .pad = 0 };
	struct boot_mem_range *last = bi->mmap_count ? &bi->mmap[bi->mmap_count - 1] : NULL;
	UINT32 victim;

	if (last && last->type == type && last->base + last->len == base) {
		last->len += len;
		return;
	}
	if (bi->mmap_count < BOOT_MMAP_MAX) {
		bi->mmap[bi->mmap_count++] = r;
		return;
	}
	victim = 0;
	for (UINT32 i = 1; i < bi->mmap_count; i++)
		if (drop_before(&bi->mmap[i], &bi->mmap[victim]))
			victim = i;
	if (drop_before(&r, &bi->mmap[victim]))
		return;   /* the new range is the one to drop */
	for (UINT32 i = victim; i + 1 < bi->mmap_count; i++)
		bi->mmap[i] = bi->mmap[i + 1];
	bi->mmap[bi->mmap_count - 1] = r;
}

/* §7.2 GetMemoryMap: the map is not promised to be sorted, so walk it in address order. */
static void mmap_convert(struct boot_info *bi, const UINT8 *map, UINTN map_size, UINTN desc_size)
{
	UINTN n = map_size / desc_size;
	UINT64 prev = 0;

	bi->mmap_count = 0;
	for (UINTN done = 0; done < n; done++) {
		const EFI_MEMORY_DESCRIPTOR *next = NULL;
		for (UINTN i = 0; i < n; i++) {
			const EFI_MEMORY_DESCRIPTOR *d = (const void *)(map + i * desc_size);
			if (done && d->PhysicalStart <= prev)
				continue;
			if (!next || d->PhysicalStart < next->PhysicalStart)
				next = d;
		}
		if (!next)
			break;
		prev = next->PhysicalStart;
		if (next->NumberOfPages)
			mmap_add(bi, next->PhysicalStart, next->NumberOfPages * EFI_PAGE_SIZE,
				 e820_type(next));
	}
}

/*
 * §7.4.6 ExitBootServices: the map key must come from the last GetMemoryMap. If it changed in
 * between (EFI_INVALID_PARAMETER), get the map again; after the first attempt only memory
 * allocation services may be used, so the buffer is allocated with slack beforehand and nothing
 * allocates or prints between GetMemoryMap and ExitBootServices.
 */
static void exit_boot_services(EFI_HANDLE image, struct boot_info *bi)
{
	UINTN map_size = 0, cap, key, desc_size;
	UINT32 desc_version;
	UINT8 *map = NULL;
	EFI_STATUS status;

	status = uefi_call_wrapper(bs->GetMemoryMap, 5, &map_size, NULL, &key, &desc_size,
				   &desc_version);
	if (status != EFI_BUFFER_TOO_SMALL)
		fail_status("GetMemoryMap did not report its size", status);
	cap = map_size + MMAP_SLACK_DESCS * desc_size;
	status = uefi_call_wrapper(bs->AllocatePool, 3, EfiLoaderData, cap, (void **)&map);
	if (EFI_ERROR(status))
		fail_status("cannot allocate the memory map buffer", status);

	for (int tries = 0; tries < EBS_MAX_TRIES; tries++) {
		map_size = cap;
		status = uefi_call_wrapper(bs->GetMemoryMap, 5, &map_size, (EFI_MEMORY_DESCRIPTOR *)map,
					   &key, &desc_size, &desc_version);
		if (status == EFI_BUFFER_TOO_SMALL) {
			/* Grew beyond the slack: a bigger buffer (allocation stays allowed, §7.4.6). */
			uefi_call_wrapper(bs->FreePool, 1, map);
			cap = map_size + MMAP_SLACK_DESCS * desc_size;
			status = uefi_call_wrapper(bs->AllocatePool, 3, EfiLoaderData, cap, (void **)&map);
			if (EFI_ERROR(status))
				fail_status("cannot allocate the memory map buffer", status);
			continue;
		}
		if (EFI_ERROR(status))
			fail_status("GetMemoryMap failed", status);
		status = uefi_call_wrapper(bs->ExitBootServices, 2, image, key);
		boot_services_gone = 1;
		if (status == EFI_SUCCESS) {
			mmap_convert(bi, map, map_size, desc_size);
			return;
		}
		if (status != EFI_INVALID_PARAMETER)
			break;
	}
	fail_status("ExitBootServices failed", status);
}

/* ---- entry --------------------------------------------------------------------------------- */

/* GNU-EFI's crt0 relocates the image and calls this with the SysV ABI. */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	UINTN blob_size = (UINTN)(kernel_blob_end - kernel_blob_start);
	struct kvmio_image_header h;
	EFI_LOADED_IMAGE *li;
	struct boot_info *bi;
	EFI_STATUS status;

	st = systab;
	bs = systab->BootServices;

	find_header(&h, blob_size);
	check_header(&h, blob_size);
	load_kernel(&h, blob_size);

	bi = alloc_boot_info();
	bi->magic = BOOT_INFO_MAGIC;
	bi->path = BOOT_UEFI;
	bi->rsdp = find_rsdp();
	bi->efi_reset_system = (UINT64)(UINTN)st->RuntimeServices->ResetSystem;

	/* §9.1 EFI_LOADED_IMAGE_PROTOCOL: our options and the volume we came from. */
	status = uefi_call_wrapper(bs->HandleProtocol, 3, image, &loaded_image_guid, (void **)&li);
	if (EFI_ERROR(status))
		fail_status("no EFI_LOADED_IMAGE_PROTOCOL on our image", status);
	if (!cmdline_from_load_options(bi, li))
		cmdline_from_file(bi, li->DeviceHandle);

	exit_boot_services(image, bi);

	/* kernel/image.h: entry64 takes RDI = boot_info, IF = 0, the firmware's identity map. */
	kernel_entry_fn *entry = (kernel_entry_fn *)(UINTN)h.entry64;
	__asm__ volatile("cli");
	entry(bi);
	__builtin_unreachable();
}
