/* Command-line helpers shared by the kvmio subcommands. */
#ifndef KVMIO_HOST_LIB_ARGS_H
#define KVMIO_HOST_LIB_ARGS_H
#include <stdint.h>

/* "--name VALUE" or "--name=VALUE" at argv[*i] (advances *i past VALUE). NULL if argv[*i] is
 * not this option; then *missing is set when the option is there but its value is not. */
const char *option_value(int argc, char **argv, int *i, const char *name, int *missing);

/* A whole argument as an unsigned number: decimal digits (base 10), or decimal and 0x hex
 * (base 0). 0, or -1 (empty, a sign, trailing text, overflow). */
int arg_u64(const char *s, int base, uint64_t *out);

/* A whole argument as a number in [lo, hi]. 0, or -1 (not a number, NaN, out of range). */
int arg_double(const char *s, double lo, double hi, double *out);

/* "kvmio: MESSAGE (try 'kvmio help')" on stderr (the message says which command); returns
 * KVMIO_EXIT_BADCONFIG. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
