/* memledger top: memory over time, GROWTH and leak suspects. */
#ifndef MEMLEDGER_TOP_H
#define MEMLEDGER_TOP_H

#include "cli.h"

/* Runs top with its own arguments (argv[0] is "top"): top(1)'s -b, -n, -d beside
 * memledger's options. Returns an exit status. */
int top_main(int argc, char **argv);

#endif
