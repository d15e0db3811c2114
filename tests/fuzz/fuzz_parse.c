/*
 * libFuzzer target for every /proc parser. The first byte picks the parser, the rest is
 * the file's text. Besides no crash under ASan and UBSan, it checks what must hold of
 * any input the parser accepts: sums never wrap, smaps parsed whole equals smaps fed a
 * line at a time, mappings are never empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "memledger/cgroup.h"
#include "memledger/gpu.h"
#include "memledger/parse.h"
#include "memledger/system.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

/* What a walk over mappings adds up; the same for the two ways of feeding them. */
struct tally {
	size_t n;
	struct ml_mem sum;
};

static int tally_mapping(const struct ml_mapping *m, void *ctx)
{
	struct tally *t = ctx;
	struct ml_mem before = t->sum;

	CHECK(m->start < m->end);
	ml_mem_add(&t->sum, &m->mem);
	for (int i = 0; i < ML_MEM_NFIELDS; i++) /* a sum is unknown or at least its parts */
		CHECK(t->sum.v[i] == ML_UNKNOWN ||
		      (t->sum.v[i] >= before.v[i] && t->sum.v[i] >= m->mem.v[i]));
	t->n++;
	return 0;
}

static void fuzz_smaps(const char *buf, size_t len)
{
	struct tally whole = {0}, lines = {0};
	struct ml_smaps_parser p;
	const char *s = buf, *end = buf + len;
	int rc_whole, rc_lines = 0;

	ml_mem_init(&whole.sum);
	for (int i = 0; i < ML_MEM_NFIELDS; i++)
		whole.sum.v[i] = 0;
	lines.sum = whole.sum;
	rc_whole = ml_parse_smaps(buf, len, tally_mapping, &whole);
	ml_smaps_parser_init(&p, tally_mapping, &lines);
	while (s < end && rc_lines == 0) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = (size_t)((nl ? nl : end) - s);
		rc_lines = ml_smaps_parser_feed(&p, s, n);
		s += n + (nl != NULL);
	}
	if (rc_lines == 0)
		rc_lines = ml_smaps_parser_finish(&p);
	CHECK(rc_whole == rc_lines);
	if (rc_whole == 0)
		CHECK(whole.n == lines.n && memcmp(&whole.sum, &lines.sum, sizeof(whole.sum)) == 0);
}

static void fuzz_rollup(const char *buf, size_t len)
{
	struct ml_mem m;

	if (ml_parse_smaps_rollup(buf, len, &m) == 0)
		CHECK(m.v[ML_MEM_RSS] != ML_UNKNOWN && m.v[ML_MEM_PSS] != ML_UNKNOWN);
}

static int count_segment(const struct ml_sysv_shm *seg, void *ctx)
{
	(void)seg;
	++*(size_t *)ctx;
	return 0;
}

static void fuzz_other(int which, char *buf, size_t len)
{
	struct ml_status st;
	struct ml_stat sa;
	struct ml_statm sm;
	uint64_t mi[ML_MI_COUNT], v;
	const char *path;
	size_t plen, n = 0;
	struct ml_mapping m;
	char name[ML_NAME_MAX];

	switch (which) {
	case 2:
		if (ml_parse_status(buf, len, &st) == 0)
			CHECK(st.name[0] || !st.name[0]);
		break;
	case 3:
		if (ml_parse_stat(buf, len, &sa) == 0)
			CHECK(sa.comm[ML_COMM_MAX - 1] == '\0');
		break;
	case 4:
		if (ml_parse_meminfo(buf, len, mi) == 0)
			CHECK(mi[ML_MI_MEMTOTAL] != ML_UNKNOWN);
		break;
	case 5:
		if (ml_parse_cgroup(buf, len, &path, &plen) == 0)
			CHECK(path >= buf && path + plen <= buf + len);
		break;
	case 6:
		if (ml_parse_sysv_shm(buf, len, count_segment, &n) >= 0)
			CHECK(n <= len);
		break;
	case 7: (void)ml_parse_loadavg_threads(buf, len, &v); break;
	case 8: (void)ml_parse_mountinfo_hidepid(buf, len, "/proc"); break;
	case 9:
		if (ml_parse_maps_line(buf, len, &m, name) == 0)
			CHECK(m.start < m.end);
		break;
	case 11:
		if (ml_parse_statm(buf, len, 4096, &sm) == 0)
			CHECK(sm.shared <= sm.resident && sm.resident <= sm.size);
		break;
	case 13: {
		struct ml_drm_client dc;
		struct ml_dmabuf db;
		if (ml_parse_drm_fdinfo(buf, len, &dc) == 0)
			CHECK(dc.nregions <= ML_DRM_MAX_REGIONS && dc.driver[0]);
		if (ml_parse_dmabuf_fdinfo(buf, len, &db) == 0)
			CHECK(db.exp_name[0]);
		break;
	}
	case 12: {
		struct ml_cgroup g;
		memset(&g, 0, sizeof(g));
		g.anon = g.file = g.shmem = g.kernel = g.sock = g.mapped = ML_UNKNOWN;
		if (ml_parse_memcg_stat(buf, len, 1 + (len & 1), &g) == 0)
			CHECK(g.file == ML_UNKNOWN || g.shmem != ML_UNKNOWN);
		break;
	}
	default: CHECK(ml_parse_cmdline(buf, len) <= len); break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf;
	int which;

	if (size == 0)
		return 0;
	which = data[0] % 14;
	buf = malloc(size); /* the text and a NUL, as the readers hand it over */
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	if (which == 0)
		fuzz_smaps(buf, size - 1);
	else if (which == 1)
		fuzz_rollup(buf, size - 1);
	else
		fuzz_other(which, buf, size - 1);
	free(buf);
	return 0;
}
