/* A figure over time: least squares over a sliding window. */
#include <string.h>

#include "memledger/parse.h"
#include "memledger/trend.h"

/* Adds v at time t (seconds since the start) to its quarter-window bucket. */
static void bucket_add(struct ml_trend *tr, double t, float v, double window)
{
	long index = (long)(t / (window / 4));
	struct ml_trend_bucket *b =
	    tr->nb ? &tr->b[(tr->bfirst + tr->nb - 1) % ML_TREND_BUCKETS] : NULL;

	if (!b || b->index != index) {
		if (tr->nb == ML_TREND_BUCKETS) {
			tr->bfirst = (tr->bfirst + 1) % ML_TREND_BUCKETS;
			tr->nb--;
		}
		b = &tr->b[(tr->bfirst + tr->nb++) % ML_TREND_BUCKETS];
		*b = (struct ml_trend_bucket){index, v, v, 0};
		return;
	}
	if (b->max - v > b->fall)
		b->fall = b->max - v;
	b->min = v < b->min ? v : b->min;
	b->max = v > b->max ? v : b->max;
}

/*
 * The floor test over the buckets: the lowest value of the last window (the buckets of
 * the last four quarters, the current one in it), the window before, and the 1½ windows
 * before those, each above the one before by more than the deepest fall across all of
 * them and by more than floor bytes a minute. Sets fit->leak and fit->floor_rise.
 */
static void floor_test(const struct ml_trend *tr, double window, double floor,
                       struct ml_trend_fit *fit)
{
	const struct ml_trend_bucket *last;
	float lowest[3] = {0, 0, 0}, peak = 0, fall = 0;
	bool seen[3] = {false, false, false}, any = false;

	if (!tr->nb)
		return;
	last = &tr->b[(tr->bfirst + tr->nb - 1) % ML_TREND_BUCKETS];
	if (tr->b[tr->bfirst].index > last->index - 13)
		return; /* less than 3¼ windows of history */
	for (size_t k = 0; k < tr->nb; k++) {
		const struct ml_trend_bucket *b = &tr->b[(tr->bfirst + k) % ML_TREND_BUCKETS];
		long age = last->index - b->index; /* 0 the current quarter */
		int w = age < 4 ? 0 : age < 8 ? 1 : 2;
		if (age > 13)
			continue;
		if (!seen[w] || b->min < lowest[w])
			lowest[w] = b->min;
		seen[w] = true;
		fall = b->fall > fall ? b->fall : fall;
		if (any && peak - b->min > fall)
			fall = peak - b->min;
		peak = !any || b->max > peak ? b->max : peak;
		any = true;
	}
	if (!seen[0] || !seen[1] || !seen[2])
		return; /* a window without a sample: no verdict */
	fit->floor_rise = (double)(lowest[0] - lowest[2]) / (2 * window);
	fit->leak = lowest[2] < lowest[1] && lowest[1] < lowest[0] &&
	            lowest[0] - lowest[2] > fall && fit->floor_rise * 60 > floor;
}

void ml_trend_init(struct ml_trend *tr)
{
	memset(tr, 0, sizeof(*tr));
	tr->first_t = -1;
}

void ml_trend_add(struct ml_trend *tr, double t, uint64_t v, double window)
{
	if (v == ML_UNKNOWN)
		return;
	if (tr->first_t < 0) {
		tr->first_t = t;
		tr->first_v = (double)v;
	}
	while (tr->n && (t - tr->first_t - tr->t[tr->first] > window || tr->n == ML_TREND_MAX)) {
		tr->first = (tr->first + 1) % ML_TREND_MAX;
		tr->n--;
	}
	size_t at = (tr->first + tr->n) % ML_TREND_MAX;
	tr->t[at] = (float)(t - tr->first_t);
	tr->v[at] = (float)v;
	tr->n++;
	bucket_add(tr, t - tr->first_t, (float)v, window);
}

void ml_trend_fit(const struct ml_trend *tr, double window, double floor, struct ml_trend_fit *fit)
{
	double st = 0, sv = 0, stt = 0, stv = 0, svv = 0, n = (double)tr->n, t0;
	size_t steps = 0, rising = 0;

	memset(fit, 0, sizeof(*fit));
	fit->n = tr->n;
	if (tr->n < 2)
		return;
	double v0 = tr->v[tr->first]; /* from the first sample: sums of squares stay small */
	t0 = tr->t[tr->first];
	for (size_t k = 0; k < tr->n; k++) {
		size_t i = (tr->first + k) % ML_TREND_MAX;
		double t = tr->t[i] - t0, v = tr->v[i] - v0;
		st += t;
		sv += v;
		stt += t * t;
		stv += t * v;
		svv += v * v;
		if (k) {
			size_t p = (tr->first + k - 1) % ML_TREND_MAX;
			steps++;
			rising += tr->v[i] >= tr->v[p];
		}
	}
	fit->span = tr->t[(tr->first + tr->n - 1) % ML_TREND_MAX] - t0;
	double vt = n * stt - st * st, vv = n * svv - sv * sv, cov = n * stv - st * sv;
	if (vt <= 0)
		return;
	fit->slope = cov / vt;
	fit->r2 = vv > 0 ? (cov * cov) / (vt * vv) : 1.0; /* flat: a perfect, level line */
	fit->rises = steps ? (double)rising / (double)steps : 0;
	fit->verdict = tr->n >= 5 && fit->span >= window / 2;
	fit->suspect =
	    fit->verdict && fit->r2 >= 0.8 && fit->rises >= 0.8 && fit->slope * 60 > floor;
	floor_test(tr, window, floor, fit);
}
