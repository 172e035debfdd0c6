/* virtio_mmio.device=SIZE@BASE:IRQ[:ID] (virtio_mmio_arg.h). No libc: the guest compiles it. */
#include "parse.h"
#include "virtio_mmio_arg.h"

/* The first index in s[from..len) holding c, or len. */
static size_t find(const char *s, size_t from, size_t len, char c)
{
	while (from < len && s[from] != c)
		from++;
	return from;
}

int virtio_mmio_arg_parse(const char *s, size_t len, struct virtio_mmio_arg *out, const char **why)
{
	size_t at = find(s, 0, len, '@');
	size_t colon = find(s, at, len, ':');
	size_t id = find(s, colon + (colon < len), len, ':');
	size_t slen = at;
	uint64_t size, base, gsi, id_value, shift = 0;

	if (at == len || colon == len) {
		*why = "not SIZE@BASE:IRQ (virtio_mmio.device=512@0xfeb00000:5)";
		return -1;
	}
	if (slen > 1) {
		char unit = s[slen - 1];
		shift = unit == 'K' || unit == 'k' ? 10 : unit == 'M' || unit == 'm' ? 20 :
			unit == 'G' || unit == 'g' ? 30 : 0;
		if (shift)
			slen--;
	}
	if (parse_u64(s, slen, &size) || size > (UINT64_MAX >> shift)) {
		*why = "SIZE is not a number (with an optional K, M or G)";
		return -1;
	}
	size <<= shift;
	if (size < VIRTIO_MMIO_ARG_MIN_SIZE) {
		*why = "SIZE is smaller than the virtio-mmio register block (0x100 bytes)";
		return -1;
	}
	if (parse_u64(s + at + 1, colon - at - 1, &base) || base == 0 || base > UINT64_MAX - size) {
		*why = "BASE is not a non-zero address";
		return -1;
	}
	if (parse_u64(s + colon + 1, id - colon - 1, &gsi) || gsi > VIRTIO_MMIO_ARG_MAX_GSI) {
		*why = "IRQ is not a number 0..255";
		return -1;
	}
	if (id < len && parse_u64(s + id + 1, len - id - 1, &id_value)) {
		*why = "the device ID after IRQ is not a number";
		return -1;
	}
	out->base = base;
	out->size = size;
	out->gsi = (uint32_t)gsi;
	return 0;
}
