/* Guest options: the table and parser are common/options.h; here, their `help` records. */
#ifndef KVMIO_KERNEL_CMDLINE_H
#define KVMIO_KERNEL_CMDLINE_H
#include "options.h"

/* One `option` record per option. */
void cmdline_report_help(void);

#endif
