/* A figure over time: its samples in a sliding window, their least-squares slope, and
 * whether they look like a leak. */
#ifndef MEMLEDGER_TREND_H
#define MEMLEDGER_TREND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ML_TREND_MAX 128 /* samples kept at most: the window's, however short the refresh */

/* 1 KiB a process: floats (24 bits: to the millisecond over hours, to 6 KiB in 100 GiB). */
struct ml_trend {
	float t[ML_TREND_MAX]; /* seconds after first_t, ascending */
	float v[ML_TREND_MAX]; /* bytes */
	size_t first, n;       /* a ring: n samples from index first */
	double first_t;        /* when the first sample ever came (the trend's start) */
	double first_v;        /* and its value */
};

/* Starts an empty trend. */
void ml_trend_init(struct ml_trend *tr);

/* Adds the value v (ML_UNKNOWN: skipped) at time t, and drops the samples older than
 * window seconds before t. */
void ml_trend_add(struct ml_trend *tr, double t, uint64_t v, double window);

/* What the window's samples say. */
struct ml_trend_fit {
	size_t n;     /* samples in the window */
	double span;  /* seconds from the first to the last */
	double slope; /* bytes per second, least squares */
	double r2;    /* how well a line fits: 1 a straight line, 0 none */
	double rises; /* of the steps from sample to sample, the part that do not fall */
	bool suspect; /* grew steadily: a leak suspect */
};

/*
 * Fits a line to the window's samples. A trend is a suspect when the window is at least
 * half covered by at least 5 samples, the line fits (r2 >= 0.8), at least 80% of the
 * steps do not fall (a sawtooth's do), and it grew by more than floor bytes per minute.
 */
void ml_trend_fit(const struct ml_trend *tr, double window, double floor, struct ml_trend_fit *fit);

#endif
