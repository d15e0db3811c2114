/* memledger shm: every shared memory object, its owner, and whether it outlives its mappers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memledger.h"
#include "procs.h"
#include "shm_view.h"
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
    {"KIND", COL_STR, 0, F_KIND, "shmem:sysv, shmem:memfd, shmem:posix, shmem:shared-anon"},
    {"NAME", COL_STR, OUT_TRUNC, F_NAME,
     "as smaps names it; a SysV segment no one maps: /SYSV<key>"},
    {"DEV", COL_STR, 0, F_DEV, "the object's device, major:minor (hex)"},
    {"INODE", COL_COUNT, OUT_RIGHT, F_INODE, "the object's inode (SysV: its shmid)"},
    {"SIZE", COL_SIZE, OUT_RIGHT, F_SIZE, "its length: the segment's or the file's size"},
    {"RESIDENT", COL_SIZE, OUT_RIGHT, F_RESIDENT,
     "its mapped resident pages, once: Σ Pss of its mappings (no one maps it: its rss)"},
    {"SWAP", COL_SIZE, OUT_RIGHT, F_SWAP, "Σ SwapPss of its mappings (no one maps it: its swap)"},
    {"MAPPERS", COL_COUNT, OUT_RIGHT, F_MAPPERS,
     "processes that map it (a SysV segment no process shown maps: nattch)"},
    {"OWNER", COL_STR, OUT_TRUNC, F_OWNER, "the process OWNED charges it to (--owner)"},
    {"PERSISTS", COL_STR, 0, F_PERSISTS,
     "yes when it outlives its mappers: SysV not marked for removal, /dev/shm, tmpfs"},
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

static struct out_cell total_cell(const struct colinfo *c, const void *ctx)
{
	const struct view_rows *r = ctx;
	uint64_t sum = 0;

	if (c->id != F_SIZE && c->id != F_RESIDENT && c->id != F_SWAP)
		return (struct out_cell){.blank = true};
	for (size_t i = 0; i < r->n; i++)
		sum = ml_add_u64(sum, row_number((const struct shm_row *)r->rows + i, c));
	return (struct out_cell){.num = sum};
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
		r->owner = procs_pid_label(s, s->procs[r->info.owner].pid);
		if (!r->owner) {
			free_rows(rows, *n);
			return NULL;
		}
	}
	return rows;
}

int shm_run(struct cli *cli)
{
	const struct colinfo *cols[VIEW_MAX_COLS], *key;
	const char *sort = cli->sort ? cli->sort : "RESIDENT";
	struct ml_pages *pg = NULL;
	struct ml_scan s = {0};
	struct shm_row *rows = NULL;
	struct out_table *t;
	size_t n = 0;
	int ncols, rc;

	rc = view_begin(cli, &shm_cols, false, cols, &ncols);
	if (rc >= 0)
		return rc;
	key = view_column(&shm_cols, sort, strlen(sort));
	if (!key) {
		cli_warn("unknown sort column: '%s'", sort);
		return EXIT_USAGE;
	}
	rc = procs_scan_pages(cli, ML_NEED_STAT, &s, &pg); /* mappings, not pages */
	if (rc >= 0)
		goto out;
	rc = EXIT_ERROR;
	rows = build_rows(cli, pg, &s, &n);
	if (!rows) {
		cli_warn("out of memory");
		goto out;
	}
	procs_report_unreadable(cli, &s);
	{
		struct view_rows r = {rows, n, sizeof(*rows), row_number, row_text, NULL};
		static const char *const apart[] = {"DEV", "INODE"};
		const struct colinfo *name = view_column(&shm_cols, "NAME", 4);
		if ((!cli->columns || cli->columns[0] == '+') &&
		    view_texts_collide(rows, n, sizeof(*rows), row_text, name))
			ncols = view_add_columns(&shm_cols, cols, ncols, apart,
			                         2); /* alike: told apart */
		view_sort(&r, rows, key, &infos[1], cli->reverse);
		t = view_table(cli, "objects", &r, cols, ncols, total_cell, &r);
	}
	if (!t || procs_print_document(cli, t, &s, NULL) < 0) {
		cli_warn("cannot write the output");
		goto out;
	}
	rc = EXIT_OK;
out:
	free_rows(rows, n);
	ml_pages_free(pg);
	ml_scan_free(&s);
	return rc;
}
