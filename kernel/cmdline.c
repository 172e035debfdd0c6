/*
 * The guest's `help`: one `option` record per entry of the option table (common/options.c,
 * which also parses the command line, here and in the host's check before launching).
 */
#include "cmdline.h"
#include "report.h"

void cmdline_report_help(void)
{
	for (unsigned i = 0; i < option_nspecs; i++) {
		rec_begin("option");
		rec_str("name", option_specs[i].name);
		rec_str("default", option_specs[i].def);
		/* values: what a choice may be, or the names a tests= list may hold */
		if (option_specs[i].kind == OPT_CHOICE || option_specs[i].kind == OPT_TESTS) {
			rec_field("values");
			for (const char *const *c = option_specs[i].choices; *c; c++) {
				if (c != option_specs[i].choices)
					rec_put_char('|');
				for (const char *s = *c; *s; s++)
					rec_put_char(*s);
			}
		} else if (option_specs[i].kind == OPT_U64) {
			rec_field("range");
			rec_put_u64(option_specs[i].min);
			rec_put_char('-');
			rec_put_u64(option_specs[i].max);
		}
		rec_str("help", option_specs[i].help);
		rec_end();
	}
}
