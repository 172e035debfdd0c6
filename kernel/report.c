#include "report.h"
#include "crc32.h"
#include "lib.h"
#include "pci.h"
#include "serial.h"

#define REC_PREFIX KVMIO_PROTO_PREFIX " " KVMIO_PROTO_VERSION_STR " "
#define REC_MAX 4096
#define REC_CRC_ROOM 16 /* " crc=XXXXXXXX\n" */

static char rec_buf[REC_MAX];
static unsigned rec_len;
static unsigned rec_seq;
static int rec_overflow;

static void rec_append(const char *s, unsigned n)
{
	if (rec_len + n > REC_MAX - REC_CRC_ROOM) {
		rec_overflow = 1;
		return;
	}
	memcpy(rec_buf + rec_len, s, n);
	rec_len += n;
}

void rec_put_char(char c) { rec_append(&c, 1); }

void rec_put_u64(uint64_t v)
{
	char tmp[20];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		rec_put_char(tmp[--n]);
}

void rec_put_hex(uint64_t v, int digits)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[16];
	int n = 0;
	do {
		tmp[n++] = hex[v & 15];
		v >>= 4;
	} while (v && n < 16);
	while (n < digits && n < 16)
		tmp[n++] = '0';
	while (n)
		rec_put_char(tmp[--n]);
}

void rec_field(const char *key)
{
	rec_put_char(' ');
	rec_append(key, (unsigned)strlen(key));
	rec_put_char('=');
}

void rec_begin(const char *type)
{
	rec_len = 0;
	rec_overflow = 0;
	rec_append(REC_PREFIX, sizeof(REC_PREFIX) - 1);
	rec_append(type, (unsigned)strlen(type));
	rec_field("seq");
	rec_put_u64(rec_seq);
}

void rec_strn(const char *key, const char *value, uint64_t len)
{
	rec_field(key);
	if (len == 0)
		rec_put_char('-'); /* a value is never empty */
	for (uint64_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)value[i];
		if (c > 0x20 && c < 0x7f && c != '%') {
			rec_put_char((char)c);
		} else {
			rec_put_char('%');
			rec_put_hex(c, 2);
		}
	}
}

void rec_str(const char *key, const char *value) { rec_strn(key, value, strlen(value)); }

void rec_u64(const char *key, uint64_t value)
{
	rec_field(key);
	rec_put_u64(value);
}

void rec_hex(const char *key, uint64_t value)
{
	rec_field(key);
	rec_append("0x", 2);
	rec_put_hex(value, 1);
}

void rec_ratio2(const char *key, uint64_t num, uint64_t den)
{
	rec_field(key);
	if (den == 0) {
		rec_put_char('0');
		return;
	}
	/* Round half up to two decimals; exact inputs (total, ops) are reported beside it. */
	unsigned __int128 scaled = ((unsigned __int128)num * 100 + den / 2) / den;
	rec_put_u64((uint64_t)(scaled / 100));
	rec_put_char('.');
	rec_put_char((char)('0' + (uint64_t)(scaled % 100) / 10));
	rec_put_char((char)('0' + (uint64_t)(scaled % 10)));
}

void rec_end(void)
{
	if (rec_overflow) {
		/* Never emit a cut record: replace it by an error the host will see. */
		rec_begin("error");
		rec_str("code", "internal");
		rec_str("msg", "record longer than 4096 bytes dropped");
	}
	/* rec_append keeps REC_CRC_ROOM free, so the checksum always fits. */
	static const char hex[] = "0123456789abcdef";
	uint32_t crc = crc32_update(0, rec_buf, rec_len);
	memcpy(rec_buf + rec_len, " crc=", 5);
	rec_len += 5;
	for (int shift = 28; shift >= 0; shift -= 4)
		rec_buf[rec_len++] = hex[(crc >> shift) & 15];
	rec_buf[rec_len++] = '\n';
	serial_write(rec_buf, rec_len);
	rec_seq++;
	rec_len = 0;
}

void rec_bdf(const struct pci_dev *d)
{
	rec_field("bdf");
	rec_put_hex(d->bus, 2);
	rec_put_char(':');
	rec_put_hex(d->dev, 2);
	rec_put_char('.');
	rec_put_hex(d->fn, 1);
}

void rec_begin_device_error(const char *model, const char *msg)
{
	rec_begin("error");
	rec_str("code", "device");
	rec_str("msg", msg);
	rec_str("model", model);
}

int report_device_error(const char *model, const struct pci_dev *d, const char *msg)
{
	rec_begin_device_error(model, msg);
	rec_bdf(d);
	rec_end();
	return -1;
}

unsigned report_count(void) { return rec_seq; }

void report_error(const char *code, const char *msg)
{
	rec_begin("error");
	rec_str("code", code);
	rec_str("msg", msg);
	rec_end();
}

void report_error_key(const char *code, const char *msg, const char *key)
{
	rec_begin("error");
	rec_str("code", code);
	rec_str("msg", msg);
	if (key)
		rec_str("key", key);
	rec_end();
}

void report_fail(enum guest_status status, const char *code, const char *msg)
{
	report_error(code, msg);
	report_finish(status);
}

void report_finish(enum guest_status status)
{
	static const char *const names[] = KVMIO_STATUS_NAMES;
	rec_begin("end");
	rec_str("status", names[status]);
	rec_u64("records", rec_seq);
	rec_end();
	machine_exit(status);
}
