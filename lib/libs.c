/* Uses of mapped objects, hashed as the readers go, folded into objects at the end. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memledger/libs.h"
#include "util.h"

/* A possible arena head, booked once the process's next mapping tells (ml_arena_tail). */
struct pending_head {
	pid_t pid;
	uint64_t start, end;
	struct ml_mem mem;
};

struct ml_libs {
	pthread_mutex_t lock;
	bool each_anon;               /* an object per anonymous mapping, not one per tag */
	struct pending_head *pending; /* one at most per process; a few in all */
	size_t npending, pending_cap;
	struct ml_lib_use *uses; /* the uses, in the order first booked */
	size_t n, cap;
	size_t *buckets; /* index + 1 into uses; 0 is empty (open addressing) */
	size_t nbuckets; /* a power of two, at least twice n */
};

struct ml_libs *ml_libs_new(bool each_anon)
{
	struct ml_libs *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->each_anon = each_anon;
	pthread_mutex_init(&l->lock, NULL);
	return l;
}

void ml_libs_free(struct ml_libs *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->uses[i].name);
	free(l->uses);
	free(l->buckets);
	free(l->pending);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/* The name an object is booked under: anonymous memory goes under a tag. */
static const char *booked_name(const struct ml_mapping *m, enum ml_kind kind)
{
	if (kind == ML_KIND_HEAP)
		return "[heap]";
	if (kind == ML_KIND_STACK)
		return "[stack]";
	if (ml_reserved(kind, m->name, &m->mem))
		return "[reserved]";
	if (kind == ML_KIND_ANON && m->name[0] == '\0')
		return "[anon]";
	return m->name;
}

/* Room for a tag, a PID and a range: "[stack] pid 4194304 ffffffffff600000-ffffffffff601000". */
#define EACH_ANON_NAME_MAX 64

/*
 * The name of one anonymous mapping booked under tag ([anon], [heap], [stack]): the tag
 * itself, or with each_anon the tag, PID and range written into buf.
 */
static const char *anon_name(const struct ml_libs *l, const char *tag, pid_t pid, uint64_t start,
                             uint64_t end, char buf[EACH_ANON_NAME_MAX])
{
	if (!l->each_anon)
		return tag;
	snprintf(buf, EACH_ANON_NAME_MAX, "%s pid %d %" PRIx64 "-%" PRIx64, tag, (int)pid, start,
	         end);
	return buf;
}

/* The use's identity: name, and device and inode for shmem (two memfds may share a name). */
struct use_key {
	const char *name;
	unsigned dev_major, dev_minor;
	uint64_t inode;
	pid_t pid;
};

static uint64_t hash_key(const struct use_key *k)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (const char *p = k->name; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	h = (h ^ k->inode) * 1099511628211ull;
	h = (h ^ ((uint64_t)k->dev_major << 32 | k->dev_minor)) * 1099511628211ull;
	return (h ^ (uint64_t)k->pid) * 1099511628211ull;
}

static bool same_key(const struct ml_lib_use *u, const struct use_key *k)
{
	return u->pid == k->pid && u->inode == k->inode && u->dev_major == k->dev_major &&
	       u->dev_minor == k->dev_minor && strcmp(u->name, k->name) == 0;
}

/* Rebuilds the buckets for twice as many uses. Returns 0 or -ENOMEM. */
static int grow_buckets(struct ml_libs *l)
{
	size_t nb = l->nbuckets ? 2 * l->nbuckets : 1024;
	size_t *b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		const struct ml_lib_use *u = &l->uses[i];
		struct use_key k = {u->name, u->dev_major, u->dev_minor, u->inode, u->pid};
		size_t slot = hash_key(&k) & (nb - 1);
		while (b[slot])
			slot = (slot + 1) & (nb - 1);
		b[slot] = i + 1;
	}
	free(l->buckets);
	l->buckets = b;
	l->nbuckets = nb;
	return 0;
}

/* The use of key, booked anew (zeroed, with its name) when it is not there. NULL: no memory. */
static struct ml_lib_use *find_or_add(struct ml_libs *l, const struct use_key *k)
{
	size_t slot;

	if (2 * (l->n + 1) > l->nbuckets && grow_buckets(l) < 0)
		return NULL;
	for (slot = hash_key(k) & (l->nbuckets - 1); l->buckets[slot];
	     slot = (slot + 1) & (l->nbuckets - 1))
		if (same_key(&l->uses[l->buckets[slot] - 1], k))
			return &l->uses[l->buckets[slot] - 1];
	if (ml_grow((void **)&l->uses, &l->cap, l->n, 1, sizeof(*l->uses)) < 0)
		return NULL;
	l->uses[l->n] = (struct ml_lib_use){.name = strdup(k->name),
	                                    .kind = ML_KIND_COUNT,
	                                    .dev_major = k->dev_major,
	                                    .dev_minor = k->dev_minor,
	                                    .inode = k->inode,
	                                    .pid = k->pid};
	if (!l->uses[l->n].name)
		return NULL;
	memset(&l->uses[l->n].mem, 0, sizeof(l->uses[l->n].mem));
	l->buckets[slot] = ++l->n;
	return &l->uses[l->n - 1];
}

/* Adds mem (Size set) of one mapping booked under k, of kind kind. Returns 0 or -ENOMEM. */
static int book(struct ml_libs *l, const struct use_key *k, enum ml_kind kind,
                const struct ml_mem *mem)
{
	struct ml_lib_use *u = find_or_add(l, k);

	if (!u)
		return -ENOMEM;
	ml_mem_add(&u->mem, mem);
	u->mappings++;
	if (kind < u->kind)
		u->kind = kind;
	return 0;
}

/* Books pending head i as heap or as anonymous memory, and drops it. */
static int book_pending(struct ml_libs *l, size_t i, bool arena)
{
	struct pending_head h = l->pending[i];
	char buf[EACH_ANON_NAME_MAX];
	struct use_key k = {anon_name(l, arena ? "[heap]" : "[anon]", h.pid, h.start, h.end, buf),
	                    0, 0, 0, h.pid};

	l->pending[i] = l->pending[--l->npending];
	return book(l, &k, arena ? ML_KIND_HEAP : ML_KIND_ANON, &h.mem);
}

/* Settles the pending head of pid, if any, now that m follows it. */
static int settle_pending(struct ml_libs *l, pid_t pid, const struct ml_mapping *m)
{
	for (size_t i = 0; i < l->npending; i++) {
		const struct pending_head *h = &l->pending[i];
		if (h->pid == pid)
			return book_pending(l, i,
			                    ml_arena_tail(h->start, h->end, m->start, m->end,
			                                  m->perms, m->inode, m->name));
	}
	return 0;
}

int ml_libs_add(struct ml_libs *l, pid_t pid, const struct ml_mapping *m)
{
	enum ml_kind kind = ml_mapping_kind(m);
	bool shmem = ml_kind_is_shmem(kind);
	char buf[EACH_ANON_NAME_MAX];
	struct use_key k = {booked_name(m, kind), shmem ? m->dev_major : 0,
	                    shmem ? m->dev_minor : 0, shmem ? m->inode : 0, pid};
	struct ml_mem mem = m->mem;
	int rc;

	mem.v[ML_MEM_SIZE] = m->end - m->start;
	if (k.name != m->name) /* booked under a tag */
		k.name = anon_name(l, k.name, pid, m->start, m->end, buf);
	pthread_mutex_lock(&l->lock);
	rc = settle_pending(l, pid, m);
	if (rc == 0 && ml_arena_head(m->start, m->perms, m->inode, m->name)) {
		rc = ml_grow((void **)&l->pending, &l->pending_cap, l->npending, 1,
		             sizeof(*l->pending));
		if (rc == 0)
			l->pending[l->npending++] =
			    (struct pending_head){pid, m->start, m->end, mem};
	} else if (rc == 0) {
		rc = book(l, &k, ml_reserved(kind, m->name, &m->mem) ? ML_KIND_GUARD : kind, &mem);
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}

/* Orders uses by object (name, device, inode), then by PID. */
static int compare_uses(const void *a, const void *b)
{
	const struct ml_lib_use *x = a, *y = b;
	int cmp = strcmp(x->name, y->name);

	if (cmp)
		return cmp;
	if (x->dev_major != y->dev_major)
		return x->dev_major < y->dev_major ? -1 : 1;
	if (x->dev_minor != y->dev_minor)
		return x->dev_minor < y->dev_minor ? -1 : 1;
	if (x->inode != y->inode)
		return x->inode < y->inode ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static bool same_object(const struct ml_lib_use *x, const struct ml_lib_use *y)
{
	return x->inode == y->inode && x->dev_major == y->dev_major &&
	       x->dev_minor == y->dev_minor && strcmp(x->name, y->name) == 0;
}

long ml_libs_fold(struct ml_libs *l, struct ml_lib **libs)
{
	struct ml_lib *v;
	size_t n = 0;

	while (l->npending) /* heads with no mapping after them */
		if (book_pending(l, l->npending - 1, false) < 0)
			return -ENOMEM;
	v = calloc(l->n ? l->n : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (l->n) /* no mapping at all: uses may be NULL, which qsort must not see */
		qsort(l->uses, l->n, sizeof(*l->uses), compare_uses);
	free(l->buckets); /* the order changed: no more lookups */
	l->buckets = NULL;
	l->nbuckets = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (n == 0 || !same_object(&l->uses[i], v[n - 1].uses)) {
			v[n] = (struct ml_lib){.uses = &l->uses[i]};
			memset(&v[n].mem, 0, sizeof(v[n].mem));
			n++;
		}
		v[n - 1].nuses++;
		v[n - 1].mappings += l->uses[i].mappings;
		ml_mem_add(&v[n - 1].mem, &l->uses[i].mem);
	}
	*libs = v;
	return (long)n;
}

int ml_libs_add_named(struct ml_libs *l, pid_t pid, const char *name, enum ml_kind kind,
                      const struct ml_mem *mem, uint64_t mappings)
{
	struct use_key k = {name, 0, 0, 0, pid};
	struct ml_lib_use *u;
	int rc = -ENOMEM;

	pthread_mutex_lock(&l->lock);
	if ((u = find_or_add(l, &k))) {
		ml_mem_add(&u->mem, mem);
		u->mappings += mappings;
		if (kind < u->kind)
			u->kind = kind;
		rc = 0;
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}
