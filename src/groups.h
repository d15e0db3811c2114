/* memledger groups --by KEY: processes grouped, with the pages each group holds alone. */
#ifndef MEMLEDGER_GROUPS_H
#define MEMLEDGER_GROUPS_H

#include "cli.h"

/* Runs the view. Returns an exit status. */
int groups_run(struct cli *cli);

#endif
