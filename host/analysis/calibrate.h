/*
 * `kvmio calibrate`: the instrument checked against known delays. The guest times 4K random
 * reads (qd 1, polled) of a virtio-blk disk on null-co whose latency-ns injects each delay, once
 * through QEMU's main loop and once through an iothread; a host thread times clock_nanosleep
 * waits of the same delays, as many. The arithmetic and the verdict are pure functions
 * (calibrate_compute); the last calibration of this host is kept as JSON where `kvmio report`
 * finds it (calibrate_state_path).
 */
#ifndef KVMIO_HOST_ANALYSIS_CALIBRATE_H
#define KVMIO_HOST_ANALYSIS_CALIBRATE_H
#include <stddef.h>
#include <stdio.h>
#include <jansson.h>

#define CALIB_NDELAYS 6             /* the delays of calib_delays_us: 0 (the baseline) first */
#define CALIB_TOL_REL 0.05          /* the iothread path agrees with the host timer when its  */
#define CALIB_TOL_ABS_US 5.0        /* figure is within 5 % of the timer's p50 + 5 us         */
#define CALIB_QUANTUM_FACTOR 2.0    /* a quantum: delays reading as at least twice themselves */
#define CALIB_QUANTUM_SPREAD 0.25   /* ... and within 25 % of one another                     */
#define CALIB_DEFAULT_OPS 2000
#define CALIB_STATE_FILE "calibrate.json"

extern const double calib_delays_us[CALIB_NDELAYS];

enum calib_path { CALIB_MAIN_LOOP, CALIB_IOTHREAD, CALIB_NPATHS };

/* "main loop", "iothread" (tables); "main_loop", "iothread" (JSON keys). */
const char *calib_path_name(enum calib_path p);
const char *calib_path_key(enum calib_path p);

struct calib_stat {
	double p50_us, mean_us;     /* p50: nearest rank, as the guest computes it */
};

/* What one calibration measured, as measured. */
struct calib_measure {
	int ndelays;                                          /* delay_us[0] is 0: the baseline */
	double delay_us[CALIB_NDELAYS];
	struct calib_stat guest[CALIB_NPATHS][CALIB_NDELAYS]; /* the guest's read latency */
	struct calib_stat host[CALIB_NDELAYS];                /* the host thread's timed waits */
};

/* One line of the table. */
struct calib_row {
	double delay_us;
	enum calib_path path;
	double guest_p50_us, guest_mean_us; /* minus the same path's figure at delay 0 */
	double host_p50_us, host_mean_us;   /* the host timer's waits of this delay, as measured */
	double error_p50_us, error_mean_us; /* guest - host */
	double tolerance_us;                /* calibrate_tolerance_us(host_p50_us) */
	int checked;                        /* the verdict looks at it: iothread path, delay > 0 */
	int agrees;                         /* |error_p50_us| <= tolerance_us */
};

struct calibration {
	struct calib_measure m;
	struct calib_row rows[CALIB_NPATHS * CALIB_NDELAYS]; /* path by path, delay by delay */
	int nrows;
	double quantum_us[CALIB_NPATHS];    /* the timer quantum a path shows; 0: none */
	double quantum_lo_us[CALIB_NPATHS], quantum_hi_us[CALIB_NPATHS]; /* the delays reading so */
	int pass;                           /* every checked row agrees */
	int ndisagree;
	int worst;                          /* the checked row furthest out of tolerance; -1 */
};

/* Where and how a calibration was made (not part of the arithmetic). */
struct calib_info {
	char date[64];
	char build[128];                    /* the guest's build (its hello record) */
	char accel[16];                     /* kvm or tcg */
	char flavour[400];                  /* docs/accel.md */
	char accel_why[512];
	int ops;
	char retried[2048];                 /* boots that failed and were made once more, why */
};

/* The tolerance of the verdict at a host timer p50: CALIB_TOL_REL of it + CALIB_TOL_ABS_US. */
double calibrate_tolerance_us(double host_p50_us);
/* 1 if a guest figure agrees with the host timer's within that tolerance. */
int calibrate_agrees(double guest_p50_us, double host_p50_us);

/*
 * The timer quantum of a path from its figures (minus the baseline) at ascending delays > 0:
 * the smallest delays, at least two, that each read as at least CALIB_QUANTUM_FACTOR times
 * themselves and within CALIB_QUANTUM_SPREAD of the first of them read as one quantum, their
 * median. 0 when there is none; else *lo and *hi are the first and last delay reading so.
 */
double calibrate_quantum(const double *delay_us, const double *figure_us, int n, double *lo,
			 double *hi);

/* p50 (nearest rank, as bench/sample_stats.c) and mean of n samples (sorted in place). */
void calibrate_stat_of(double *samples, int n, struct calib_stat *s);

/* The table, quanta and verdict of a measurement. */
void calibrate_compute(const struct calib_measure *m, struct calibration *c);

/* The verdict in one line, and what a path's quantum means (0 when it has none). */
void calibrate_verdict_text(const struct calibration *c, char *buf, size_t len);
int calibrate_quantum_text(const struct calibration *c, enum calib_path p, char *buf, size_t len);

/* The table and its notes, as `kvmio calibrate` prints them. */
void calibrate_print(FILE *out, const struct calibration *c, const struct calib_info *info);

/* The JSON document of `kvmio calibrate --json` and of the saved calibration (new reference). */
json_t *calibrate_json(const struct calibration *c, const struct calib_info *info);
/* A document back: the measurements and info read, the figures computed again. 0, or -1 with
 * a message in err. */
int calibrate_from_json(const json_t *doc, struct calibration *c, struct calib_info *info,
			char *err, size_t errlen);

/* Where this host's last calibration is kept (malloc'd): $KVMIO_STATE_DIR/calibrate.json, else
 * $XDG_STATE_HOME/kvmio/calibrate.json, else $HOME/.local/state/kvmio/calibrate.json; NULL when
 * none of them is set. */
char *calibrate_state_path(void);
/* Save a calibration there at once (written beside it, then renamed); 0, or -1 with errno. */
int calibrate_save(const char *path, const struct calibration *c, const struct calib_info *info);
/* Load the one at path: 0, 1 when there is none, -1 (unreadable, malformed) with err. */
int calibrate_load(const char *path, struct calibration *c, struct calib_info *info, char *err,
		   size_t errlen);

/* `kvmio calibrate [--accel auto|kvm|tcg] [--json] [--ops N]` (argv after "calibrate"). */
int cmd_calibrate(int argc, char **argv);

#endif
