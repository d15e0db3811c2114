/* The mapped-objects view (memledger libs): smem -m, librank. */
#ifndef MEMLEDGER_LIBS_VIEW_H
#define MEMLEDGER_LIBS_VIEW_H

#include <stdio.h>

#include "cli.h"

/* Runs the view. Returns an exit status. */
int libs_run(struct cli *cli);

#endif
