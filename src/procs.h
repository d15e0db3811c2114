/* What the process views share: scanning, the JSON document, reports to stderr. */
#ifndef MEMLEDGER_PROCS_H
#define MEMLEDGER_PROCS_H

#include <stdbool.h>

#include "cli.h"
#include "run.h"
#include "memledger/scan.h"

struct ml_pages;
struct ml_proc;
struct ml_scan;
struct out_table;

/* True when p passes -u and -P (ctx: the struct cli): for ml_scan_opts.keep. */
bool procs_keep(const struct ml_proc *p, void *ctx);

/* The files that -u and -P need read. */
unsigned procs_filter_needs(const struct cli *cli);

/*
 * Scans the source as cli says for needs, handing each mapping to on_mapping when it is
 * not NULL (with ML_NEED_SMAPS). Returns EXIT_GO_ON (s to be freed with ml_scan_free), or
 * an exit status after a message, with s empty.
 */
/* True when pid is in pids[0..n), ascending (a scan's unreadable_pids); NULL is none. */
bool procs_pid_listed(const pid_t *pids, size_t n, pid_t pid);

int procs_scan(struct run *run, unsigned needs, ml_proc_mapping_fn on_mapping, void *mapping_ctx,
               struct ml_scan *s);

/* procs_scan, with on_end after each process's mappings (ml_scan_opts.on_mappings_end). */
int procs_scan_mappings(struct run *run, unsigned needs, ml_proc_mapping_fn on_mapping,
                        ml_proc_mappings_end_fn on_end, void *mapping_ctx, struct ml_scan *s);

/* procs_scan of pids[0..npids) (a subset of -p's, when -p is given) instead of -p's: top's
 * new processes and rows on screen. */
int procs_scan_pids(struct run *run, unsigned needs, const pid_t *pids, size_t npids,
                    struct ml_scan *s);

/* Says on stderr why processes are hidden, and how many could not be read and which (JSON
 * carries them as fields), in one line once a run. Unsaid when every one was refused even
 * to root (PID 1 in a container: the user can do nothing about it) unless -v asks or -p
 * names one of them. */
void procs_report_unreadable(struct run *run, const struct ml_scan *s);

/*
 * Names on stderr each PID of -p that the scan found neither as a row nor as unreadable.
 * Returns true when -p named PIDs and none of them exists: the view exits 1, as ps -p.
 */
bool procs_none_of_the_pids(const struct run *run, const struct ml_scan *s);

/* Prints t; in JSON as {"NAME": [...], "totals": {...}, "exact": B, "unreadable": N,
 * "unreadable_pids": [...], "hidden": S}, with "exact" only when pg (the page ledger) is
 * not NULL. Frees t. Returns 0 or -errno. */
int procs_print_document(const struct cli *cli, struct out_table *t, const struct ml_scan *s,
                         const struct ml_pages *pg);

struct json;

/* Writes "unreadable": N, "unreadable_pids": [...] of s into the open JSON object. */
void procs_json_unreadable(struct json *j, const struct ml_scan *s);

/* Says (run_warn) why a scan of the run's source failed with rc (-errno), naming the file when it
 * can. */
void procs_report_scan_error(const struct run *run, const struct ml_scan *s, int rc);

/* The command line, or "[Name]" when it is empty (a process that cleared its argv):
 * malloc'ed, NULL when out of memory. */
char *procs_command(const struct ml_proc *p);

/*
 * Scans every process (whatever -p, -u, -P say: FREED and OWNED need to know who else
 * maps a page or an object) with needs, their shmem mappings, and with ML_NEED_PAGEMAP
 * their pages, and resolves them (with ML_NEED_PAGEMAP and without ML_NEED_SMAPS, as root,
 * the mappings come from PROCMAP_QUERY, not smaps: the env MEMLEDGER_SMAPS_PAGES makes it
 * smaps, MEMLEDGER_WHOLE_PAGEMAP smaps and pagemap over whole mappings, for the tests
 * that compare the paths). With ML_NEED_PAGEMAP, says once on stderr when frame
 * numbers are hidden and the figures are lower bounds. Returns EXIT_GO_ON (s and *pg
 * to be freed), or an exit status after a message.
 */
int procs_scan_pages(struct run *run, unsigned needs, struct ml_scan *s, struct ml_pages **pg);

#endif
