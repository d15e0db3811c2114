/* A figure over time: least squares over a sliding window. */
#include <string.h>

#include "memledger/parse.h"
#include "memledger/trend.h"

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
	fit->suspect = tr->n >= 5 && fit->span >= window / 2 && fit->r2 >= 0.8 &&
	               fit->rises >= 0.8 && fit->slope * 60 > floor;
}
