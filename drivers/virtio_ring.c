/*
 * Which virtqueue layout a virtio device runs with (ring=split|packed): VIRTIO_F_RING_PACKED
 * (Virtio 1.2 §2.8, feature bit 34, §6) is negotiated only when asked for and only where it can
 * exist. The legacy interface has 32 feature bits (§4.1.4.10), so no packed rings there: that
 * device keeps split rings and is marked unusable with the reason (refused if chosen). Any
 * transport's device works with this, since it reads only the offered and negotiated bits.
 */
#include "virtio_pci.h"

int virtio_ring_want(const struct virtio_dev *v, int packed, uint64_t *want, const char **unusable,
		     const char **why)
{
	if (!packed)
		return 0;
	if (v->transport == VIRTIO_LEGACY) {
		*unusable = "ring=packed needs the modern (virtio 1.x) transport: the legacy interface "
			    "has 32 feature bits and split rings only";
		return 0;
	}
	if (!virtio_offers(v, VIRTIO_F_RING_PACKED)) {
		*why = "ring=packed asked, but the device does not offer VIRTIO_F_RING_PACKED (packed=on)";
		return -1;
	}
	*want |= 1ull << VIRTIO_F_RING_PACKED;
	return 0;
}

const char *virtio_ring_name(const struct virtio_dev *v)
{
	return virtio_has(v, VIRTIO_F_RING_PACKED) ? "packed" : "split";
}
