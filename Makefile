# kvmio: guest images (multiboot, PVH, UEFI), the host tool, tests.
# `make run` and `make check` install the Debian packages they need (scripts/install-deps.sh).

# plain `make` builds everything: images, host tool, tests
.DEFAULT_GOAL := all

BUILD      := build
CC         ?= gcc
LD         := ld
OBJCOPY    := objcopy
BUILD_ID   := $(shell git describe --always --dirty 2>/dev/null || echo unknown)-$(shell date -u +%Y%m%d)

# ---- guest kernel ----------------------------------------------------------------------------
GUEST_CFLAGS := -std=gnu11 -O2 -g -ffreestanding -fno-pic -fno-pie -mno-red-zone \
	-mgeneral-regs-only -fno-stack-protector -mcmodel=small -fno-asynchronous-unwind-tables \
	-fno-omit-frame-pointer --param=min-pagesize=0 -Wall -Wextra -Werror -I. -Icommon -I$(BUILD) -MMD -MP
GUEST_ASFLAGS := -I. -Icommon -Wa,--noexecstack -MMD -MP
GUEST_SRCS := $(filter-out boot/efi_loader.c,$(wildcard boot/*.c)) $(filter-out boot/efi_kernel_blob.S,$(wildcard boot/*.S)) $(wildcard kernel/*.S) \
	$(wildcard kernel/*.c) $(wildcard drivers/*.c) $(wildcard bench/*.c) $(wildcard common/*.c)
GUEST_OBJS := $(patsubst %,$(BUILD)/guest/%.o,$(GUEST_SRCS))
LIBGCC     := $(shell $(CC) -print-libgcc-file-name)   # 128-bit division helpers only

# ---- UEFI loader (GNU-EFI): a PE application that carries the flat kernel image -----------------
EFI_INC    := /usr/include/efi
EFI_LIB    := /usr/lib
EFI_CFLAGS := -std=gnu11 -O2 -fpic -fshort-wchar -ffreestanding -fno-stack-protector \
	-mno-red-zone -mgeneral-regs-only -fno-strict-aliasing -DGNU_EFI_USE_MS_ABI \
	-I$(EFI_INC) -I$(EFI_INC)/x86_64 -I. -Icommon -Wall -Wextra -Werror -MMD -MP
EFI_OBJS   := $(BUILD)/efi/efi_loader.o $(BUILD)/efi/crc32.o $(BUILD)/efi/kernel_blob.o

# ---- host tool --------------------------------------------------------------------------------
# The host sees host/, common/ and the generated headers only: no kernel/, drivers/ or bench/.
HOST_INC     := -Ihost -Icommon -I$(BUILD)
HOST_CFLAGS  := -std=gnu11 -O2 -g -Wall -Wextra -Werror $(HOST_INC) -D_GNU_SOURCE -MMD -MP
HOST_SRCS    := $(wildcard host/*.c host/*/*.c) $(wildcard common/*.c)
HOST_OBJS    := $(patsubst %.c,$(BUILD)/host/%.o,$(HOST_SRCS))
HOST_LIBOBJS := $(filter-out $(BUILD)/host/host/main.o,$(HOST_OBJS))

# ---- tests: the host code again, with ASan + UBSan ---------------------------------------------
SAN          := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
TEST_CFLAGS  := $(filter-out -O2,$(HOST_CFLAGS)) -O1 $(SAN)
TEST_LIBOBJS := $(patsubst $(BUILD)/host/%,$(BUILD)/test/%,$(HOST_LIBOBJS))
# Pure guest code (no device access, no records; only <stdint.h>/<stddef.h>-level headers): the
# guest's own files, compiled again with the test flags and unit-tested on the host.
GUEST_PURE_SRCS := drivers/virtq.c drivers/virtq_packed.c drivers/ata_prd.c drivers/ata_identify.c bench/sample_stats.c \
	drivers/nvme_queue.c drivers/scsi.c boot/bootinfo.c
GUEST_PURE_TEST_OBJS := $(patsubst %.c,$(BUILD)/test/%.o,$(GUEST_PURE_SRCS))
# tests/unit: no QEMU (pure code, the tool against a stand-in QEMU); tests/boot: real boots
TEST_SRCS    := $(wildcard tests/unit/test_*.c tests/boot/test_*.c)
TEST_BINS    := $(patsubst tests/%.c,$(BUILD)/test/%,$(TEST_SRCS))
# libFuzzer targets (tests/fuzz/fuzz_*.c) over the host code built once with clang's sanitizers
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_OBJS    := $(patsubst %.c,$(BUILD)/fuzzobj/%.o,$(filter-out host/main.c,$(HOST_SRCS)))
FUZZ_CFLAGS  := -std=gnu11 -g -O1 $(HOST_INC) -D_GNU_SOURCE
FUZZ_RUNS    ?= 1000000

IMAGES := $(BUILD)/kvmio.elf $(BUILD)/kvmio-pvh.elf $(BUILD)/kvmio.bin $(BUILD)/kvmio.efi
# The bootable disk image (GPT: GRUB for BIOS and UEFI, multiboot2): scripts/mkimage
IMAGES += $(BUILD)/kvmio.img

.PHONY: all guest host deps run check tests fuzz fuzz-long install clean bench-boot bench-disk bench-net paper modern FORCE
.SECONDARY: # keep intermediate objects (test objects come through pattern chains)

# The build id (git describe + date) lives in a header rewritten only when it changes, so every
# image and the host tool say which commit they were built from.
$(BUILD)/build_id.h: FORCE
	@mkdir -p $(BUILD)
	@echo '#define KVMIO_BUILD_ID "$(BUILD_ID)"' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
$(BUILD)/guest/kernel/main.c.o $(BUILD)/host/host/main.o $(BUILD)/test/host/main.o: $(BUILD)/build_id.h
all: guest host tests
guest: $(IMAGES)
host: $(BUILD)/kvmio

deps:
	@scripts/install-deps.sh

# One 64-bit link (kept with debug info for gdb); three containers from it.
$(BUILD)/kvmio64.elf: $(GUEST_OBJS) linker.ld
	$(LD) -nostdlib -static -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments \
		-T linker.ld -o $@ $(GUEST_OBJS) $(LIBGCC)
# Multiboot v1: QEMU's -kernel refuses ELF64 multiboot images, so ship an ELF32 container.
$(BUILD)/kvmio.elf: $(BUILD)/kvmio64.elf
	$(OBJCOPY) --strip-debug -O elf32-i386 $< $@
# PVH: the same code without the multiboot header (QEMU tries multiboot first).
$(BUILD)/kvmio-pvh.elf: $(BUILD)/kvmio64.elf
	$(OBJCOPY) --strip-debug -R .multiboot $< $@
$(BUILD)/kvmio.bin: $(BUILD)/kvmio64.elf
	$(OBJCOPY) -O binary $< $@

$(BUILD)/kvmio.img: $(BUILD)/kvmio.elf scripts/mkimage
	scripts/mkimage $< $@

$(BUILD)/guest/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@
$(BUILD)/guest/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_ASFLAGS) -c $< -o $@

$(BUILD)/efi/efi_loader.o: boot/efi_loader.c
	@mkdir -p $(dir $@)
	$(CC) $(EFI_CFLAGS) -c $< -o $@
$(BUILD)/efi/crc32.o: common/crc32.c
	@mkdir -p $(dir $@)
	$(CC) $(EFI_CFLAGS) -c $< -o $@
$(BUILD)/efi/kernel_blob.o: boot/efi_kernel_blob.S $(BUILD)/kvmio.bin
	@mkdir -p $(dir $@)
	$(CC) -c -DKERNEL_BIN='"$(BUILD)/kvmio.bin"' $< -o $@
$(BUILD)/efi/kvmio.so: $(EFI_OBJS)
	$(LD) -nostdlib -znocombreloc -shared -Bsymbolic -T $(EFI_LIB)/elf_x86_64_efi.lds \
		$(EFI_LIB)/crt0-efi-x86_64.o $(EFI_OBJS) -o $@ -L$(EFI_LIB) -lefi -lgnuefi
$(BUILD)/kvmio.efi: $(BUILD)/efi/kvmio.so
	$(OBJCOPY) -j .text -j .sdata -j .data -j .rodata -j .dynamic -j .dynsym -j .rel \
		-j .rela -j .rel.* -j .rela.* -j .reloc --target=efi-app-x86_64 $< $@

# libinih (Debian libinih-dev): the job-file INI parser; jansson (libjansson-dev): JSON output; nettle
# (nettle-dev): SHA-256, the build id of a QEMU binary
HOST_LIBS := -linih -ljansson -lnettle -lm
# libvirt (Debian libvirt-dev): the --connect backend (host/boot/libvirt.c)
HOST_LIBS += -lvirt

$(BUILD)/kvmio: $(HOST_OBJS)
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LIBS)
$(BUILD)/host/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -c $< -o $@

$(BUILD)/test/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -c $< -o $@
TEST_HELPERS := $(BUILD)/test/tests/helpers.o
# Test sources include "helpers.h" (tests/) and may name the pure guest code they test
# ("drivers/virtq.h"): -iquote tests -iquote .
TEST_LINK = $(CC) $(TEST_CFLAGS) -iquote tests -iquote . -o $@ $(filter %.c %.o,$^) -lcmocka \
	$(HOST_LIBS)
$(BUILD)/test/unit/test_%: tests/unit/test_%.c $(TEST_LIBOBJS) $(GUEST_PURE_TEST_OBJS) $(TEST_HELPERS)
	@mkdir -p $(dir $@)
	$(TEST_LINK)
$(BUILD)/test/boot/test_%: tests/boot/test_%.c $(TEST_LIBOBJS) $(TEST_HELPERS)
	@mkdir -p $(dir $@)
	$(TEST_LINK)

$(BUILD)/fuzzobj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_OBJS) $(HOST_LIBS)

tests: $(TEST_BINS) $(FUZZ_BINS)

# Every fuzz target alone (FUZZ_RUNS each); fuzz-long: ten times as many.
fuzz: deps $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do tests/run-fuzz $$f $(FUZZ_RUNS) tests/data tests/data/fuzz/* jobs || exit 1; done
fuzz-long:
	@$(MAKE) --no-print-directory fuzz FUZZ_RUNS=10000000

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run-demo

# Benchmarks print figures; they pass or fail nothing.
bench-boot: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench-boot

bench-disk: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench-disk

bench-net: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench-net

# The whole 2013 study (jobs/paper-2013.ini) into build/paper, then its report.
paper: deps
	@$(MAKE) --no-print-directory all
	@scripts/study jobs/paper-2013.ini build/paper

# Today's choices (jobs/modern.ini: AHCI, NVMe, virtio-scsi, packed rings, e1000e) into
# build/modern, then its report.
modern: deps
	@$(MAKE) --no-print-directory all
	@scripts/study jobs/modern.ini build/modern

check: deps
	@$(MAKE) --no-print-directory all tests
	@tests/run

# make install [PREFIX=/usr/local] [DESTDIR=]: the tool, the guest images where an installed
# kvmio finds them (PREFIX/lib/kvmio), the job files (PREFIX/share/kvmio/jobs), the man page.
PREFIX  ?= /usr/local
DESTDIR ?=
install: guest host
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/kvmio \
		$(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(BUILD)/kvmio $(DESTDIR)$(PREFIX)/bin/kvmio
	install -m 0644 $(BUILD)/kvmio.elf $(BUILD)/kvmio-pvh.elf $(BUILD)/kvmio.efi \
		$(DESTDIR)$(PREFIX)/lib/kvmio/
	install -m 0644 $(BUILD)/kvmio.img $(DESTDIR)$(PREFIX)/lib/kvmio/
	install -d $(DESTDIR)$(PREFIX)/share/kvmio/jobs
	install -m 0644 jobs/*.ini $(DESTDIR)$(PREFIX)/share/kvmio/jobs/
	install -m 0644 docs/kvmio.1 $(DESTDIR)$(PREFIX)/share/man/man1/kvmio.1

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
