/* Processes grouped by a key, each group's figures summed and, with the page ledger, its
 * pages booked once: what groups, diff, report, export and serve show of groups. */
#ifndef MEMLEDGER_GROUP_H
#define MEMLEDGER_GROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "memledger/pages.h"

struct ml_scan;

/* User names by UID, each looked up once (getpwuid; Android's own names where android is
 * set: a snapshot of a phone read on a PC, ml_android_user_name). */
struct ml_user_cache {
	struct {
		uint64_t uid;
		char *name;
	} * v;
	size_t n;
	bool android;
};

/* The name of uid (its number when it has none); NULL for an unknown UID or no memory. */
const char *ml_user_name(struct ml_user_cache *c, uint64_t uid);

/* Frees what c holds; c may be reused after. */
void ml_user_cache_free(struct ml_user_cache *c);

/* The keys of --by, in the order of ml_group_key_names. */
enum ml_group_key {
	ML_BY_COMM,
	ML_BY_EXE,
	ML_BY_USER,
	ML_BY_CGROUP,
	ML_BY_SESSION,
	ML_BY_PGID,
	ML_BY_TREE,
	ML_BY_PID,
	ML_BY_APP,
	ML_BY_COUNT
};

/* Each key's name ("comm", "exe", ...), NULL-terminated. */
extern const char *const ml_group_key_names[ML_BY_COUNT + 1];

/* One group of processes that share a key's name (--by), with its figures. */
struct ml_named_group {
	char *name; /* NULL: the key is unknown (a hidden exe, an unreadable cgroup) */
	size_t nprocs;
	/* --by app, tree, pid: the top process of its largest instance (0 for other keys);
	 * --by app: how many separate trees (instances) it is made of (0 for other keys) */
	pid_t pid;
	size_t instances;
	uint64_t pss, footprint, uss_bound;
	uint64_t swap_pss;          /* Σ SwapPss of its processes */
	uint64_t compressed;        /* what swap_pss costs in RAM (ml_swap_compressed): 0 until a
	                               caller that read the cost of swap sets it */
	uint64_t gpu, vram, dmabuf; /* Σ shares (ML_GPU...): unknown unless read */
	struct ml_freed freed;
};

/* What the groups are made of. */
struct ml_grouping {
	const struct ml_scan *scan;
	enum ml_group_key by;
	size_t *root;     /* ML_BY_TREE, ML_BY_APP: each process's root */
	char **key;       /* each process's group name (malloc'ed), NULL when unknown */
	uint32_t *set_of; /* each process's group */
	struct ml_named_group *groups;
	size_t ngroups;
	struct ml_user_cache users; /* ML_BY_USER: names by UID */
};

/* A group's figures as the views show them: page by page where the page ledger is exact,
 * else Σ of its processes' (USS a lower bound); FREED unknown without a page ledger. */
struct ml_group_figures {
	uint64_t pss, uss, freed, shared_out, footprint;
};

/* The figures of g into out. */
void ml_group_figures(const struct ml_named_group *g, struct ml_group_figures *out);

/* The name of key, as --by takes it. */
const char *ml_group_key_name(enum ml_group_key by);

/* The files (ML_NEED_*) the key needs read beyond what the figures read. */
unsigned ml_grouping_needs(enum ml_group_key by);

/* Puts the processes of s in groups by key and sums each group's figures; with pg (the
 * page ledger of s, or NULL) its FREED and its pages. g keeps pointers into s. Returns 0
 * or -ENOMEM; either way ml_grouping_free(g) frees it. */
int ml_grouping_make(struct ml_grouping *g, const struct ml_scan *s, enum ml_group_key by,
                     const struct ml_pages *pg);

/* Frees what ml_grouping_make made. */
void ml_grouping_free(struct ml_grouping *g);

#endif
