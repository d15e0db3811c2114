/* memledger groups --by KEY: processes grouped, with the pages each group holds alone. */
#ifndef MEMLEDGER_GROUPS_H
#define MEMLEDGER_GROUPS_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "memledger/pages.h"
#include "users.h"

struct ml_scan;

/* The keys of --by, in the order of its choices. */
enum group_key {
	BY_COMM,
	BY_EXE,
	BY_USER,
	BY_CGROUP,
	BY_SESSION,
	BY_PGID,
	BY_TREE,
	BY_PID,
	BY_APP
};

/* One group: its name and figures. */
struct group {
	char *name; /* NULL: the key is unknown (a hidden exe, an unreadable cgroup) */
	size_t nprocs;
	uint64_t pss, footprint, uss_bound;
	uint64_t gpu, vram, dmabuf; /* Σ shares (ML_GPU...): unknown unless read */
	struct ml_freed freed;
};

/* What the groups are made of. */
struct grouping {
	const struct ml_scan *scan;
	enum group_key by;
	size_t *root;     /* BY_TREE, BY_APP: each process's root (find_roots) */
	char **key;       /* each process's group name (malloc'ed), NULL when unknown */
	uint32_t *set_of; /* each process's group */
	struct group *groups;
	size_t ngroups;
	struct user_cache users; /* BY_USER: names by UID */
};

/* A group's figures as the groups view shows them: page by page where the page ledger
 * is exact, else Σ of its processes' (USS a lower bound); FREED unknown without a page
 * ledger. */
struct group_figures {
	uint64_t pss, uss, freed, shared_out, footprint;
};

void group_figures(const struct group *g, struct group_figures *out);

/* The index of --by's key (comm when by is NULL), or -1 after a message naming the
 * choices. */
int grouping_key(const char *by);

/* The name of key, as --by takes it. */
const char *grouping_key_name(enum group_key by);

/* The files (ML_NEED_*) the key needs read beyond what the figures read. */
unsigned grouping_needs(enum group_key by);

/* Puts the processes of s in groups by key and sums each group's figures; with pg (the
 * page ledger of s, or NULL) its FREED and its pages. g keeps pointers into s. Returns 0
 * or -ENOMEM; either way grouping_free(g) frees it. */
int grouping_make(struct grouping *g, const struct ml_scan *s, enum group_key by,
                  const struct ml_pages *pg);

void grouping_free(struct grouping *g);

/* Runs the view. Returns an exit status. */
int groups_run(struct cli *cli);

#endif
