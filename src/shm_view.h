/* memledger shm: every shared memory object, its owner, and whether it outlives its mappers. */
#ifndef MEMLEDGER_SHM_VIEW_H
#define MEMLEDGER_SHM_VIEW_H

#include "cli.h"

/* Runs the view. Returns an exit status. */
int shm_run(struct cli *cli);

#endif
