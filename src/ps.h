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

/* What the process views share. */

/* The files that -u and -P need read. */
unsigned ps_filter_needs(const struct cli *cli);

/*
 * Scans the source as cli says for needs, handing each mapping to on_mapping when it is
 * not NULL (with ML_NEED_SMAPS). Returns an exit status, or -1 to go on.
 */
int ps_scan(struct cli *cli, unsigned needs, ml_proc_mapping_fn on_mapping, void *mapping_ctx,
            struct ml_scan *s);

/* Says on stderr why processes are hidden, and how many could not be read and which (JSON
 * carries them as fields). */
void ps_report_unreadable(const struct cli *cli, const struct ml_scan *s);

/*
 * Names on stderr each PID of -p that the scan found neither as a row nor as unreadable.
 * Returns true when -p named PIDs and none of them exists: the view exits 1, as ps -p.
 */
bool ps_none_of_the_pids(const struct cli *cli, const struct ml_scan *s);

struct ml_pages;

/* Prints t; in JSON as {"NAME": [...], "totals": {...}, "exact": B, "unreadable": N}, with
 * "exact" only when pg (the page ledger) is not NULL. Frees t. Returns 0 or -errno. */
int ps_print_document(const struct cli *cli, struct out_table *t, const struct ml_scan *s,
                      const struct ml_pages *pg);

/* Says on stderr why a scan of src failed with rc (-errno), naming the file when it can. */
void ps_report_scan_error(struct ml_source *src, const struct ml_scan *s, int rc);

/* The command line, or "[Name]" when it is empty (a process that cleared its argv):
 * malloc'ed, NULL when out of memory. */
char *ps_command(const struct ml_proc *p);

/* "PID comm" (the comm of a process in s), or "PID" when s has no such process or no
 * comm: malloc'ed, NULL when out of memory. */
char *ps_pid_label(const struct ml_scan *s, pid_t pid);

#endif
