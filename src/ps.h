/* The process view: one row per process (memledger, memledger ps). */
#ifndef MEMLEDGER_PS_H
#define MEMLEDGER_PS_H

#include <stdio.h>

#include "cli.h"

/* Runs the view. Returns an exit status. */
int ps_run(struct cli *cli);

/* Prints each column's name and one-line definition. */
void ps_list_columns(FILE *f);

#endif
