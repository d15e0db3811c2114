/* memledger shm: every shared memory object, its owner, and whether it outlives its mappers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memledger.h"
#include "procs.h"
#include "commands.h"
#include "run.h"
#include "view.h"

enum shm_field {
	F_KIND,
	F_NAME,
	F_DEV,
	F_INODE,
	F_SIZE,
	F_RESIDENT,
	F_SWAP,
	F_MAPPERS,
	F_OWNER,
	F_PERSISTS
};

static const struct colinfo infos[] = {
    {"KIND", COL_STR, 0, F_KIND, "shmem:sysv, shmem:memfd, shmem:posix, shmem:shared-anon", 0,
     VIEW_TOTAL_NONE},
    {"NAME", COL_STR, OUT_KEY, F_NAME, "as smaps names it; a SysV segment no one maps: /SYSV<key>",
     0, VIEW_TOTAL_NONE},
    {"DEV", COL_STR, OUT_SPARE, F_DEV, "the object's device, major:minor (hex)", 0,
     VIEW_TOTAL_NONE},
    {"INODE", COL_COUNT, OUT_RIGHT | OUT_SPARE, F_INODE, "the object's inode (SysV: its shmid)", 0,
     VIEW_TOTAL_NONE},
    {"SIZE", COL_SIZE, OUT_RIGHT, F_SIZE, "its length: the segment's or the file's size", 0,
     VIEW_TOTAL_SUM},
    {"RESIDENT", COL_SIZE, OUT_RIGHT, F_RESIDENT,
     "its mapped resident pages, once: Σ Pss of its mappings (no one maps it: its rss)", 0,
     VIEW_TOTAL_SUM},
    {"SWAP", COL_SIZE, OUT_RIGHT, F_SWAP, "Σ SwapPss of its mappings (no one maps it: its swap)", 0,
     VIEW_TOTAL_SUM},
    {"MAPPERS", COL_COUNT, OUT_RIGHT, F_MAPPERS,
     "processes that map it (a SysV segment no process shown maps: nattch)", 0, VIEW_TOTAL_NONE},
    {"OWNER", COL_STR, 0, F_OWNER, "the process OWNED charges it to (--owner)", 0, VIEW_TOTAL_NONE},
    {"PERSISTS", COL_STR, 0, F_PERSISTS,
     "yes when it outlives its mappers: SysV not marked for removal, /dev/shm, tmpfs", 0,
     VIEW_TOTAL_NONE},
};

static const char *const default_columns[] = {"KIND", "NAME",    "SIZE",  "RESIDENT",
                                              "SWAP", "MAPPERS", "OWNER", "PERSISTS"};

static const struct view_cols shm_cols = VIEW_COLS(infos, default_columns);

/* A row: one object and the texts made for it. */
struct shm_row {
	struct ml_shm_info info;
	char name[32]; /* a SysV segment no one maps: /SYSV<key> */
	char dev[24];
	char *owner; /* "PID comm", malloc'ed; NULL: none scanned */
};

static uint64_t row_number(const void *row, const struct colinfo *c)
{
	const struct ml_shm_info *o = &((const struct shm_row *)row)->info;

	switch (c->id) {
	case F_INODE: return o->inode;
	case F_SIZE: return o->length;
	case F_RESIDENT: return o->resident;
	case F_SWAP: return o->swap;
	case F_MAPPERS: return o->mappers;
	default: return ML_UNKNOWN;
	}
}

static const char *row_text(const void *row, const struct colinfo *c)
{
	const struct shm_row *r = row;

	switch (c->id) {
	case F_KIND: return ml_kind_name(r->info.kind);
	case F_NAME: return r->info.name ? r->info.name : r->name;
	case F_DEV: return r->dev;
	case F_OWNER: return r->owner;
	case F_PERSISTS: return r->info.persists ? "yes" : "no";
	default: return NULL;
	}
}

static void free_rows(struct shm_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		free(rows[i].owner);
	free(rows);
}

/* A row per object of pg. Returns NULL when out of memory. */
static struct shm_row *build_rows(const struct cli *cli, const struct ml_pages *pg,
                                  const struct ml_scan *s, size_t *n)
{
	size_t count = ml_pages_shm_count(pg);
	struct shm_row *rows = calloc(count + 1, sizeof(*rows));

	for (*n = 0; rows && *n < count; (*n)++) {
		struct shm_row *r = &rows[*n];
		ml_pages_shm_info(pg, s, *n, (enum ml_owner)cli->owner, &r->info);
		if (!r->info.name) /* as the kernel names a segment's mapping */
			snprintf(r->name, sizeof(r->name), "/SYSV%08x", (unsigned)r->info.sysv_key);
		snprintf(r->dev, sizeof(r->dev), "%02x:%02x", r->info.dev_major, r->info.dev_minor);
		if (r->info.owner < 0)
			continue;
		r->owner = ml_scan_pid_label(s, s->procs[r->info.owner].pid);
		if (!r->owner) {
			free_rows(rows, *n);
			return NULL;
		}
	}
	return rows;
}

/* What a run of shm makes. */
struct shm_state {
	struct shm_row *rows;
	size_t n;
};

/* A row per object of run's ledger (a view_def's rows). Returns 0 or -ENOMEM. */
static int shm_rows(struct view_run *run)
{
	struct shm_state *st = calloc(1, sizeof(*st));

	run->state = st;
	if (!st || !(st->rows = build_rows(run->cli, run->pages, &run->scan, &st->n)))
		return -ENOMEM;
	run->rows = (struct view_rows){.rows = st->rows,
	                               .n = st->n,
	                               .size = sizeof(*st->rows),
	                               .number = row_number,
	                               .text = row_text};
	return 0;
}

static void shm_end(struct view_run *run)
{
	struct shm_state *st = run->state;

	if (st)
		free_rows(st->rows, st->n);
	free(st);
}

static const struct view_def shm_view = {
    .name = "objects",
    .cols = &shm_cols,
    .sort = "RESIDENT",
    .tie = "NAME",
    .needs = VIEW_NEED_LEDGER | ML_NEED_STAT, /* mappings, not pages */
    .alike = "NAME",
    .apart = {"DEV", "INODE"},
    .rows = shm_rows,
    .end = shm_end,
};

int cmd_shm(struct run *run)
{
	return view_run(run, &shm_view);
}
