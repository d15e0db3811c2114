/* Mapped objects across processes: libraries, files, shared memory (smem -m, librank). */
#ifndef MEMLEDGER_LIBS_H
#define MEMLEDGER_LIBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "memledger/maps.h"
#include "memledger/parse.h"

/* One process's use of one object: the sums of its mappings of it. */
struct ml_lib_use {
	char *name;        /* the object's name; anonymous memory: [anon], [heap], [stack] */
	enum ml_kind kind; /* the first in ml_kind order among its mappings (a library: code) */
	unsigned dev_major, dev_minor;
	uint64_t inode; /* shmem objects are told apart by device and inode; 0 otherwise */
	pid_t pid;
	uint64_t mappings;
	struct ml_mem mem; /* Size included */
};

/* One object: its uses, one per process, and their sums. */
struct ml_lib {
	const struct ml_lib_use *uses; /* nuses of them, ascending by PID */
	size_t nuses;                  /* = the processes that map it */
	uint64_t mappings;
	struct ml_mem mem;
};

struct ml_libs;

/*
 * A new, empty table of uses. each_anon: every unnamed anonymous mapping is an object of its
 * own, named by its tag, PID and range ("[heap] pid 42 55d0c0a00000-55d0c0c21000"), instead of
 * all of them booked under the tag. Returns NULL on allocation failure.
 */
struct ml_libs *ml_libs_new(bool each_anon);

void ml_libs_free(struct ml_libs *l);

/*
 * Books one mapping of process pid. Thread-safe. Returns 0 or -ENOMEM.
 * Unnamed anonymous memory is booked under [anon], [heap] or [stack] (per mapping with
 * each_anon).
 */
int ml_libs_add(struct ml_libs *l, pid_t pid, const struct ml_mapping *m);

/*
 * Books mem (the sums of mappings mappings, Size included) of process pid under name, as
 * one object whatever the mappings' names (libs --by category). Thread-safe. Returns 0
 * or -ENOMEM.
 */
int ml_libs_add_named(struct ml_libs *l, pid_t pid, const char *name, enum ml_kind kind,
                      const struct ml_mem *mem, uint64_t mappings);

/*
 * The objects, each with its uses, into a malloc'ed array (the uses stay owned by l).
 * Returns the number of objects, or -ENOMEM.
 */
long ml_libs_fold(struct ml_libs *l, struct ml_lib **libs);

#endif
