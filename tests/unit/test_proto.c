/* Unit tests of the protocol parser (host/proto.c) and the report formats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "proto/proto.h"
#include "analysis/report.h"
#include "proto/figures.h"

/* ---- building logs ----------------------------------------------------------------------- */

struct text {
	char *s;
	size_t len;
};

static void text_add(struct text *t, const char *data, size_t len)
{
	t->s = realloc(t->s, t->len + len + 1);
	assert_non_null(t->s);
	memcpy(t->s + t->len, data, len);
	t->len += len;
	t->s[t->len] = '\0';
}

static void text_str(struct text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

/* One valid record line "@kvmio 1 TYPE seq=SEQ FIELDS crc=...\n" appended to t. */
static void text_record(struct text *t, const char *type, unsigned seq, const char *fields)
{
	char body[8192], line[8300];

	snprintf(body, sizeof(body), "@kvmio 1 %s seq=%u%s%s", type, seq, fields[0] ? " " : "",
		 fields);
	snprintf(line, sizeof(line), "%s crc=%08x\n", body, crc32_update(0, body, strlen(body)));
	text_str(t, line);
}

static const char hello_fields[] =
	"build=test boot=multiboot cmdline=kvmio.elf%20bench=exits cpu_vendor=GenuineIntel "
	"cpu_family=6 cpu_model=85 cpu_stepping=4 cpus=1 hv=TCGTCGTCGTCG accel=tcg "
	"tsc_hz=1000000000 tsc_method=pit invtsc=0 ts_cost=30 ts=lfence-rdtsc-lfence";
static const char result_fields[] =
	"bench=exits name=cpuid ops=2 total=300 min=100 p50=100 p90=200 p99=200 p999=200 max=200 "
	"mean=150.00 hist=96:1,192:1";

/* hello, pci, result, end: four records. */
static struct text good_log(void)
{
	struct text t = { 0 };

	text_record(&t, "hello", 0, hello_fields);
	text_record(&t, "pci", 1, "bdf=00:03.0 id=1b36:0005 class=00ff00 bar0=mem32:0xfe000000:4096");
	text_record(&t, "result", 2, result_fields);
	text_record(&t, "end", 3, "status=ok records=3");
	return t;
}

static int parse_text(struct log *log, const struct text *t)
{
	return log_parse_buffer(log, "t.log", t->s ? t->s : "", t->len);
}

/* Parse, check the status and the line of the problem, free. */
static void expect(const struct text *t, int status, int line)
{
	struct log log;

	assert_int_equal(parse_text(&log, t), status);
	assert_int_equal(log.status, status);
	if (status != KVMIO_EXIT_OK) {
		assert_true(log.err[0] != '\0');
		assert_int_equal(log.err_line, line);
	}
	log_free(&log);
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_good_log(void **state)
{
	struct text t = good_log();
	struct log log;
	uint64_t v;

	(void)state;
	assert_int_equal(parse_text(&log, &t), KVMIO_EXIT_OK);
	assert_int_equal(log.nrecs, 4);
	assert_string_equal(log.err, "");
	assert_string_equal(log.recs[0].type, "hello");
	assert_string_equal(record_get(&log.recs[0], "accel"), "tcg");
	assert_string_equal(record_get(&log.recs[0], "cmdline"), "kvmio.elf bench=exits");
	assert_int_equal(record_get_u64(&log.recs[2], "p99", &v), 0);
	assert_int_equal(v, 200);
	assert_null(record_get(&log.recs[2], "nonexistent"));
	assert_int_not_equal(record_get_u64(&log.recs[0], "hv", &v), 0);
	assert_non_null(log_find(&log, "result", "name", "cpuid"));
	assert_null(log_find(&log, "result", "name", "rdmsr"));
	assert_int_equal(log_find(&log, "end", NULL, NULL)->line, 4);
	log_free(&log);
	free(t.s);
}

static void test_noise_and_crlf(void **state)
{
	struct text t = { 0 };
	struct text rec = { 0 };
	struct log log;

	(void)state;
	text_str(&t, "\x1b[2J\x1b[0mSeaBIOS (version 1.16)\r\nBooting from ROM..\n");
	text_record(&rec, "hello", 0, hello_fields);
	/* Firmware text left on the same line before the prefix, and CRLF. */
	rec.s[rec.len - 1] = '\r';
	text_str(&t, "Booting...");
	text_str(&t, rec.s);
	text_str(&t, "\n\nsome noise without prefix @kvmi0\n");
	free(rec.s);
	rec = (struct text){ 0 };
	text_record(&rec, "end", 1, "status=ok records=1");
	text_str(&t, rec.s);
	text_str(&t, "trailing noise without newline");
	assert_int_equal(parse_text(&log, &t), KVMIO_EXIT_OK);
	assert_int_equal(log.nrecs, 2);
	assert_int_equal(log.recs[0].line, 3);
	log_free(&log);
	free(rec.s);
	free(t.s);
}

static void test_truncated(void **state)
{
	struct text t = good_log();

	(void)state;
	t.len -= 10; /* the end record loses its crc and newline */
	expect(&t, KVMIO_EXIT_TRUNCATED, 4);
	t.len = strchr(t.s, '\n') - t.s + 7; /* "@kvmio" of the second line, nothing more */
	expect(&t, KVMIO_EXIT_TRUNCATED, 2);
	free(t.s);
}

static void test_missing_end(void **state)
{
	struct text t = good_log();
	struct text empty = { 0 };

	(void)state;
	*strstr(t.s, "@kvmio 1 end") = '\0';
	t.len = strlen(t.s);
	expect(&t, KVMIO_EXIT_NO_END, 3);
	expect(&empty, KVMIO_EXIT_NO_END, 0);
	text_str(&empty, "only firmware noise\n");
	expect(&empty, KVMIO_EXIT_NO_END, 1);
	free(empty.s);
	free(t.s);
}

static void test_corrupt_crc(void **state)
{
	struct text t = good_log();
	char *p = strstr(t.s, "name=cpuid");

	(void)state;
	p[5] = 'C'; /* one byte of the result line */
	expect(&t, KVMIO_EXIT_CORRUPT, 3);
	p[5] = 'c';
	expect(&t, KVMIO_EXIT_OK, 0);
	p = strstr(t.s, "crc=") + 4; /* a digit of the crc itself */
	*p = *p == '0' ? '1' : '0';
	expect(&t, KVMIO_EXIT_CORRUPT, 1);
	free(t.s);
}

static void test_bad_syntax(void **state)
{
	struct text t = { 0 };

	(void)state;
	text_record(&t, "hello", 0, "build=x  boot=multiboot"); /* doubled space */
	expect(&t, KVMIO_EXIT_CORRUPT, 1);
	free(t.s);
	t = (struct text){ 0 };
	text_record(&t, "hello", 0, "build=%zz boot=multiboot"); /* bad escape */
	expect(&t, KVMIO_EXIT_CORRUPT, 1);
	free(t.s);
	t = (struct text){ 0 };
	text_record(&t, "hello", 0, "Build=x"); /* upper-case key */
	expect(&t, KVMIO_EXIT_CORRUPT, 1);
	free(t.s);
	t = (struct text){ 0 };
	text_record(&t, "hello", 0, "build="); /* empty value */
	expect(&t, KVMIO_EXIT_CORRUPT, 1);
	free(t.s);
	t = (struct text){ 0 };
	text_str(&t, "@kvmio 1 hello seq=0 build=x\n"); /* no crc */
	expect(&t, KVMIO_EXIT_CORRUPT, 1);
	free(t.s);
}

static void test_reordered(void **state)
{
	struct text t = { 0 };

	(void)state;
	text_record(&t, "hello", 0, hello_fields);
	text_record(&t, "result", 2, result_fields);
	text_record(&t, "pci", 1, "bdf=00:03.0 id=1b36:0005 class=00ff00");
	text_record(&t, "end", 3, "status=ok records=3");
	expect(&t, KVMIO_EXIT_SEQUENCE, 2);
	free(t.s);
}

static void test_duplicated_line(void **state)
{
	struct text t = { 0 };

	(void)state;
	text_record(&t, "hello", 0, hello_fields);
	text_record(&t, "result", 1, result_fields);
	text_record(&t, "result", 1, result_fields);
	text_record(&t, "end", 2, "status=ok records=2");
	expect(&t, KVMIO_EXIT_SEQUENCE, 3);
	free(t.s);
}

static void test_unknown_version(void **state)
{
	struct text t = good_log();

	(void)state;
	/* A version-2 line: the checksum need not even match for the log to be refused. */
	memcpy(t.s, "@kvmio 2", 8);
	expect(&t, KVMIO_EXIT_VERSION, 1);
	free(t.s);
	t = (struct text){ 0 };
	text_str(&t, "@kvmio 17 hello seq=0 crc=00000000\n");
	expect(&t, KVMIO_EXIT_VERSION, 1);
	free(t.s);
}

static void test_oversized_line(void **state)
{
	struct text t = { 0 };
	char fields[KVMIO_PROTO_MAX_LINE + 100];

	(void)state;
	snprintf(fields, sizeof(fields), "build=");
	memset(fields + 6, 'x', KVMIO_PROTO_MAX_LINE);
	fields[6 + KVMIO_PROTO_MAX_LINE] = '\0';
	text_record(&t, "hello", 0, fields);
	expect(&t, KVMIO_EXIT_CORRUPT, 1);
	free(t.s);
	/* Exactly at the limit is fine as far as length goes. */
	t = (struct text){ 0 };
	{
		size_t base = strlen("@kvmio 1 hello seq=0 ") + strlen(" crc=12345678");
		size_t room = KVMIO_PROTO_MAX_LINE - base - strlen(hello_fields) - strlen(" pad=");

		snprintf(fields, sizeof(fields), "%s pad=", hello_fields);
		memset(fields + strlen(fields), 'y', room);
		fields[strlen(hello_fields) + 5 + room] = '\0';
	}
	text_record(&t, "hello", 0, fields);
	assert_int_equal(strchr(t.s, '\n') - t.s, KVMIO_PROTO_MAX_LINE);
	text_record(&t, "end", 1, "status=ok records=1");
	expect(&t, KVMIO_EXIT_OK, 0);
	free(t.s);
}

static void test_binary_garbage(void **state)
{
	struct text t = { 0 };
	struct text rec = { 0 };
	char junk[4096];
	unsigned seed = 12345;

	(void)state;
	for (size_t i = 0; i < sizeof(junk); i++) {
		seed = seed * 1103515245 + 12345;
		junk[i] = (char)(seed >> 16);
	}
	junk[10] = '\0';
	junk[11] = '\n';
	/* Garbage alone: no records. */
	text_add(&t, junk, sizeof(junk));
	{
		struct log log;

		assert_int_equal(parse_text(&log, &t), KVMIO_EXIT_NO_END);
		log_free(&log);
	}
	/* Garbage mixed into noise lines around a good log. */
	text_str(&t, "\n");
	text_record(&t, "hello", 0, hello_fields);
	text_add(&t, junk, sizeof(junk));
	text_str(&t, "\n");
	text_record(&t, "end", 1, "status=ok records=1");
	{
		struct log log;

		assert_int_equal(parse_text(&log, &t), KVMIO_EXIT_OK);
		assert_int_equal(log.nrecs, 2);
		log_free(&log);
	}
	/* A NUL or control byte inside a record line is corruption. */
	text_record(&rec, "hello", 0, hello_fields);
	rec.s[20] = '\0';
	expect(&rec, KVMIO_EXIT_CORRUPT, 1);
	rec.s[20] = '\x01';
	expect(&rec, KVMIO_EXIT_CORRUPT, 1);
	free(rec.s);
	free(t.s);
}

static void test_missing_field(void **state)
{
	struct text t = { 0 };

	(void)state;
	text_record(&t, "hello", 0, hello_fields);
	text_record(&t, "result", 1, "bench=exits name=cpuid ops=2 total=300 min=100 p50=100 "
				      "p90=200 p99=200 p999=200 max=200 mean=150.00");
	text_record(&t, "end", 2, "status=ok records=2");
	expect(&t, KVMIO_EXIT_SEQUENCE, 2);
	free(t.s);
	t = (struct text){ 0 };
	text_record(&t, "hello", 0, "build=x boot=multiboot tsc_hz=0 tsc_method=none");
	text_record(&t, "end", 1, "status=ok records=1");
	expect(&t, KVMIO_EXIT_SEQUENCE, 1); /* no accel */
	free(t.s);
}

static void test_duplicate_key(void **state)
{
	struct text t = { 0 };
	char f[1024];

	(void)state;
	snprintf(f, sizeof(f), "%s accel=kvm", hello_fields);
	text_record(&t, "hello", 0, f);
	text_record(&t, "end", 1, "status=ok records=1");
	expect(&t, KVMIO_EXIT_SEQUENCE, 1);
	free(t.s);
}

static void test_record_after_end(void **state)
{
	struct text t = good_log();

	(void)state;
	text_record(&t, "result", 4, result_fields);
	expect(&t, KVMIO_EXIT_SEQUENCE, 5);
	free(t.s);
}

static void test_first_record(void **state)
{
	struct text t = { 0 };

	(void)state;
	text_record(&t, "result", 0, result_fields);
	text_record(&t, "end", 1, "status=ok records=1");
	expect(&t, KVMIO_EXIT_SEQUENCE, 1);
	free(t.s);
	t = (struct text){ 0 };
	text_record(&t, "hello", 0, hello_fields);
	text_record(&t, "frobnicate", 1, "x=1");
	text_record(&t, "end", 2, "status=ok records=2");
	expect(&t, KVMIO_EXIT_SEQUENCE, 2);
	free(t.s);
}

static void test_end_records_mismatch(void **state)
{
	struct text t = { 0 };

	(void)state;
	text_record(&t, "hello", 0, hello_fields);
	text_record(&t, "end", 1, "status=ok records=2");
	expect(&t, KVMIO_EXIT_SEQUENCE, 2);
	free(t.s);
}

static void test_error_record(void **state)
{
	struct text t = { 0 };
	struct log log;

	(void)state;
	text_record(&t, "error", 0, "code=exception msg=page%20fault vector=14 rip=0x1000");
	text_record(&t, "end", 1, "status=fail records=1");
	assert_int_equal(parse_text(&log, &t), KVMIO_EXIT_GUEST_FAIL);
	assert_int_equal(log.err_line, 1);
	assert_non_null(strstr(log.err, "page fault"));
	log_free(&log);
	free(t.s);
	/* The message stays one printable line whatever the guest wrote. */
	t = (struct text){ 0 };
	text_record(&t, "error", 0, "code=device msg=two%0alines%1b[0m%ff");
	text_record(&t, "end", 1, "status=fail records=1");
	assert_int_equal(parse_text(&log, &t), KVMIO_EXIT_GUEST_FAIL);
	assert_non_null(strstr(log.err, "two?lines?[0m?"));
	log_free(&log);
	free(t.s);
	/* An error record fails the log even if end claims ok. */
	t = (struct text){ 0 };
	text_record(&t, "hello", 0, hello_fields);
	text_record(&t, "error", 1, "code=device msg=x");
	text_record(&t, "end", 2, "status=ok records=2");
	expect(&t, KVMIO_EXIT_GUEST_FAIL, 2);
	free(t.s);
	t = (struct text){ 0 };
	text_record(&t, "hello", 0, hello_fields);
	text_record(&t, "end", 1, "status=fail records=1");
	expect(&t, KVMIO_EXIT_GUEST_FAIL, 2);
	free(t.s);
	/* A virtio disk whose device asked for no notify and never took the published request:
	 * the message says it is a wake-up lost between the guest and QEMU; with the device
	 * behind (ring_used below ring_taken is impossible; ring_used != ring_taken: it did take
	 * it) no hint. */
	static const char *const cases[][2] = {
		{ "ring_published=2558 ring_used=2557 ring_taken=2557 ring_last_kick=suppressed", "1" },
		{ "ring_published=2558 ring_used=2557 ring_taken=2557 ring_last_kick=sent", "0" },
		{ "ring_published=2558 ring_used=2558 ring_taken=2557 ring_last_kick=suppressed", "0" },
		{ "ring_published=2557 ring_used=2557 ring_taken=2557 ring_last_kick=suppressed", "0" },
		{ "ring_published=2558 ring_taken=2557 ring_last_kick=suppressed", "0" },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char fields[512];

		snprintf(fields, sizeof(fields), "code=device msg=device%%20stopped model=virtio-blk "
			 "what=no%%20completion lba=0 status=0x0 error=0x0 ring_queue=0 %s",
			 cases[k][0]);
		t = (struct text){ 0 };
		text_record(&t, "hello", 0, hello_fields);
		text_record(&t, "error", 1, fields);
		text_record(&t, "end", 2, "status=fail records=2");
		assert_int_equal(parse_text(&log, &t), KVMIO_EXIT_GUEST_FAIL);
		assert_non_null(strstr(log.err, "guest error device: device stopped"));
		assert_int_equal(strstr(log.err, "a wake-up lost between the guest and QEMU") != NULL,
				 cases[k][1][0] == '1');
		assert_int_equal(proto_lost_wakeup(&log.recs[1]), cases[k][1][0] == '1');
		log_free(&log);
		free(t.s);
	}
}

static void test_badconfig(void **state)
{
	struct text t = { 0 };
	struct log log;

	(void)state;
	text_record(&t, "hello", 0, hello_fields);
	text_record(&t, "error", 1, "code=badconfig msg=unknown%20option key=bogus value=1");
	text_record(&t, "end", 2, "status=badconfig records=2");
	assert_int_equal(parse_text(&log, &t), KVMIO_EXIT_BADCONFIG);
	assert_non_null(strstr(log.err, "bogus"));
	log_free(&log);
	free(t.s);
}

static void test_timeout(void **state)
{
	struct text t = { 0 };

	(void)state;
	text_record(&t, "hello", 0, hello_fields);
	text_record(&t, "timeout", 1, "after_s=30 rip=0xffff");
	text_record(&t, "end", 2, "status=timeout records=2");
	expect(&t, KVMIO_EXIT_TIMEOUT, 2);
	free(t.s);
	t = (struct text){ 0 };
	text_record(&t, "hello", 0, hello_fields);
	text_record(&t, "end", 1, "status=timeout records=1");
	expect(&t, KVMIO_EXIT_TIMEOUT, 2);
	free(t.s);
	t = (struct text){ 0 };
	text_record(&t, "hello", 0, hello_fields);
	text_record(&t, "end", 1, "status=maybe records=1");
	expect(&t, KVMIO_EXIT_SEQUENCE, 2);
	free(t.s);
}

static void test_escapes(void **state)
{
	struct text t = { 0 };
	struct log log;

	(void)state;
	text_record(&t, "hello", 0, hello_fields);
	text_record(&t, "skip", 1, "bench=exits name=a%2fb reason=100%25%20sure%0a%3D%7e");
	text_record(&t, "end", 2, "status=ok records=2");
	assert_int_equal(parse_text(&log, &t), KVMIO_EXIT_OK);
	assert_string_equal(record_get(&log.recs[1], "name"), "a/b");
	assert_string_equal(record_get(&log.recs[1], "reason"), "100% sure\n=~");
	log_free(&log);
	free(t.s);
}

/* Run a report into a memory buffer. */
static char *render(const struct log *log, int kind)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	if (kind == 0)
		report_table(f, log, NULL);
	else if (kind == 1) {
		report_csv_header(f, NULL);
		report_csv_rows(f, log, NULL);
	} else
		report_json(f, log, 1, NULL);
	fclose(f);
	return buf;
}

static void test_reports(void **state)
{
	struct text t = good_log();
	struct log log;
	char *out;

	(void)state;
	assert_int_equal(parse_text(&log, &t), KVMIO_EXIT_OK);
	out = render(&log, 0);
	assert_non_null(strstr(out, "TCG: emulation figures, not KVM figures"));
	assert_non_null(strstr(out, "1b36:0005"));
	assert_non_null(strstr(out, "150.0")); /* mean 150 cycles at 1 GHz = 150 ns */
	free(out);
	out = render(&log, 1);
	assert_string_equal(out,
		"log,boot,accel,tsc_hz,tsc_method,bench,name,ops,total,min,p50,p90,p99,p999,max,"
		"mean,p50_ns,p99_ns,mean_ns,dev,model,transport,irq,wait,rw,bs,qd,bytes,elapsed,pio_r,"
		"pio_w,mmio_r,mmio_w,irqs,ticks,harness_mean,flushes,verify,iops,mbps,acc_per_op,"
		"irq_per_op,rxdev,size,burst,frames,sent,rx,rx_ok,lost,corrupt,reordered,dup,"
		"foreign,missed,arp,icmp,udp,other,frames_per_s,gbit_per_s,acc_per_pkt,irq_per_pkt\n"
		"t.log,multiboot,tcg,1000000000,pit,exits,cpuid,2,300,100,100,200,200,200,200,"
		"150.00,100.0,200.0,150.0,,,,,,,,,,,,,,,,,,,,,,,"
		",,,,,,,,,,,,,,,,,,,,,\n"); /* disk and net columns empty */
	free(out);
	out = render(&log, 2);
	assert_non_null(strstr(out, "{\"logs\":[{\"file\":\"t.log\",\"status\":0,\"error\":null"));
	assert_non_null(strstr(out, "\"p99\":200,"));
	assert_non_null(strstr(out, "\"cmdline\":\"kvmio.elf bench=exits\""));
	assert_non_null(strstr(out, "\"mean_ns\":150.0}"));
	free(out);
	log_free(&log);
	free(t.s);
}

static void test_json_escaping_and_no_tsc(void **state)
{
	struct text t = { 0 };
	struct log log;
	char *out;

	(void)state;
	text_record(&t, "hello", 0, "build=a%22b%5cc%01 boot=pvh tsc_hz=0 tsc_method=none accel=kvm");
	text_record(&t, "result", 1, result_fields);
	text_record(&t, "end", 2, "status=ok records=2");
	assert_int_equal(parse_text(&log, &t), KVMIO_EXIT_OK);
	out = render(&log, 2);
	assert_non_null(strstr(out, "\"build\":\"a\\\"b\\\\c\\u0001\""));
	assert_non_null(strstr(out, "\"p50_ns\":null"));
	free(out);
	out = render(&log, 1);
	assert_non_null(strstr(out, ",150.00,,,,,,,,,,,,,,,,,,,,,,,,,,"
				    ",,,,,,,,,,,,,,,,,,,,,\n")); /* + 23 disk, 21 net columns */
	free(out);
	out = render(&log, 0);
	assert_null(strstr(out, "TCG: emulation"));
	free(out);
	log_free(&log);
	free(t.s);
}

/* Figures derived on the host: steady-state drift from half_ops/half_elapsed, and latency with
 * the timestamp cost (hello ts_cost) taken out. */
static void test_drift_and_net_latency(void **state)
{
	struct text t = { 0 };
	struct log log;
	struct result_figures f;
	double ns;

	(void)state;
	text_record(&t, "hello", 0, hello_fields); /* tsc_hz=1e9, ts_cost=30 */
	/* 1000 ops in 2e6 cycles; the first half 500 ops in 0.8e6, the second 500 in 1.2e6:
	 * the second half's rate is 2/3 of the first's: -33.33 % */
	text_record(&t, "result", 1, "bench=disk name=randread-4k-qd1 ops=1000 total=900000 min=100 "
		    "p50=830 p90=1000 p99=1030 p999=1030 max=1030 mean=900.00 hist=768:1000 "
		    "elapsed=2000000 half_ops=500 half_elapsed=800000 bytes=4096000");
	/* no halves: no drift */
	text_record(&t, "result", 2, "bench=disk name=read-4k-qd1 ops=10 total=1000 min=100 "
		    "p50=100 p90=100 p99=100 p999=100 max=100 mean=100.00 hist=96:10 "
		    "elapsed=1000 bytes=40960");
	text_record(&t, "end", 3, "status=ok records=3");
	assert_int_equal(parse_text(&log, &t), KVMIO_EXIT_OK);
	result_figures(&log.recs[1], log_tsc_hz(&log), &f);
	assert_true(f.has_drift);
	assert_true(f.drift_pct > -33.34 && f.drift_pct < -33.33);
	assert_int_equal(latency_net_ns(&log.recs[1], &log, "p50", &ns), 0);
	assert_true(ns > 799.9 && ns < 800.1); /* 830 - 30 cycles at 1 GHz */
	assert_int_equal(latency_net_ns(&log.recs[1], &log, "p99", &ns), 0);
	assert_true(ns > 999.9 && ns < 1000.1);
	result_figures(&log.recs[2], log_tsc_hz(&log), &f);
	assert_false(f.has_drift);
	assert_int_equal(latency_net_ns(&log.recs[2], &log, "p42", &ns), -1);
	log_free(&log);
	free(t.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_log),
		cmocka_unit_test(test_noise_and_crlf),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_missing_end),
		cmocka_unit_test(test_corrupt_crc),
		cmocka_unit_test(test_bad_syntax),
		cmocka_unit_test(test_reordered),
		cmocka_unit_test(test_duplicated_line),
		cmocka_unit_test(test_unknown_version),
		cmocka_unit_test(test_oversized_line),
		cmocka_unit_test(test_binary_garbage),
		cmocka_unit_test(test_missing_field),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_record_after_end),
		cmocka_unit_test(test_first_record),
		cmocka_unit_test(test_end_records_mismatch),
		cmocka_unit_test(test_error_record),
		cmocka_unit_test(test_badconfig),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_reports),
		cmocka_unit_test(test_json_escaping_and_no_tsc),
		cmocka_unit_test(test_drift_and_net_latency),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
