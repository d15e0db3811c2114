/* The address-space view: one row per mapping of a process (memledger maps PID...). */
#ifndef MEMLEDGER_MAPS_VIEW_H
#define MEMLEDGER_MAPS_VIEW_H

#include <stdio.h>

#include "cli.h"

/* Runs the view. Returns an exit status. */
int maps_run(struct cli *cli);

#endif
