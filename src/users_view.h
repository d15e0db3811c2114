/* The per-user view (memledger users). */
#ifndef MEMLEDGER_USERS_VIEW_H
#define MEMLEDGER_USERS_VIEW_H

#include <stdio.h>

#include "cli.h"

/* Runs the view. Returns an exit status. */
int users_run(struct cli *cli);

#endif
