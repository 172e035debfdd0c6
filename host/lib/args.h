/* Command-line helpers shared by the kvmio subcommands. */
#ifndef KVMIO_HOST_LIB_ARGS_H
#define KVMIO_HOST_LIB_ARGS_H

/* "--name VALUE" or "--name=VALUE" at argv[*i] (advances *i past VALUE). NULL if argv[*i] is
 * not this option; then *missing is set when the option is there but its value is not. */
const char *option_value(int argc, char **argv, int *i, const char *name, int *missing);

#endif
