/* A figure over time: its samples in a sliding window, their least-squares slope, and
 * whether they look like a leak: a suspect after one window of steady growth, confirmed
 * when its floor has risen across three windows by more than any fall within them. */
#ifndef MEMLEDGER_TREND_H
#define MEMLEDGER_TREND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ML_TREND_MAX 128 /* samples kept at most: the window's, however short the refresh */

#define ML_TREND_BUCKETS 16 /* quarter windows of the floor's history: 3½ windows and more */

/* A quarter of a window of samples: its lowest and highest value, and the deepest fall
 * within it (from a value to a later, lower one). */
struct ml_trend_bucket {
	long index; /* the quarter window since the trend's start */
	float min, max, fall;
};

/* 1.3 KiB a process: floats (24 bits: to the millisecond over hours, to 6 KiB in
 * 100 GiB). */
struct ml_trend {
	float t[ML_TREND_MAX]; /* seconds after first_t, ascending */
	float v[ML_TREND_MAX]; /* bytes */
	size_t first, n;       /* a ring: n samples from index first */
	double first_t;        /* when the first sample ever came (the trend's start) */
	double first_v;        /* and its value */
	struct ml_trend_bucket b[ML_TREND_BUCKETS]; /* a ring: nb from bfirst */
	size_t bfirst, nb;
};

/* Starts an empty trend. */
void ml_trend_init(struct ml_trend *tr);

/* Adds the value v (ML_UNKNOWN: skipped) at time t, and drops the samples older than
 * window seconds before t. */
void ml_trend_add(struct ml_trend *tr, double t, uint64_t v, double window);

/* What the window's samples say. */
struct ml_trend_fit {
	size_t n;          /* samples in the window */
	double span;       /* seconds from the first to the last */
	double slope;      /* bytes per second, least squares */
	double r2;         /* how well a line fits: 1 a straight line, 0 none */
	double rises;      /* of the steps from sample to sample, the part that do not fall */
	bool verdict;      /* enough samples for one: 5 over half the window */
	bool suspect;      /* grew steadily over the window: a leak suspect */
	bool leak;         /* its floor rose across three windows: a leak, confirmed */
	double floor_rise; /* the floor's rise over those windows, bytes per second */
};

/*
 * Fits a line to the window's samples. A verdict needs the window at least half covered
 * by at least 5 samples; a trend is then a suspect when the line fits (r2 >= 0.8), at
 * least 80% of the steps do not fall (a sawtooth's do), and it grew by more than floor
 * bytes per minute. It is a confirmed leak when, over the last 3½ windows (from 3¼ on), the
 * lowest value of each window (the last, the one before, and the 1½ before those) rose from
 * window to window, by more than floor bytes a minute and by more than the deepest fall
 * within those windows: a garbage collector's sawtooth whose teeth are up to three windows
 * long always falls by more than its floor rises, and is never confirmed.
 */
void ml_trend_fit(const struct ml_trend *tr, double window, double floor, struct ml_trend_fit *fit);

#endif
