/* memledger cgroups: the memory cgroup tree, each cgroup reconciled with its processes. */
#ifndef MEMLEDGER_CGROUPS_VIEW_H
#define MEMLEDGER_CGROUPS_VIEW_H

#include "cli.h"

/* Runs the view. Returns an exit status. */
int cgroups_run(struct cli *cli);

#endif
