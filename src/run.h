/*
 * One run of a command: what a command invocation owns besides its options. The source,
 * opened once with the union of what every part of the command reads; the stream its
 * output goes to and the state its frames keep; where its messages go; what it has said
 * once. main makes one per invocation; diff one per side; top one per replayed snapshot.
 */
#ifndef MEMLEDGER_RUN_H
#define MEMLEDGER_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "memledger/redact.h"
#include "output.h"

struct ml_source;

/* Where a run's messages go instead of stderr (top's status line). */
typedef void (*run_sink_fn)(const char *msg, void *ctx);

struct run {
	struct cli *cli;  /* the options, as parsed */
	const char *path; /* what the source reads: a snapshot or a directory; NULL: /proc */
	/* the source, opened at the first run_source with what run_want declared and what
	 * that call needs; later calls that need no more reuse it */
	struct ml_source *src;
	unsigned src_needs, want_needs;
	bool src_all, want_all; /* it keeps every process, not -p's alone */
	/* the processes scans read: -p's, unless the command narrows them (wss: those whose
	 * bits it cleared); NULL: every one (none given) */
	pid_t *pids;
	size_t npids;
	struct out_state out; /* --delta's frame before, the first write error */
	run_sink_fn sink;     /* messages; NULL: stderr */
	void *sink_ctx;
	bool said_pages;      /* that the page ledger is a lower bound: once a run */
	bool said_unreadable; /* which processes could not be read: once a run */
	bool pages_unread;    /* a page ledger took the unreadable to map none of its pages */
	uint8_t redact_key[ML_REDACT_KEY_LEN]; /* capture --redact: one key for every frame */
	bool redact_keyed;
};

/* The one flag the signal handlers set: SIGINT or SIGTERM asked the run to end. */
extern volatile sig_atomic_t run_stop;

/* Has SIGINT and SIGTERM set run_stop instead of ending the process. */
void run_catch_stop(void);

/* A run of cli reading cli->source; its output goes to out (stdout for a command). */
void run_init(struct run *run, struct cli *cli, FILE *out);

/* A run like run (its options, output and messages) reading path (NULL: /proc) instead:
 * diff's sides. Close its source with run_close; its output is run's. */
void run_side(struct run *side, const struct run *run, const char *path);

/* Closes the run's source (a later run_source opens it again). */
void run_close(struct run *run);

/* Points run at another source (diff's sides, top's replayed snapshots): the one open is
 * closed. */
void run_set_path(struct run *run, const char *path);

/* Declares, before the first run_source, what a later part of the command reads
 * (ML_NEED_*; all: every process, not -p's alone), so that the source is opened once
 * for all of them. */
void run_want(struct run *run, unsigned needs, bool all);

/*
 * The source, opened at the first call keeping what needs and run_want ask (of every
 * process unless only_pids: then of -p's alone); later calls reuse it when it keeps what
 * they need, else it is opened again with the union. NULL after a message when it cannot
 * be opened. The run owns it (run_free).
 */
struct ml_source *run_source(struct run *run, unsigned needs, bool only_pids);

/* Says msg (printf format) as cli_warn does, or to the run's sink. */
void run_warn(const struct run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Frees what the run holds: its source and its frames' state. */
void run_free(struct run *run);

#endif
