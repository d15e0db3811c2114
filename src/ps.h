/* The process view: one row per process (memledger, memledger ps). */
#ifndef MEMLEDGER_PS_H
#define MEMLEDGER_PS_H

#include <stdbool.h>
#include <stdio.h>

#include "cli.h"
#include "memledger/scan.h"

/* Runs the view. Returns an exit status. */
int ps_run(struct cli *cli);

/* Prints each column's name and one-line definition. */
void ps_list_columns(FILE *f);

struct ml_proc;
struct ml_scan;
struct out_table;

#endif
