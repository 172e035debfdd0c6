/* Definition of the device-access counters declared in devio.h. */
#include "devio.h"

struct io_counters io_count;
