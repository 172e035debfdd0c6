/* host/analysis/calibrate.c on synthetic measurements: the arithmetic, the main-loop quantum,
 * the verdict at the edge of its tolerance, the JSON document and where it is kept. No QEMU. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "analysis/calibrate.h"
#include "kvmio_proto.h"
#include "lib/file.h"
#include "helpers.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)

/* A host timer that wakes 40 us late; an iothread path that costs 2 us and then waits exactly
 * as the host timer does; a main loop that costs 35 us and rounds every delay below 1 ms up
 * to ~1.08 ms (issue 10's figures). */
static void synthetic(struct calib_measure *m)
{
	static const double main_p50[CALIB_NDELAYS] = { 35, 1110, 1112, 1111, 1111, 2100 };

	memset(m, 0, sizeof(*m));
	m->ndelays = CALIB_NDELAYS;
	for (int i = 0; i < CALIB_NDELAYS; i++) {
		double d = calib_delays_us[i];

		m->delay_us[i] = d;
		m->host[i] = (struct calib_stat){ d ? d + 40 : 11, d ? d + 60 : 20 };
		m->guest[CALIB_IOTHREAD][i] = (struct calib_stat){ 2 + (d ? d + 40 : 0),
								   3 + (d ? d + 61 : 0) };
		m->guest[CALIB_MAIN_LOOP][i] = (struct calib_stat){ main_p50[i], main_p50[i] + 400 };
	}
}

static const struct calib_row *row(const struct calibration *c, enum calib_path p, double d)
{
	for (int i = 0; i < c->nrows; i++)
		if (c->rows[i].path == p && c->rows[i].delay_us == d)
			return &c->rows[i];
	fail_msg("no row %s %.0f", calib_path_name(p), d);
	return NULL;
}

static void test_tolerance(void **state)
{
	(void)state;
	NEAR(calibrate_tolerance_us(0), 5);
	NEAR(calibrate_tolerance_us(200), 15);
	assert_true(calibrate_agrees(214.9, 200));
	assert_false(calibrate_agrees(215.1, 200));
	assert_true(calibrate_agrees(185.1, 200));
	assert_false(calibrate_agrees(184.9, 200));
}

/* p50 as the guest takes it: nearest rank, the ceil(n/2)-th smallest. */
static void test_stat_of(void **state)
{
	double odd[] = { 5, 1, 4, 2, 3 }, even[] = { 40, 10, 30, 20 };
	struct calib_stat s;

	(void)state;
	calibrate_stat_of(odd, 5, &s);
	NEAR(s.p50_us, 3);
	NEAR(s.mean_us, 3);
	calibrate_stat_of(even, 4, &s);
	NEAR(s.p50_us, 20);
	NEAR(s.mean_us, 25);
	calibrate_stat_of(even, 0, &s);
	assert_true(isnan(s.p50_us));
}

/* Figures minus the same path's zero-delay baseline, beside the host timer as measured. */
static void test_arithmetic(void **state)
{
	struct calib_measure m;
	struct calibration c;
	const struct calib_row *r;

	(void)state;
	synthetic(&m);
	calibrate_compute(&m, &c);
	assert_int_equal(c.nrows, CALIB_NPATHS * CALIB_NDELAYS);
	r = row(&c, CALIB_IOTHREAD, 50);
	NEAR(r->guest_p50_us, 90);
	NEAR(r->guest_mean_us, 111);
	NEAR(r->host_p50_us, 90);
	NEAR(r->host_mean_us, 110);
	NEAR(r->error_p50_us, 0);
	NEAR(r->error_mean_us, 1);
	NEAR(r->tolerance_us, 0.05 * 90 + 5);
	assert_true(r->checked);
	assert_true(r->agrees);
	r = row(&c, CALIB_MAIN_LOOP, 20);
	NEAR(r->guest_p50_us, 1075);
	NEAR(r->guest_mean_us, 1075);
	assert_false(r->checked); /* the main loop is described, not judged */
	assert_false(r->agrees);
	/* delay 0: the baseline itself; null-co arms no timer, nothing to compare */
	r = row(&c, CALIB_IOTHREAD, 0);
	NEAR(r->guest_p50_us, 0);
	NEAR(r->host_p50_us, 11);
	assert_false(r->checked);
	assert_true(c.pass);
	assert_int_equal(c.worst, -1);
}

static void test_quantum_detected(void **state)
{
	struct calib_measure m;
	struct calibration c;
	char text[512];
	double lo = 0, hi = 0;
	static const double d[] = { 0, 20, 50, 100 }, flat[] = { 0, 990, 1010, 1300 },
			    honest[] = { 0, 60, 90, 140 };

	(void)state;
	synthetic(&m);
	calibrate_compute(&m, &c);
	/* 20..200 us all read as ~1.08 ms; 1000 us reads as 2.07 ms, not the same quantum */
	NEAR(c.quantum_us[CALIB_MAIN_LOOP], 1076);
	NEAR(c.quantum_lo_us[CALIB_MAIN_LOOP], 20);
	NEAR(c.quantum_hi_us[CALIB_MAIN_LOOP], 200);
	NEAR(c.quantum_us[CALIB_IOTHREAD], 0);
	assert_int_equal(calibrate_quantum_text(&c, CALIB_MAIN_LOOP, text, sizeof(text)), 1);
	assert_string_equal(text, "main loop: delays of 20 us to 200 us all read as ~1.08 ms: "
			    "QEMU's main-loop timer quantum (the main loop hands its AioContext "
			    "timer deadlines to glib in whole milliseconds)");
	assert_int_equal(calibrate_quantum_text(&c, CALIB_IOTHREAD, text, sizeof(text)), 0);
	/* the group ends at the first delay that is not alike: 1300 is over 25 % from 990 */
	NEAR(calibrate_quantum(d, flat, 4, &lo, &hi), 1000);
	NEAR(hi, 50);
	/* delays read as themselves plus a wake-up: no quantum */
	NEAR(calibrate_quantum(d, honest, 4, &lo, &hi), 0);
	/* one delay alone is no quantum */
	NEAR(calibrate_quantum(d, flat, 2, &lo, &hi), 0);
}

static void test_pass(void **state)
{
	struct calib_measure m;
	struct calibration c;
	char text[512];

	(void)state;
	synthetic(&m);
	calibrate_compute(&m, &c);
	assert_true(c.pass);
	assert_int_equal(c.ndisagree, 0);
	calibrate_verdict_text(&c, text, sizeof(text));
	assert_string_equal(text, "iothread: agrees with the host timer within 5 % + 5 us at all "
			    "5 delays");
}

/* 200 us: the host timer waits 240 us, tolerance 5 % of that + 5 us = 17 us. */
static void test_fail_just_over(void **state)
{
	struct calib_measure m;
	struct calibration c;
	char text[512];

	(void)state;
	synthetic(&m);
	m.guest[CALIB_IOTHREAD][4].p50_us = 2 + 240 + 17.1;
	calibrate_compute(&m, &c);
	assert_false(c.pass);
	assert_int_equal(c.ndisagree, 1);
	assert_true(c.worst >= 0);
	NEAR(c.rows[c.worst].delay_us, 200);
	assert_int_equal(c.rows[c.worst].path, CALIB_IOTHREAD);
	calibrate_verdict_text(&c, text, sizeof(text));
	assert_string_equal(text, "iothread: disagrees with the host timer at 1 of 5 delays (worst: "
			    "200 us read as 257.1 us, the host timer's wait 240.0 us, off by +17.1 "
			    "us, more than 5 % + 5 us = 17.0 us)");
	/* too short counts the same */
	synthetic(&m);
	m.guest[CALIB_IOTHREAD][4].p50_us = 2 + 240 - 17.1;
	calibrate_compute(&m, &c);
	assert_false(c.pass);
}

static void test_pass_just_under(void **state)
{
	struct calib_measure m;
	struct calibration c;

	(void)state;
	synthetic(&m);
	m.guest[CALIB_IOTHREAD][4].p50_us = 2 + 240 + 16.9;
	m.guest[CALIB_IOTHREAD][1].p50_us = 2 + 60 - 7.9; /* 20 us: tolerance 8 us */
	calibrate_compute(&m, &c);
	assert_true(c.pass);
	/* a main loop far from the host timer does not change the verdict */
	m.guest[CALIB_MAIN_LOOP][3].p50_us = 9999;
	calibrate_compute(&m, &c);
	assert_true(c.pass);
}

/* The document of --json and of the saved calibration; read back, the figures are computed
 * again from the measurements. Kept at $KVMIO_STATE_DIR, $XDG_STATE_HOME/kvmio or
 * ~/.local/state/kvmio. */
static void test_json_and_state(void **state)
{
	struct calib_measure m;
	struct calibration c, back;
	struct calib_info info = { .date = "2026-01-05 10:00:00 UTC", .build = "abc", .accel = "tcg",
				   .flavour = "tcg", .accel_why = "tcg, as asked", .ops = 2000 },
			  info2;
	char *dir = dir_make_temp(), *path, err[512], file[600];
	json_t *doc;

	(void)state;
	assert_non_null(dir);
	synthetic(&m);
	m.guest[CALIB_IOTHREAD][4].p50_us = 300; /* a disagreement, to be read back as one */
	calibrate_compute(&m, &c);
	doc = calibrate_json(&c, &info);
	assert_string_equal(json_string_value(json_object_get(doc, "verdict")), "disagrees");
	assert_int_equal(json_integer_value(json_object_get(doc, "exit")), KVMIO_EXIT_CALIBRATION);
	assert_true(json_is_null(json_object_get(json_object_get(doc, "quantum_us"), "iothread")));
	NEAR(json_real_value(json_object_get(json_object_get(doc, "quantum_us"), "main_loop")), 1076);
	assert_int_equal(json_array_size(json_object_get(doc, "rows")), 12);
	assert_int_equal(calibrate_from_json(doc, &back, &info2, err, sizeof(err)), 0);
	json_decref(doc);
	assert_int_equal(back.nrows, c.nrows);
	for (int i = 0; i < c.nrows; i++) {
		NEAR(back.rows[i].guest_p50_us, c.rows[i].guest_p50_us);
		NEAR(back.rows[i].host_mean_us, c.rows[i].host_mean_us);
		assert_int_equal(back.rows[i].agrees, c.rows[i].agrees);
	}
	assert_false(back.pass);
	assert_string_equal(info2.accel_why, "tcg, as asked");
	assert_int_equal(info2.ops, 2000);

	/* where it is kept */
	setenv("HOME", "/home/h", 1);
	setenv("XDG_STATE_HOME", "/xdg", 1);
	setenv("KVMIO_STATE_DIR", dir, 1);
	path = calibrate_state_path();
	snprintf(file, sizeof(file), "%s/calibrate.json", dir);
	assert_string_equal(path, file);
	free(path);
	unsetenv("KVMIO_STATE_DIR");
	path = calibrate_state_path();
	assert_string_equal(path, "/xdg/kvmio/calibrate.json");
	free(path);
	unsetenv("XDG_STATE_HOME");
	path = calibrate_state_path();
	assert_string_equal(path, "/home/h/.local/state/kvmio/calibrate.json");
	free(path);

	/* saved at once (in a directory made for it), loaded back; absent; malformed */
	snprintf(file, sizeof(file), "%s/sub/calibrate.json", dir);
	assert_int_equal(calibrate_load(file, &back, &info2, err, sizeof(err)), 1);
	assert_int_equal(calibrate_save(file, &c, &info), 0);
	assert_int_equal(access(file, F_OK), 0);
	strcat(file, ".tmp");
	assert_int_not_equal(access(file, F_OK), 0);
	file[strlen(file) - 4] = '\0';
	assert_int_equal(calibrate_load(file, &back, &info2, err, sizeof(err)), 0);
	NEAR(back.rows[10].guest_p50_us, 298);
	test_write_file(file, "{\"calibrate\":1,\"measured\":{}}");
	assert_int_equal(calibrate_load(file, &back, &info2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "delays_us"));
	test_write_file(file, "{ not json");
	assert_int_equal(calibrate_load(file, &back, &info2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "calibrate.json:1:"));
	dir_remove_tree(dir);
	free(dir);
}

/* Usage errors are refused before anything boots. */
static void test_usage(void **state)
{
	char *bad_ops[] = { "--ops", "0" }, *bad_accel[] = { "--accel", "hvf" },
	     *unknown[] = { "--fast" }, *missing[] = { "--ops" };

	(void)state;
	assert_int_equal(cmd_calibrate(2, bad_ops), KVMIO_EXIT_BADCONFIG);
	assert_int_equal(cmd_calibrate(2, bad_accel), KVMIO_EXIT_BADCONFIG);
	assert_int_equal(cmd_calibrate(1, unknown), KVMIO_EXIT_BADCONFIG);
	assert_int_equal(cmd_calibrate(1, missing), KVMIO_EXIT_BADCONFIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tolerance),
		cmocka_unit_test(test_stat_of),
		cmocka_unit_test(test_arithmetic),
		cmocka_unit_test(test_quantum_detected),
		cmocka_unit_test(test_pass),
		cmocka_unit_test(test_fail_just_over),
		cmocka_unit_test(test_pass_just_under),
		cmocka_unit_test(test_json_and_state),
		cmocka_unit_test(test_usage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
