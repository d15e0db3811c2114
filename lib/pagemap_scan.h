/* The PAGEMAP_SCAN ioctl of /proc/PID/pagemap (Linux 6.7, linux/fs.h), declared here for
 * older headers: the populated ranges of an address range, without a word per page. For
 * the scan and for the capture (libc alone). */
#ifndef MEMLEDGER_PAGEMAP_SCAN_H
#define MEMLEDGER_PAGEMAP_SCAN_H

#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>

struct ml_page_region {
	uint64_t start, end, categories;
};
struct ml_pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define ML_PAGEMAP_SCAN    _IOWR('f', 16, struct ml_pm_scan_arg)
#define ML_PAGE_IS_PRESENT (1 << 3)
#define ML_PAGE_IS_SWAPPED (1 << 4)

/*
 * The ranges of [start, end) whose pages are present or swapped, at most n into v.
 * Returns how many (fewer than n: the walk is done; n: go on from v[n - 1].end, never
 * from the kernel's walk_end, wrong on 6.18 once past its 512-region buffer), -ENOTTY
 * without PAGEMAP_SCAN (before 6.7, not a pagemap), or -errno (-EINTR: ask again).
 */
static inline long ml_pagemap_scan(int fd, uint64_t start, uint64_t end, struct ml_page_region *v,
                                   uint64_t n)
{
	struct ml_pm_scan_arg arg = {.size = sizeof(arg),
	                             .start = start,
	                             .end = end,
	                             .vec = (uint64_t)(uintptr_t)v,
	                             .vec_len = n,
	                             .category_anyof_mask =
	                                 ML_PAGE_IS_PRESENT | ML_PAGE_IS_SWAPPED};
	long got = ioctl(fd, ML_PAGEMAP_SCAN, &arg);

	if (got < 0)
		return errno == EINVAL || errno == EOPNOTSUPP || errno == ENOTTY ? -ENOTTY : -errno;
	return got;
}

#endif
