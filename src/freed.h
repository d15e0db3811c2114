/* memledger freed PID...: what killing a set of processes would return. */
#ifndef MEMLEDGER_FREED_H
#define MEMLEDGER_FREED_H

#include "cli.h"
#include "memledger.h"

int freed_run(struct cli *cli);

#endif
