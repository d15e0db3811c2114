/*
 * The ledger as Prometheus metrics: one reading (processes, groups, the system), written
 * in the text exposition format or in OpenMetrics. export writes it once, serve at each
 * refresh.
 */
#ifndef MEMLEDGER_METRICS_H
#define MEMLEDGER_METRICS_H

#include <stdbool.h>
#include <stdio.h>

#include "cli.h"
#include "run.h"
#include "memledger/group.h"
#include "memledger/role.h"
#include "memledger/scan.h"
#include "memledger/system.h"

/* One reading of the ledger. */
struct metrics {
	struct ml_scan scan;
	struct ml_pages *pages; /* an exact reading's page ledger, else NULL */
	struct ml_grouping groups;
	struct ml_roles roles; /* each process's role (browser, renderer...) */
	uint32_t *oom_place;   /* each process's place in the kernel OOM killer's order (1
	                          first), 0 for none (not a candidate, or unknown) */
	int64_t *oom_badness;  /* and its oom_badness() in pages */
	struct ml_system sys;
	bool have_sys;    /* sys was read */
	bool gpu;         /* the machine has a GPU or a dma-buf heap: GPU memory was read */
	double seconds;   /* how long the reading took */
	double when;      /* when it was taken: Unix time */
	bool serving;     /* memledger serve's: its own counters are written too */
	uint64_t skipped; /* serve: readings skipped because the one before overran -i */
};

/* The figures of an exact reading kept for the readings between (serve --exact-interval):
 * each group's page ledger figures, by name. */
struct metrics_exact {
	size_t n;
	char **name; /* sorted; NULL names (an unknown key) are not kept */
	struct ml_freed *freed;
	double when, seconds;
};

/* Reads the ledger as cli says (--source, --threads) into m, grouped by key, each
 * process's role, with the files extra (ML_NEED_*) too; with exact, the page ledger (FREED, group
 * USS and SHARED-OUT). Returns EXIT_GO_ON (m to be freed with metrics_free), or an exit status
 * after a message. */
int metrics_read(struct run *run, enum ml_group_key by, bool exact, unsigned extra,
                 struct metrics *m);

void metrics_free(struct metrics *m);

/* Keeps the page ledger figures of m's groups in ex (emptied first). Returns 0 or -ENOMEM
 * (ex empty). */
int metrics_keep_exact(const struct metrics *m, struct metrics_exact *ex);

void metrics_exact_free(struct metrics_exact *ex);

/* Writes every metric of m to f: the groups' (with ex, the page ledger figures of ex's
 * groups too), the top processes by PSS and the rest as pid "other", the system's and
 * the health of the reading; in OpenMetrics (with # UNIT and # EOF) when openmetrics. */
void metrics_write(FILE *f, const struct metrics *m, const struct metrics_exact *ex, size_t top,
                   bool openmetrics);

/* Writes text[0..len) to DIR/memledger.prom as the textfile collector needs it: whole or
 * not at all (file_write_atomic), mode 0644. Returns 0, or -errno after a message. */
int metrics_textfile(const char *dir, const char *text, size_t len);

/* Checks --textfile DIR before any work (NULL: none): an existing directory, and a
 * memledger.prom there that file_write_atomic may write. Returns EXIT_OK, or EXIT_USAGE
 * after a message. */
int metrics_textfile_check(const char *dir);

#endif
