/* Where all of RAM goes (memledger system): smem -w, free, /proc/meminfo. */
#ifndef MEMLEDGER_SYSTEM_VIEW_H
#define MEMLEDGER_SYSTEM_VIEW_H

#include "cli.h"

/* Runs the view. Returns an exit status. */
int system_run(struct cli *cli);

#endif
