/* The fdinfo of DRM and dma-buf fds: the parse layer of GPU memory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memledger/gpu.h"
#include "memledger/ledger.h"
#include "util.h"

/* "N", "N KiB", "N MiB" or "N GiB" (drm-usage-stats: sizes in bytes or with a unit) in
 * bytes. Returns 0 or -EINVAL. */
static int parse_size(const char *v, size_t n, uint64_t *out)
{
	uint64_t x = 0, mult = 1;
	size_t i = 0;

	while (i < n && (v[i] == ' ' || v[i] == '\t'))
		i++;
	if (i == n || v[i] < '0' || v[i] > '9')
		return -EINVAL;
	for (; i < n && v[i] >= '0' && v[i] <= '9'; i++) {
		if (x > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	while (i < n && v[i] == ' ')
		i++;
	if (n - i == 3 && memcmp(v + i, "KiB", 3) == 0)
		mult = 1ULL << 10;
	else if (n - i == 3 && memcmp(v + i, "MiB", 3) == 0)
		mult = 1ULL << 20;
	else if (n - i == 3 && memcmp(v + i, "GiB", 3) == 0)
		mult = 1ULL << 30;
	else if (i != n)
		return -EINVAL;
	if (x > UINT64_MAX / mult)
		return -EINVAL;
	*out = x * mult;
	return 0;
}

/* The text of a value, without leading blanks, into buf. */
static void copy_text(const char *v, size_t n, char *buf, size_t len)
{
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	snprintf(buf, len, "%.*s", (int)n, v);
}

static struct ml_drm_region *region(struct ml_drm_client *c, const char *name, size_t n)
{
	struct ml_drm_region *r;

	for (size_t i = 0; i < c->nregions; i++)
		if (strlen(c->regions[i].name) == n && memcmp(c->regions[i].name, name, n) == 0)
			return &c->regions[i];
	if (c->nregions == ML_DRM_MAX_REGIONS || n == 0 || n >= sizeof(r->name))
		return NULL;
	r = &c->regions[c->nregions++];
	snprintf(r->name, sizeof(r->name), "%.*s", (int)n, name);
	/* stolen: RAM that firmware set aside for the GPU at boot, outside MemTotal */
	r->vram = strncmp(r->name, "vram", 4) == 0 || strncmp(r->name, "local", 5) == 0 ||
	          strncmp(r->name, "stolen", 6) == 0;
	r->total = r->shared = r->resident = r->purgeable = r->active = ML_UNKNOWN;
	return r;
}

/* True when s[0..len) starts with prefix. */
static bool starts(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(s, prefix, n) == 0;
}

enum ml_gpu_fd ml_gpu_fd_kind(const char *target, size_t len)
{
	if (starts(target, len, "/dev/dri/") || starts(target, len, "/dev/accel/"))
		return ML_FD_DRM;
	if (starts(target, len, "/dmabuf:") || starts(target, len, "anon_inode:dmabuf"))
		return ML_FD_DMABUF;
	return ML_FD_OTHER;
}

bool ml_drm_same_client(const struct ml_drm_client *a, const struct ml_drm_client *b)
{
	return a->client_id != ML_UNKNOWN && a->client_id == b->client_id &&
	       strcmp(a->driver, b->driver) == 0 && strcmp(a->pdev, b->pdev) == 0;
}

int ml_parse_drm_fdinfo(const char *buf, size_t len, struct ml_drm_client *c)
{
	static const char *const kinds[] = {"drm-total-",     "drm-shared-", "drm-resident-",
	                                    "drm-purgeable-", "drm-active-", "drm-memory-"};
	struct ml_line_iter it;
	const char *l;
	size_t n;

	memset(c, 0, sizeof(*c));
	c->client_id = ML_UNKNOWN;
	ml_line_iter_init(&it, buf, len);
	while (ml_line_iter_next(&it, &l, &n)) {
		const char *colon = memchr(l, ':', n);
		size_t klen, vlen;
		if (!colon)
			continue;
		klen = (size_t)(colon - l);
		vlen = n - klen - 1;
		if (klen == 10 && memcmp(l, "drm-driver", 10) == 0) {
			copy_text(colon + 1, vlen, c->driver, sizeof(c->driver));
		} else if (klen == 8 && memcmp(l, "drm-pdev", 8) == 0) {
			copy_text(colon + 1, vlen, c->pdev, sizeof(c->pdev));
		} else if (klen == 13 && memcmp(l, "drm-client-id", 13) == 0) {
			if (parse_size(colon + 1, vlen, &c->client_id) < 0)
				return -EINVAL;
		} else {
			for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
				size_t plen = strlen(kinds[k]);
				struct ml_drm_region *r;
				uint64_t v;
				/* drm-total-cycles-* and the engine keys are no memory */
				if (klen <= plen || memcmp(l, kinds[k], plen) != 0 ||
				    memcmp(l + plen, "cycles-",
				           klen - plen < 7 ? klen - plen : 7) == 0)
					continue;
				if (parse_size(colon + 1, vlen, &v) < 0)
					return -EINVAL;
				if (!(r = region(c, l + plen, klen - plen)))
					break;
				uint64_t *slot[] = {&r->total,     &r->shared, &r->resident,
				                    &r->purgeable, &r->active, &r->resident};
				*slot[k] = v;
				break;
			}
		}
	}
	return c->driver[0] ? 0 : -ENOENT;
}

int ml_parse_dmabuf_fdinfo(const char *buf, size_t len, struct ml_dmabuf *b)
{
	struct ml_line_iter it;
	bool have_ino = false, have_size = false;
	const char *l;
	size_t n;

	memset(b, 0, sizeof(*b));
	b->count = ML_UNKNOWN;
	ml_line_iter_init(&it, buf, len);
	while (ml_line_iter_next(&it, &l, &n)) {
		const char *colon = memchr(l, ':', n);
		size_t klen = colon ? (size_t)(colon - l) : 0, vlen = n - klen - 1;
		if (!colon)
			continue;
		if (klen == 3 && memcmp(l, "ino", 3) == 0)
			have_ino = parse_size(colon + 1, vlen, &b->ino) == 0;
		else if (klen == 4 && memcmp(l, "size", 4) == 0)
			have_size = parse_size(colon + 1, vlen, &b->size) == 0;
		else if (klen == 5 && memcmp(l, "count", 5) == 0 &&
		         parse_size(colon + 1, vlen, &b->count) < 0)
			b->count = ML_UNKNOWN;
		else if (klen == 8 && memcmp(l, "exp_name", 8) == 0)
			copy_text(colon + 1, vlen, b->exp_name, sizeof(b->exp_name));
	}
	if (!b->exp_name[0])
		return -ENOENT;
	return have_ino && have_size ? 0 : -EINVAL;
}
