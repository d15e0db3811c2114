/* memledger tree [PID]: the process tree with each process's and each subtree's figures. */
#ifndef MEMLEDGER_TREE_H
#define MEMLEDGER_TREE_H

#include "cli.h"

int tree_run(struct cli *cli);

#endif
