/*
 * ACPI 6.4: RSDP §5.2.5, RSDT/XSDT §5.2.7-8, FADT §5.2.9, MCFG (PCI Firmware Spec 3.2 §4.1.2),
 * S5 via \_S5 SLP_TYP (§7.4.2) written to PM1x_CNT (§4.8.3.2.1) or the sleep control register.
 */
#include "acpi.h"
#include "io.h"
#include "lib.h"

#define BDA_EBDA_SEGMENT   0x40e
#define BIOS_ROM_START     0xe0000
#define BIOS_ROM_END       0x100000
#define EBDA_SEARCH_LEN    1024
#define RSDP_V1_LEN        20
#define RSDP_V2_LEN        36
#define SDT_HEADER_LEN     36

/* FADT field offsets (ACPI 6.4 Table 5.9) */
#define FADT_DSDT          40
#define FADT_PM1A_CNT      64
#define FADT_PM1B_CNT      68
#define FADT_PM_TMR_BLK    76
#define FADT_PM_TMR_LEN    91
#define FADT_FLAGS         112
#define FADT_X_DSDT        140
#define FADT_X_PM_TMR_BLK  208
#define FADT_SLEEP_CTRL    244
#define FADT_FLAG_TMR_VAL_EXT  (1u << 8)
#define FADT_FLAG_HW_REDUCED   (1u << 20)
#define GAS_SPACE_MEMORY   0
#define GAS_SPACE_IO       1
#define MADT_FIRST_ENTRY   44
#define MADT_IOAPIC        1
#define MADT_ISO           2
#define MPS_POLARITY_MASK  0x3
#define MPS_POLARITY_LOW   0x3
#define MPS_TRIGGER_MASK   0xc
#define MPS_TRIGGER_LEVEL  0xc
#define MAX_ISO            16
#define MCFG_FIRST_ENTRY   44
#define MCFG_ENTRY_LEN     16

#define PM1_SLP_TYP_SHIFT  10
#define PM1_SLP_EN         (1u << 13)
#define SLEEP_CTRL_TYP_SHIFT 2
#define SLEEP_CTRL_SLP_EN  (1u << 5)
#define AML_PACKAGE_OP     0x12
#define AML_BYTE_PREFIX    0x0a
#define AML_ZERO_OP        0x00
#define AML_ONE_OP         0x01

struct gas { uint8_t space, bit_width, bit_offset, access_size; uint64_t address; } __attribute__((packed));

static struct acpi_info info;
static struct { uint8_t irq; struct irq_route route; } isos[MAX_ISO];
static unsigned iso_count;
static uint16_t pm1a_cnt, pm1b_cnt;
static struct gas sleep_ctrl;
static int s5_found;
static uint8_t s5_typ_a, s5_typ_b;

static uint8_t checksum(const void *p, uint64_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;
	while (len--)
		sum = (uint8_t)(sum + *b++);
	return sum;
}

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static int rsdp_valid(const uint8_t *p)
{
	if (memcmp(p, "RSD PTR ", 8) || checksum(p, RSDP_V1_LEN))
		return 0;
	return p[15] < 2 || !checksum(p, RSDP_V2_LEN);
}

static uint64_t rsdp_search(uint64_t start, uint64_t len)
{
	for (uint64_t a = start; a + RSDP_V2_LEN <= start + len; a += 16)
		if (rsdp_valid((const uint8_t *)a))
			return a;
	return 0;
}

static const uint8_t *table_at(uint64_t addr)
{
	const uint8_t *t = (const uint8_t *)addr;
	if (!addr || addr >= (4ull << 30))
		return 0; /* tables live below 4 GiB on every machine we boot */
	uint32_t len = rd32(t + 4);
	if (len < SDT_HEADER_LEN || checksum(t, len))
		return 0;
	return t;
}

static const uint8_t *find_table(const char sig[4])
{
	const uint8_t *rsdp = (const uint8_t *)info.rsdp;
	int xsdt = rsdp[15] >= 2 && rd64(rsdp + 24);
	const uint8_t *root = table_at(xsdt ? rd64(rsdp + 24) : rd32(rsdp + 16));
	if (!root)
		return 0;
	uint32_t entry = xsdt ? 8 : 4, n = (rd32(root + 4) - SDT_HEADER_LEN) / entry;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = root + SDT_HEADER_LEN + i * entry;
		const uint8_t *t = table_at(xsdt ? rd64(e) : rd32(e));
		if (t && !memcmp(t, sig, 4))
			return t;
	}
	return 0;
}

/* Name(_S5_, Package(){a, b, ...}): the first two integers are SLP_TYPa/b. */
static void parse_s5(const uint8_t *dsdt)
{
	uint32_t len = rd32(dsdt + 4);
	for (uint32_t i = SDT_HEADER_LEN; i + 8 < len; i++) {
		if (memcmp(dsdt + i, "_S5_", 4) || dsdt[i + 4] != AML_PACKAGE_OP)
			continue;
		const uint8_t *p = dsdt + i + 5;
		p += 1 + (*p >> 6);   /* PkgLength: lead byte plus 0-3 following bytes */
		p++;                  /* NumElements */
		uint8_t v[2];
		for (int k = 0; k < 2; k++) {
			if (*p == AML_BYTE_PREFIX) {
				v[k] = p[1];
				p += 2;
			} else if (*p == AML_ZERO_OP || *p == AML_ONE_OP) {
				v[k] = *p++;
			} else {
				return;
			}
		}
		s5_typ_a = v[0];
		s5_typ_b = v[1];
		s5_found = 1;
		return;
	}
}

static void parse_fadt(const uint8_t *f)
{
	uint32_t len = rd32(f + 4);
	uint32_t flags = len > FADT_FLAGS + 4 ? rd32(f + FADT_FLAGS) : 0;

	info.hw_reduced = !!(flags & FADT_FLAG_HW_REDUCED);
	pm1a_cnt = (uint16_t)rd32(f + FADT_PM1A_CNT);
	pm1b_cnt = (uint16_t)rd32(f + FADT_PM1B_CNT);
	if (f[FADT_PM_TMR_LEN] == 4 && rd32(f + FADT_PM_TMR_BLK) < 0x10000) {
		info.pm_timer_port = (uint16_t)rd32(f + FADT_PM_TMR_BLK);
	} else if (len >= FADT_X_PM_TMR_BLK + 12) {
		struct gas g;
		memcpy(&g, f + FADT_X_PM_TMR_BLK, sizeof(g));
		if (g.space == GAS_SPACE_IO && g.address && g.address < 0x10000)
			info.pm_timer_port = (uint16_t)g.address;
	}
	info.pm_timer_32bit = !!(flags & FADT_FLAG_TMR_VAL_EXT);
	if (len >= FADT_SLEEP_CTRL + 12)
		memcpy(&sleep_ctrl, f + FADT_SLEEP_CTRL, sizeof(sleep_ctrl));
	uint64_t dsdt = len >= FADT_X_DSDT + 8 && rd64(f + FADT_X_DSDT) ? rd64(f + FADT_X_DSDT)
								     : rd32(f + FADT_DSDT);
	const uint8_t *d = table_at(dsdt);
	if (d)
		parse_s5(d);
}

static void parse_mcfg(const uint8_t *m)
{
	uint32_t len = rd32(m + 4);
	for (uint32_t off = MCFG_FIRST_ENTRY; off + MCFG_ENTRY_LEN <= len; off += MCFG_ENTRY_LEN) {
		uint16_t segment;
		memcpy(&segment, m + off + 8, 2);
		if (segment != 0)
			continue;
		info.ecam_base = rd64(m + off);
		info.ecam_bus_start = m[off + 10];
		info.ecam_bus_end = m[off + 11];
		return;
	}
}

static void parse_madt(const uint8_t *m)
{
	uint32_t len = rd32(m + 4);
	for (uint32_t off = MADT_FIRST_ENTRY; off + 2 <= len && m[off + 1] >= 2; off += m[off + 1]) {
		const uint8_t *e = m + off;
		if (e[0] == MADT_IOAPIC && e[1] >= 12 && !info.ioapic_base) {
			info.ioapic_base = rd32(e + 4);
			info.ioapic_gsi_base = rd32(e + 8);
		} else if (e[0] == MADT_ISO && e[1] >= 10 && iso_count < MAX_ISO) {
			uint16_t flags;
			memcpy(&flags, e + 8, 2);
			isos[iso_count].irq = e[3];
			isos[iso_count].route.gsi = rd32(e + 4);
			isos[iso_count].route.level = (flags & MPS_TRIGGER_MASK) == MPS_TRIGGER_LEVEL;
			isos[iso_count].route.active_low = (flags & MPS_POLARITY_MASK) == MPS_POLARITY_LOW;
			isos[iso_count].route.overridden = 1;
			iso_count++;
		}
	}
}

struct irq_route acpi_isa_irq_route(uint8_t irq)
{
	for (unsigned i = 0; i < iso_count; i++)
		if (isos[i].irq == irq)
			return isos[i].route;
	return (struct irq_route){ irq, 0, 0, 0 };
}

void acpi_init(uint64_t rsdp)
{
	if (!rsdp || !rsdp_valid((const uint8_t *)rsdp)) {
		uint64_t ebda = (uint64_t)(*(volatile uint16_t *)BDA_EBDA_SEGMENT) << 4;
		rsdp = ebda ? rsdp_search(ebda, EBDA_SEARCH_LEN) : 0;
		if (!rsdp)
			rsdp = rsdp_search(BIOS_ROM_START, BIOS_ROM_END - BIOS_ROM_START);
	}
	info.rsdp = rsdp;
	if (!rsdp)
		return;
	const uint8_t *t;
	if ((t = find_table("FACP")))
		parse_fadt(t);
	if ((t = find_table("MCFG")))
		parse_mcfg(t);
	if ((t = find_table("APIC")))
		parse_madt(t);
}

const struct acpi_info *acpi(void) { return &info; }

static void gas_write8(const struct gas *g, uint8_t v)
{
	if (g->space == GAS_SPACE_IO)
		outb((uint16_t)g->address, v);
	else if (g->space == GAS_SPACE_MEMORY)
		mmio_write8(g->address, v);
}

void acpi_poweroff(void)
{
	if (!info.rsdp || !s5_found)
		return;
	if (info.hw_reduced && sleep_ctrl.address) {
		gas_write8(&sleep_ctrl, (uint8_t)(((s5_typ_a & 7) << SLEEP_CTRL_TYP_SHIFT) | SLEEP_CTRL_SLP_EN));
		return;
	}
	if (pm1a_cnt)
		outw(pm1a_cnt, (uint16_t)((s5_typ_a << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN));
	if (pm1b_cnt)
		outw(pm1b_cnt, (uint16_t)((s5_typ_b << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN));
}
