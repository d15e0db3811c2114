/* Who dies first when memory runs out: the kernel's oom_badness() and the order of its
 * victims, and Android's lmkd's. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "memledger/oom.h"
#include "memledger/scan.h"

int64_t ml_oom_badness(const struct ml_proc *p, uint64_t page, uint64_t totalpages)
{
	const struct ml_status *st = &p->status;
	int64_t points;

	if (!(p->have & ML_NEED_STATUS) || p->oom_adj == ML_OOM_ADJ_UNKNOWN ||
	    p->oom_adj == -1000 || p->pid == 1 || st->rss_anon == ML_UNKNOWN ||
	    st->rss_file == ML_UNKNOWN || st->rss_shmem == ML_UNKNOWN)
		return ML_OOM_SKIP;
	if ((p->have & ML_NEED_STAT) && (p->stat.state == 'Z' || p->stat.state == 'X'))
		return ML_OOM_SKIP; /* exiting */
	points = (int64_t)((st->rss_anon + st->rss_file + st->rss_shmem) / page);
	points += st->vm_swap != ML_UNKNOWN ? (int64_t)(st->vm_swap / page) : 0;
	points += st->vm_pte != ML_UNKNOWN ? (int64_t)(st->vm_pte / page) : 0;
	return points + (int64_t)p->oom_adj * (int64_t)(totalpages / 1000);
}

long ml_oom_score(int64_t badness, uint64_t totalpages)
{
	if (badness == ML_OOM_SKIP || totalpages == 0)
		return 0;
	return (long)((1000 + badness * 1000 / (int64_t)totalpages) * 2 / 3);
}

/* The ordering's: the scan, for the ties and the lmkd buckets. */
struct order_ctx {
	const struct ml_scan *s;
	enum ml_oom_policy policy;
};

static int cmp_victims(const void *a, const void *b, void *ctx)
{
	const struct ml_oom_victim *x = a, *y = b;
	const struct order_ctx *c = ctx;
	const struct ml_proc *p = &c->s->procs[x->proc], *q = &c->s->procs[y->proc];

	if (c->policy == ML_OOM_LMKD && p->oom_adj != q->oom_adj)
		return p->oom_adj < q->oom_adj ? 1 : -1;
	if (x->badness != y->badness)
		return x->badness < y->badness ? 1 : -1;
	if (p->stat.starttime != q->stat.starttime) /* the later started first */
		return p->stat.starttime < q->stat.starttime ? 1 : -1;
	return (p->pid < q->pid) - (p->pid > q->pid);
}

int ml_oom_order(const struct ml_scan *s, enum ml_oom_policy policy, uint64_t page,
                 uint64_t totalpages, int min_adj, const bool *keep, struct ml_oom_victim **out,
                 size_t *n)
{
	struct order_ctx ctx = {s, policy};
	struct ml_oom_victim *v = malloc((s->nprocs + 1) * sizeof(*v));

	*out = v;
	*n = 0;
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < s->nprocs; i++) {
		const struct ml_proc *p = &s->procs[i];
		int64_t b = ml_oom_badness(p, page, policy == ML_OOM_LMKD ? 0 : totalpages);
		if (b == ML_OOM_SKIP || (keep && !keep[i]) ||
		    (policy == ML_OOM_LMKD && p->oom_adj < min_adj))
			continue;
		v[(*n)++] = (struct ml_oom_victim){i, b};
	}
	if (*n)
		qsort_r(v, *n, sizeof(*v), cmp_victims, &ctx);
	return 0;
}
