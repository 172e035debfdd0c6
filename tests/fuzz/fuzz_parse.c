/* libFuzzer target: arbitrary bytes through the log parser and all three report formats. */
#include <stdint.h>
#include <stdio.h>
#include "proto/proto.h"
#include "analysis/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null_out;
	struct log log;

	if (!null_out)
		null_out = fopen("/dev/null", "w");
	log_parse_buffer(&log, "fuzz", (const char *)data, size);
	if (null_out) {
		report_table(null_out, &log, NULL);
		report_csv_rows(null_out, &log, NULL);
		report_json(null_out, &log, 1, NULL);
	}
	log_free(&log);
	return 0;
}
