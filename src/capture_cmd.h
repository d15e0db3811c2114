/* memledger capture: a snapshot of the live system, for --source and diff. */
#ifndef MEMLEDGER_CAPTURE_CMD_H
#define MEMLEDGER_CAPTURE_CMD_H

#include "cli.h"

/* Writes the snapshot to -o FILE (compressed as its name says; "-": a tar on stdout),
 * through a temporary name beside it. Returns an exit status. */
int capture_run(struct cli *cli);

#endif
