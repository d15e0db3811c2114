/*
 * What kind of memory a mapping holds, as a person asks it: a heap, a stack, code,
 * graphics, shared memory, mapped files, other anonymous memory, or address space only.
 * Two levels: a class every platform shares (named as Android's dumpsys meminfo names its
 * rows where they overlap) and the allocator or runtime behind it (glibc, scudo, dalvik,
 * v8, .so...). From names where the kernel has them (Android's rules, glibc's
 * glibc.mem.decorate_maps, Go's, Chromium's, bionic's); from shapes where it has none
 * (glibc arenas, thread stacks under their guard, JIT code, a library's bss). A shape that
 * is not sure is Other Anon; each category says which rule gave it.
 */
#ifndef MEMLEDGER_CATEGORY_H
#define MEMLEDGER_CATEGORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memledger/parse.h"

enum ml_class {
	ML_CLASS_NATIVE_HEAP,  /* malloc: [heap], glibc arenas, libc_malloc, scudo, ... */
	ML_CLASS_MANAGED_HEAP, /* garbage-collected: Dalvik/ART, V8, Oilpan, Go */
	ML_CLASS_STACK,        /* the main stack and thread stacks */
	ML_CLASS_CODE,         /* .so, executables, .oat .odex .dex .vdex .art, JIT, bss */
	ML_CLASS_GRAPHICS,     /* GPU device and dma-buf mappings */
	ML_CLASS_SHMEM,        /* SysV, POSIX, memfd, shared anonymous, ashmem */
	ML_CLASS_FILES,        /* other mapped files: .jar .apk .ttf .pak, data, devices */
	ML_CLASS_OTHER_ANON,   /* anonymous memory no rule names */
	ML_CLASS_RESERVED,     /* address space only: no permission, or never touched */
	ML_CLASS_COUNT
};

/* "Native Heap", "Managed Heap", "Stack", "Code", "Graphics", "Shared Memory",
 * "Mapped Files", "Other Anon", "Reserved" */
const char *ml_class_name(enum ml_class c);

/* The same as one lowercase word, for labels and JSON keys: "native_heap", ... */
const char *ml_class_key(enum ml_class c);

/* The class named name (either spelling, case ignored), or -1. */
int ml_class_of_name(const char *name);

/* A mapping's category. The strings are static. */
struct ml_category {
	enum ml_class cls;
	const char *heap; /* the allocator or runtime: "glibc", "dalvik", ".so", "jit", "anon" */
	const char *rule; /* what told: "name", "android", "glibc", "chromium", "go",
	                     "shape:arena", "shape:guard", "shape:jit", "shape:bss",
	                     "shape:elf", "shape:partition_alloc", "shape:v8",
	                     "shape:reserved", "kind" */
};

/* What the mappings before the current one of a process tell its category: zero it
 * before the first mapping, then hand ml_category_of each in address order. */
struct ml_category_ctx {
	uint64_t prev_end, prev_inode;
	unsigned prev_dev_major, prev_dev_minor;
	enum ml_class prev_cls;
	const char *prev_heap;
	bool prev_guard;        /* an unnamed ---p mapping of at most 64 KiB */
	bool any;               /* a mapping came before */
	uint64_t pa_super_page; /* the last PartitionAlloc super page whose metadata page was
	                           seen (shape:partition_alloc), 0 for none */
	uint64_t v8_cage;       /* the last V8 pointer cage seen (shape:v8), 0 for none */
	bool prev_none;         /* the mapping before has no permission */
};

/* The parts of a mapping its category needs. */
struct ml_category_in {
	uint64_t start, end, offset, inode;
	unsigned dev_major, dev_minor;
	const char *perms, *name;
	const struct ml_mem *mem;
	bool heap;   /* its kind is heap: [heap] or a glibc arena (ml_arena_tail) */
	bool shared; /* MAP_SHARED */
	int kind;    /* enum ml_kind */
};

/*
 * The category of mapping m, whose predecessors ctx holds and whose successor is next
 * (NULL at the end, or when unknown). Updates ctx. No I/O; never fails.
 */
void ml_category_of(struct ml_category_ctx *ctx, const struct ml_category_in *m,
                    const struct ml_category_in *next, struct ml_category *out);

/* The most distinct heaps one process's summary tells apart by allocator. */
#define ML_HEAPS_MAX 16

/* One allocator's heaps in a process: how many, and their memory. */
struct ml_heap_count {
	enum ml_class cls;
	const char *heap;   /* as in ml_category */
	uint64_t count;     /* distinct heaps: mappings of an unnamed heap, names of a named
	                       one, pools (PartitionAlloc) or cages (V8) of one found by shape */
	uint64_t names[16]; /* the keys counted (the first 16) */
	struct ml_mem mem;
};

/* A process's memory by class, and its heaps. */
struct ml_heaps {
	struct {
		uint64_t count;
		struct ml_mem mem; /* Size included */
	} cls[ML_CLASS_COUNT];
	struct ml_heap_count heaps[ML_HEAPS_MAX];
	size_t nheaps;
	uint64_t shape_stacks; /* thread stacks found by shape (rule shape:guard) */
	struct ml_mem shape_stack_mem;
	uint64_t threads;     /* the process's, ML_UNKNOWN when not known */
	bool stacks_doubtful; /* more stack shapes than threads: booked as Other Anon */
};

/* An empty summary. */
void ml_heaps_init(struct ml_heaps *h);

/* Books a mapping (its name, start address and counters, Size included) under its
 * category c. */
void ml_heaps_add(struct ml_heaps *h, const struct ml_category *c, const char *name, uint64_t start,
                  const struct ml_mem *mem);

/* True when shape_stacks regions shaped like thread stacks cannot all be stacks of a
 * process of threads threads (ML_UNKNOWN: not known, never doubtful): the main thread's
 * is [stack], so at most threads - 1 are. */
bool ml_stacks_doubtful(uint64_t shape_stacks, uint64_t threads);

/*
 * Settles the summary once every mapping is booked: with threads known (ML_UNKNOWN if
 * not), thread stacks found by shape beyond threads - 1 (the main thread has [stack])
 * cannot be what they look like, and all of them move to Other Anon.
 */
void ml_heaps_finish(struct ml_heaps *h, uint64_t threads);

/* The class h books category c under: c's, but Other Anon for a thread stack found by
 * shape when h's stacks are doubtful. */
enum ml_class ml_heaps_class(const struct ml_heaps *h, const struct ml_category *c);

/* True for the allocators that are heaps ("how many heaps"): Native Heap's and Managed
 * Heap's, less Dalvik's accounting ("dalvik-other"). */
bool ml_heap_is_heap(enum ml_class cls, const char *heap);

#endif
