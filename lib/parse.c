/* Parsers of /proc text: keyed by field name, never by position; no I/O, no allocation. */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "memledger/parse.h"
#include "util.h"

/* The kB fields' keys, then keys of smaps that memledger reads past: knowing them lets
 * the parser recognise their lines as fast as a field's. */
enum { KEY_PAGE_SIZE = ML_MEM_NFIELDS, KEY_MMU_PAGE_SIZE, KEY_THP_ELIGIBLE, KEY_PKEY, NKEYS };

static const struct {
	const char *key;
	unsigned char len;
} mem_keys[NKEYS] = {
#define K(f, s) [f] = {s, sizeof(s) - 1}
    K(ML_MEM_SIZE, "Size"),
    K(ML_MEM_RSS, "Rss"),
    K(ML_MEM_PSS, "Pss"),
    K(ML_MEM_PSS_DIRTY, "Pss_Dirty"),
    K(ML_MEM_PSS_ANON, "Pss_Anon"),
    K(ML_MEM_PSS_FILE, "Pss_File"),
    K(ML_MEM_PSS_SHMEM, "Pss_Shmem"),
    K(ML_MEM_SHARED_CLEAN, "Shared_Clean"),
    K(ML_MEM_SHARED_DIRTY, "Shared_Dirty"),
    K(ML_MEM_PRIVATE_CLEAN, "Private_Clean"),
    K(ML_MEM_PRIVATE_DIRTY, "Private_Dirty"),
    K(ML_MEM_REFERENCED, "Referenced"),
    K(ML_MEM_ANONYMOUS, "Anonymous"),
    K(ML_MEM_KSM, "KSM"),
    K(ML_MEM_LAZYFREE, "LazyFree"),
    K(ML_MEM_ANON_HUGE, "AnonHugePages"),
    K(ML_MEM_SHMEM_PMD, "ShmemPmdMapped"),
    K(ML_MEM_FILE_PMD, "FilePmdMapped"),
    K(ML_MEM_SHARED_HUGETLB, "Shared_Hugetlb"),
    K(ML_MEM_PRIVATE_HUGETLB, "Private_Hugetlb"),
    K(ML_MEM_SWAP, "Swap"),
    K(ML_MEM_SWAP_PSS, "SwapPss"),
    K(ML_MEM_LOCKED, "Locked"),
    K(KEY_PAGE_SIZE, "KernelPageSize"),
    K(KEY_MMU_PAGE_SIZE, "MMUPageSize"),
    K(KEY_THP_ELIGIBLE, "THPeligible"),
    K(KEY_PKEY, "ProtectionKey"),
#undef K
};

uint64_t ml_add_u64(uint64_t a, uint64_t b)
{
	return ml_add(a, b);
}

void ml_mem_init(struct ml_mem *m)
{
	for (int i = 0; i < ML_MEM_NFIELDS; i++)
		m->v[i] = ML_UNKNOWN;
}

void ml_mem_add(struct ml_mem *a, const struct ml_mem *b)
{
	for (int i = 0; i < ML_MEM_NFIELDS; i++)
		a->v[i] = ml_add(a->v[i], b->v[i]);
}

/*
 * The lookup tables, built once: the first key of each length and first letter, and each
 * key with its colon as two masked words, for a comparison of two loads.
 */
static struct {
	signed char first[32][64]; /* [len][first letter - '@'] -> index + 1 */
	uint64_t word[NKEYS][2], mask[NKEYS][2];
} keys;
static pthread_once_t keys_once = PTHREAD_ONCE_INIT;

static void build_keys(void)
{
	for (int i = NKEYS - 1; i >= 0; i--) {
		char text[16] = {0}, ones[16] = {0};
		size_t n = mem_keys[i].len;
		keys.first[n][(mem_keys[i].key[0] - '@') & 63] = (signed char)(i + 1);
		memcpy(text, mem_keys[i].key, n);
		text[n] = ':'; /* every key is 15 letters at most */
		memset(ones, 0xff, n + 1);
		memcpy(keys.word[i], text, 16);
		memcpy(keys.mask[i], ones, 16);
	}
}

/* True when line (len bytes) starts with the key of field i and its colon. */
static bool starts_with_key(const char *line, size_t len, int i)
{
	uint64_t w[2];

	if (len < 16)
		return len > mem_keys[i].len && line[mem_keys[i].len] == ':' &&
		       memcmp(line, mem_keys[i].key, mem_keys[i].len) == 0;
	memcpy(w, line, 16);
	return ((w[0] & keys.mask[i][0]) == keys.word[i][0]) &
	       ((w[1] & keys.mask[i][1]) == keys.word[i][1]);
}

/*
 * Index of the key called key[0..len) in mem_keys (a field below ML_MEM_NFIELDS, or a key
 * read past), or -1. Looks only at the keys of the same
 * length and first letter (two or three at most): this runs once per line of smaps.
 */
static int mem_field_index(const char *key, size_t len)
{
	int i;

	pthread_once(&keys_once, build_keys);
	if (len >= 32)
		return -1;
	i = keys.first[len][(key[0] - '@') & 63] - 1;
	if (i < 0)
		return -1;
	for (; i < NKEYS; i++) /* from the first key of that length and letter on */
		if (mem_keys[i].len == len && memcmp(mem_keys[i].key, key, len) == 0)
			return i;
	return -1;
}

/* True when p[0..n) is all spaces: eight bytes at a time, the last eight overlapping. */
static bool all_spaces(const char *p, size_t n)
{
	const uint64_t spaces = 0x2020202020202020ull;
	uint64_t w;

	if (n < 8) {
		while (n && *p == ' ')
			p++, n--;
		return n == 0;
	}
	for (size_t i = 0; i + 8 < n; i += 8)
		if (memcpy(&w, p + i, 8), w != spaces)
			return false;
	memcpy(&w, p + n - 8, 8);
	return w == spaces;
}

/*
 * Parses "   123 kB" as smaps writes it: the number found back from the " kB" that ends
 * the line, then spaces alone checked before it. Returns 0, or -1 for any other shape
 * (tabs, no unit, over 16 digits), which the general parse takes.
 */
static int parse_kb_fast(const char *p, const char *end, uint64_t *bytes)
{
	const char *unit = end - 3, *digits = unit;
	uint64_t kb = 0;

	if (end - p < 5 || memcmp(unit, " kB", 3) != 0)
		return -1;
	while (digits > p && (unsigned)(digits[-1] - '0') <= 9)
		digits--;
	if (digits == unit || unit - digits > 16 || !all_spaces(p, (size_t)(digits - p)))
		return -1; /* 16 digits cannot overflow: 10^16 kB < 2^64 bytes */
	for (const char *d = digits; d < unit; d++)
		kb = kb * 10 + (unsigned)(*d - '0');
	*bytes = kb * 1024;
	return 0;
}

/*
 * Parses "   123 kB" (blanks, a decimal number, an optional " kB") from p to end into
 * bytes. Returns 0 or -EINVAL. This runs once per line of smaps: the shape smaps writes
 * takes a fast path first.
 */
static int parse_kb(const char *p, const char *end, uint64_t *bytes)
{
	const uint64_t max_kb = UINT64_MAX / 1024;
	uint64_t kb;

	if (parse_kb_fast(p, end, bytes) == 0)
		return 0;
	p = ml_skip_blanks(p, end);
	if (ml_parse_u64(&p, end, 10, &kb) < 0 || kb > max_kb)
		return -EINVAL;
	p = ml_skip_blanks(p, end);
	if (p != end && !(end - p == 2 && p[0] == 'k' && p[1] == 'B'))
		return -EINVAL;
	*bytes = kb * 1024;
	return 0;
}

/*
 * Parses a "Key:   123 kB" line into m by its key, found by a scan for the colon and a
 * lookup. *field gets the key's index in mem_keys (only a field's value is stored), or -1
 * for a key it does not know (VmFlags, Android's Name, ...). Returns 0 or -EINVAL.
 */
static int parse_keyed_line(const char *line, size_t len, struct ml_mem *m, int *field)
{
	const char *end = line + len, *colon = line;

	*field = -1;
	while (colon < end && *colon != ':') /* keys are short: no memchr call */
		colon++;
	if (colon == end || colon == line)
		return -EINVAL;
	*field = mem_field_index(line, (size_t)(colon - line));
	if (*field < 0 || *field >= ML_MEM_NFIELDS)
		return 0; /* a line memledger does not use */
	if (m->v[*field] != ML_UNKNOWN)
		return -EINVAL; /* a key twice: which one holds? */
	return parse_kb(colon + 1, end, &m->v[*field]);
}

int ml_parse_mem_line(const char *line, size_t len, struct ml_mem *m)
{
	int field;

	return parse_keyed_line(line, len, m, &field);
}

/* ml_vmflags_has for any spacing: the flag as a word of its own anywhere. */
static bool vmflags_scan(const char *vmflags, const char flag[2])
{
	for (const char *p = vmflags; p[0] && p[1]; p++) {
		if (p[0] == flag[0] && p[1] == flag[1] && (p == vmflags || p[-1] == ' ') &&
		    (p[2] == ' ' || p[2] == '\0'))
			return true;
	}
	return false;
}

bool ml_vmflags_has(const char *vmflags, const char flag[2])
{
	/* smaps writes each flag as two letters and a blank: every third byte starts one */
	for (const char *p = vmflags; p[0] && p[1]; p += 3) {
		if (p[0] == ' ' || (p[2] != ' ' && p[2] != '\0'))
			return vmflags_scan(vmflags, flag); /* not as smaps writes it */
		if (p[0] == flag[0] && p[1] == flag[1])
			return true;
		if (!p[2])
			break;
	}
	return false;
}

bool ml_mapping_has_flag(const struct ml_mapping *m, const char flag[2])
{
	return ml_vmflags_has(m->vmflags, flag);
}

int ml_parse_kb_field(const char *buf, size_t len, const char *key, uint64_t *bytes)
{
	struct ml_line_iter it;
	const char *line, *colon;
	size_t n;

	const char *found = NULL, *found_end = NULL;

	ml_line_iter_init(&it, buf, len);
	while (ml_line_iter_next(&it, &line, &n)) {
		colon = memchr(line, ':', n);
		if (!colon || !ml_key_is(line, (size_t)(colon - line), key))
			continue;
		if (found)
			return -EINVAL; /* a key twice: which one holds? */
		found = colon + 1;
		found_end = line + n;
	}
	return found ? parse_kb(found, found_end, bytes) : -ENOENT;
}

/* Parses "major:minor" (hex) from *p. Returns 0 or -EINVAL. */
static int parse_dev(const char **p, const char *end, unsigned *major, unsigned *minor)
{
	uint64_t a, b;

	if (ml_parse_u64(p, end, 16, &a) < 0 || *p == end || **p != ':')
		return -EINVAL;
	(*p)++;
	if (ml_parse_u64(p, end, 16, &b) < 0 || a > UINT32_MAX || b > UINT32_MAX)
		return -EINVAL;
	*major = (unsigned)a;
	*minor = (unsigned)b;
	return 0;
}

int ml_parse_maps_line(const char *line, size_t len, struct ml_mapping *m, char *name_buf)
{
	const char *p = line, *end = line + len;
	size_t name_len;

	if (ml_parse_u64(&p, end, 16, &m->start) < 0 || p == end || *p++ != '-' ||
	    ml_parse_u64(&p, end, 16, &m->end) < 0 || m->end <= m->start)
		return -EINVAL; /* no mapping is empty */
	p = ml_skip_blanks(p, end);
	if (end - p < 4)
		return -EINVAL;
	memcpy(m->perms, p, 4);
	m->perms[4] = '\0';
	p += 4;
	p = ml_skip_blanks(p, end);
	if (ml_parse_u64(&p, end, 16, &m->offset) < 0)
		return -EINVAL;
	p = ml_skip_blanks(p, end);
	if (parse_dev(&p, end, &m->dev_major, &m->dev_minor) < 0)
		return -EINVAL;
	p = ml_skip_blanks(p, end);
	if (ml_parse_u64(&p, end, 10, &m->inode) < 0 || (p != end && *p != ' ' && *p != '\t'))
		return -EINVAL;
	p = ml_skip_blanks(p, end);
	name_len = (size_t)(end - p);
	if (name_len >= ML_NAME_MAX)
		name_len = ML_NAME_MAX - 1;
	memcpy(name_buf, p, name_len);
	name_buf[name_len] = '\0';
	m->name = name_buf;
	m->name_len = name_len;
	return 0;
}

/* Lines that open a mapping start with its address: lowercase hex, never a field key. */
static bool is_maps_line(const char *line, size_t len)
{
	return len > 0 &&
	       ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f'));
}

void ml_smaps_parser_init(struct ml_smaps_parser *p, ml_mapping_fn emit, void *ctx)
{
	p->have_cur = false;
	p->emit = emit;
	p->ctx = ctx;
	memset(p->order, -1, sizeof(p->order));
	p->line = 0;
	pthread_once(&keys_once, build_keys);
}

/*
 * Parses a field line of the current mapping: first as the field that stood at this
 * line in the mapping before, else by its key (and remembers which it was).
 */
static int feed_field_line(struct ml_smaps_parser *p, const char *line, size_t len)
{
	unsigned at = p->line++;
	int guess = at < ML_SMAPS_ORDER_MAX ? p->order[at] : -1, field, rc;

	if (guess >= 0 && starts_with_key(line, len, guess)) {
		if (guess >= ML_MEM_NFIELDS)
			return 0; /* a line memledger does not use */
		if (p->cur.mem.v[guess] != ML_UNKNOWN)
			return -EINVAL; /* a key twice */
		return parse_kb(line + mem_keys[guess].len + 1, line + len, &p->cur.mem.v[guess]);
	}
	rc = parse_keyed_line(line, len, &p->cur.mem, &field);
	if (at < ML_SMAPS_ORDER_MAX)
		p->order[at] = (signed char)field;
	return rc;
}

/* Stores the value of a "VmFlags: rd wr mr" line in m. */
static void parse_vmflags(const char *line, size_t len, struct ml_mapping *m)
{
	const char *p = line + sizeof("VmFlags:") - 1, *end = line + len;
	size_t n;

	p = ml_skip_blanks(p, end);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	n = (size_t)(end - p) < ML_VMFLAGS_MAX - 1 ? (size_t)(end - p) : ML_VMFLAGS_MAX - 1;
	memcpy(m->vmflags, p, n);
	m->vmflags[n] = '\0';
	m->has_vmflags = true;
}

int ml_smaps_parser_feed(struct ml_smaps_parser *p, const char *line, size_t len)
{
	int rc;

	if (len == 0)
		return 0;
	if (is_maps_line(line, len)) {
		rc = ml_smaps_parser_finish(p);
		if (rc)
			return rc;
		if (ml_parse_maps_line(line, len, &p->cur, p->name) < 0)
			return -EINVAL;
		ml_mem_init(&p->cur.mem);
		p->cur.vmflags[0] = '\0';
		p->cur.has_vmflags = false;
		p->have_cur = true;
		p->line = 0;
		return 0;
	}
	if (!p->have_cur)
		return -EINVAL;
	if (len >= 8 && memcmp(line, "VmFlags:", 8) == 0) {
		parse_vmflags(line, len, &p->cur);
		return 0;
	}
	return feed_field_line(p, line, len);
}

int ml_smaps_parser_finish(struct ml_smaps_parser *p)
{
	if (!p->have_cur)
		return 0;
	p->have_cur = false;
	return p->emit(&p->cur, p->ctx);
}

int ml_parse_smaps(const char *buf, size_t len, ml_mapping_fn emit, void *ctx)
{
	struct ml_smaps_parser parser;
	struct ml_line_iter it;
	const char *line;
	size_t n;
	int rc = 0;

	ml_smaps_parser_init(&parser, emit, ctx);
	ml_line_iter_init(&it, buf, len);
	while (rc == 0 && ml_line_iter_next(&it, &line, &n))
		rc = ml_smaps_parser_feed(&parser, line, n);
	return rc ? rc : ml_smaps_parser_finish(&parser);
}

int ml_parse_smaps_rollup(const char *buf, size_t len, struct ml_mem *m)
{
	struct ml_line_iter it;
	const char *line;
	size_t n;

	ml_mem_init(m);
	ml_line_iter_init(&it, buf, len);
	while (ml_line_iter_next(&it, &line, &n)) {
		if (n == 0 || is_maps_line(line, n))
			continue; /* the "[rollup]" header */
		if (ml_parse_mem_line(line, n, m) < 0)
			return -EINVAL;
	}
	if (m->v[ML_MEM_RSS] == ML_UNKNOWN || m->v[ML_MEM_PSS] == ML_UNKNOWN)
		return -EINVAL;
	return 0;
}

/* Copies the value of a "Key:\tvalue" line, escaped as the kernel wrote it, into dst. */
static void copy_value(const char *p, const char *end, char *dst, size_t cap)
{
	size_t n;

	p = ml_skip_blanks(p, end);
	n = (size_t)(end - p) < cap - 1 ? (size_t)(end - p) : cap - 1;
	memcpy(dst, p, n);
	dst[n] = '\0';
}

static const struct {
	const char *key;
	size_t offset; /* of the uint64_t in struct ml_status */
} status_kb_keys[] = {
    {"VmSize", offsetof(struct ml_status, vm_size)},
    {"VmRSS", offsetof(struct ml_status, vm_rss)},
    {"RssAnon", offsetof(struct ml_status, rss_anon)},
    {"RssFile", offsetof(struct ml_status, rss_file)},
    {"RssShmem", offsetof(struct ml_status, rss_shmem)},
    {"VmSwap", offsetof(struct ml_status, vm_swap)},
    {"VmPTE", offsetof(struct ml_status, vm_pte)},
    {"HugetlbPages", offsetof(struct ml_status, hugetlb)},
};

/* Parses one status line's value for key[0..klen) into s. Returns 0 or -EINVAL. */
static int status_field(const char *key, size_t klen, const char *p, const char *end,
                        struct ml_status *s)
{
	uint64_t v;

	if (ml_key_is(key, klen, "Name")) {
		if (s->name[0])
			return -EINVAL; /* a key twice: which one holds? */
		copy_value(p, end, s->name, sizeof(s->name));
		return 0;
	}
	if (ml_key_is(key, klen, "PPid")) {
		p = ml_skip_blanks(p, end);
		if (s->ppid != -1 || ml_parse_u64(&p, end, 10, &v) < 0 || v > INT32_MAX)
			return -EINVAL;
		s->ppid = (pid_t)v;
		return 0;
	}
	if (ml_key_is(key, klen, "Uid")) { /* real, effective, saved, fs */
		p = ml_skip_blanks(p, end);
		if (s->uid != ML_UNKNOWN || ml_parse_u64(&p, end, 10, &v) < 0)
			return -EINVAL;
		p = ml_skip_blanks(p, end);
		if (ml_parse_u64(&p, end, 10, &s->uid) < 0)
			return -EINVAL;
		return 0;
	}
	if (ml_key_is(key, klen, "Threads")) {
		p = ml_skip_blanks(p, end);
		return s->threads != ML_UNKNOWN ? -EINVAL : ml_parse_u64(&p, end, 10, &s->threads);
	}
	for (size_t i = 0; i < ML_ARRAY_SIZE(status_kb_keys); i++) {
		if (ml_key_is(key, klen, status_kb_keys[i].key)) {
			uint64_t *dst = (uint64_t *)((char *)s + status_kb_keys[i].offset);
			return *dst != ML_UNKNOWN ? -EINVAL : parse_kb(p, end, dst);
		}
	}
	return 0;
}

int ml_parse_status(const char *buf, size_t len, struct ml_status *s)
{
	struct ml_line_iter it;
	const char *line, *colon;
	bool named = false;
	size_t n;

	memset(s, 0, sizeof(*s));
	s->ppid = -1;
	s->uid = s->threads = ML_UNKNOWN;
	for (size_t i = 0; i < ML_ARRAY_SIZE(status_kb_keys); i++)
		*(uint64_t *)((char *)s + status_kb_keys[i].offset) = ML_UNKNOWN;
	ml_line_iter_init(&it, buf, len);
	while (ml_line_iter_next(&it, &line, &n)) {
		colon = memchr(line, ':', n);
		if (!colon)
			return -EINVAL;
		if (status_field(line, (size_t)(colon - line), colon + 1, line + n, s) < 0)
			return -EINVAL;
		named = named || ml_key_is(line, (size_t)(colon - line), "Name");
	}
	if (!named)
		return -EINVAL;
	s->has_mm = s->vm_size != ML_UNKNOWN;
	return 0;
}

int ml_parse_loadavg_threads(const char *buf, size_t len, uint64_t *threads)
{
	const char *end = buf + len, *slash = memchr(buf, '/', len), *p;
	uint64_t running;

	if (!slash) /* "0.47 0.89 0.63 1/79 13282" */
		return -EINVAL;
	for (p = slash; p > buf && p[-1] >= '0' && p[-1] <= '9'; p--)
		;
	if (ml_parse_u64(&p, end, 10, &running) < 0 || p != slash)
		return -EINVAL;
	p = slash + 1;
	return ml_parse_u64(&p, end, 10, threads);
}

/* The n-th (from 0) blank-separated field of line, its length in *flen; NULL when short. */
static const char *nth_field(const char *line, const char *end, int n, size_t *flen)
{
	const char *p = line;

	for (int i = 0;; i++) {
		const char *start;
		p = ml_skip_blanks(p, end);
		if (p == end)
			return NULL;
		start = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		if (i == n) {
			*flen = (size_t)(p - start);
			return start;
		}
	}
}

bool ml_parse_mountinfo_hidepid(const char *buf, size_t len, const char *mountpoint)
{
	struct ml_line_iter it;
	const char *line, *f, *dash;
	size_t k, flen;

	ml_line_iter_init(&it, buf, len);
	while (ml_line_iter_next(&it, &line, &k)) {
		/* "36 35 0:21 / /proc rw - proc proc rw,hidepid=2": mount point is field 4;
		 * after " - ": the type, the source, the superblock's options. */
		f = nth_field(line, line + k, 4, &flen);
		if (!f || !ml_key_is(f, flen, mountpoint))
			continue;
		dash = memmem(line, k, " - proc ", 8);
		if (!dash || !(f = nth_field(dash + 8, line + k, 1, &flen)))
			continue;
		for (const char *o = f, *oend = f + flen; o < oend;) {
			const char *comma = memchr(o, ',', (size_t)(oend - o));
			size_t olen = (size_t)((comma ? comma : oend) - o);
			if (ml_key_is(o, olen, "hidepid=2") ||
			    ml_key_is(o, olen, "hidepid=invisible"))
				return true;
			o += olen + 1;
		}
	}
	return false;
}

/*
 * Parses the next blank-separated decimal field of stat. Most are unsigned (rsslim may
 * be 2^64-1); priority and nice may be negative, kept as two's complement.
 */
static int stat_next(const char **p, const char *end, uint64_t *v)
{
	bool neg = false;

	*p = ml_skip_blanks(*p, end);
	if (*p < end && **p == '-') {
		neg = true;
		(*p)++;
	}
	if (ml_parse_u64(p, end, 10, v) < 0)
		return -EINVAL;
	if (neg)
		*v = 0 - *v;
	if (*p < end && **p != ' ')
		return -EINVAL;
	return 0;
}

int ml_parse_stat(const char *buf, size_t len, struct ml_stat *s)
{
	const char *end = buf + len, *p = buf, *open, *close = NULL;
	uint64_t f[52]; /* fields 4.. after "pid (comm) state" */
	size_t nf = 0, n;
	uint64_t pid;

	memset(s, 0, sizeof(*s));
	while (end > buf && (end[-1] == '\n' || end[-1] == '\0'))
		end--;
	if (ml_parse_u64(&p, end, 10, &pid) < 0 || pid > INT32_MAX)
		return -EINVAL;
	open = memchr(p, '(', (size_t)(end - p));
	for (const char *q = end; q > p; q--) /* comm may hold ')': the last one closes it */
		if (q[-1] == ')') {
			close = q - 1;
			break;
		}
	if (!open || !close || close < open || end - close < 3 || close[1] != ' ')
		return -EINVAL;
	n = (size_t)(close - open - 1) < ML_COMM_MAX - 1 ? (size_t)(close - open - 1)
	                                                 : ML_COMM_MAX - 1;
	memcpy(s->comm, open + 1, n);
	s->comm[n] = '\0';
	s->pid = (pid_t)pid;
	s->state = close[2];
	p = close + 3;
	while (nf < ML_ARRAY_SIZE(f) && ml_skip_blanks(p, end) < end) {
		if (stat_next(&p, end, &f[nf]) < 0)
			return -EINVAL;
		nf++;
	}
	if (nf < 20) /* through vsize (field 23) */
		return -EINVAL;
	/* f[k] is field k + 4 of proc(5). */
	s->ppid = (pid_t)f[0];
	s->pgid = (pid_t)f[1];
	s->session = (pid_t)f[2];
	s->flags = (unsigned)f[5];
	s->threads = f[16];
	s->starttime = f[18];
	s->vsize = f[19];
	if (nf >= 46 && f[45] > f[44]) {
		s->arg_start = f[44];
		s->arg_end = f[45];
	}
	return 0;
}

size_t ml_cmdline_len(const struct ml_stat *st, size_t len)
{
	uint64_t area = st->arg_end - st->arg_start;

	return st->arg_end > st->arg_start && len > area ? (size_t)area : len;
}

size_t ml_parse_cmdline(char *buf, size_t len)
{
	while (len > 0 && buf[len - 1] == '\0')
		len--;
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	return len;
}

/* True when the controllers c[0..n) ("cpu,memory") name memory. */
static bool names_memory(const char *c, size_t n)
{
	while (n) {
		const char *comma = memchr(c, ',', n);
		size_t k = comma ? (size_t)(comma - c) : n;
		if (k == 6 && memcmp(c, "memory", 6) == 0)
			return true;
		if (!comma)
			break;
		n -= k + 1;
		c = comma + 1;
	}
	return false;
}

int ml_parse_cgroup(const char *buf, size_t len, const char **path, size_t *plen)
{
	struct ml_line_iter it;
	const char *line, *c1, *c2;
	int found = 0; /* 1: the first line's, 2: the unified one's, 3: memory's */
	size_t n;

	ml_line_iter_init(&it, buf, len);
	while (ml_line_iter_next(&it, &line, &n)) {
		int rank;
		c1 = memchr(line, ':', n);
		c2 = c1 ? memchr(c1 + 1, ':', (size_t)(line + n - c1 - 1)) : NULL;
		if (!c2 || c1 == line)
			return -EINVAL;
		if (c1 - line == 1 && line[0] == '0' && c2 == c1 + 1)
			rank = 2; /* "0::PATH" */
		else
			rank = names_memory(c1 + 1, (size_t)(c2 - c1 - 1)) ? 3 : 1;
		if (rank > found) {
			*path = c2 + 1;
			*plen = (size_t)(line + n - c2 - 1);
			found = rank;
		}
	}
	return found ? 0 : -EINVAL;
}

enum {
	SYSV_KEY,
	SYSV_SHMID,
	SYSV_PERMS,
	SYSV_SIZE,
	SYSV_CPID,
	SYSV_NATTCH,
	SYSV_RSS,
	SYSV_SWAP,
	SYSV_NCOLS
};

static const char *const sysv_names[SYSV_NCOLS] = {"key",  "shmid",  "perms", "size",
                                                   "cpid", "nattch", "rss",   "swap"};

/* The position of each column of interest in the header line; -1 when absent. */
static int sysv_columns(const char *line, size_t n, int *pos)
{
	const char *p = line, *end = line + n;

	for (int c = 0; c < SYSV_NCOLS; c++)
		pos[c] = -1;
	for (int i = 0; (p = ml_skip_blanks(p, end)) < end; i++) {
		const char *word = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		for (int c = 0; c < SYSV_NCOLS; c++)
			if (ml_key_is(word, (size_t)(p - word), sysv_names[c]))
				pos[c] = i;
	}
	return pos[SYSV_KEY] < 0 || pos[SYSV_SHMID] < 0 || pos[SYSV_PERMS] < 0 ||
	               pos[SYSV_SIZE] < 0 || pos[SYSV_CPID] < 0 || pos[SYSV_NATTCH] < 0
	           ? -EINVAL
	           : 0;
}

/* Parses one row of the table into s. Returns 0 or -EINVAL. */
static int sysv_row(const char *line, size_t n, const int *pos, struct ml_sysv_shm *s)
{
	const char *p = line, *end = line + n;
	uint64_t v[SYSV_NCOLS];
	bool negative = false;

	for (int c = 0; c < SYSV_NCOLS; c++)
		v[c] = ML_UNKNOWN;
	for (int i = 0; (p = ml_skip_blanks(p, end)) < end; i++) {
		for (int c = 0; c < SYSV_NCOLS; c++) {
			if (pos[c] != i)
				continue;
			if (c == SYSV_KEY && *p == '-') { /* the key is printed signed */
				negative = true;
				p++;
			}
			if (ml_parse_u64(&p, end, c == SYSV_PERMS ? 8 : 10, &v[c]) < 0)
				return -EINVAL;
		}
		while (p < end && *p != ' ' && *p != '\t')
			p++;
	}
	if (v[SYSV_SHMID] == ML_UNKNOWN || v[SYSV_PERMS] > 07777 || v[SYSV_CPID] > INT32_MAX ||
	    v[SYSV_SIZE] == ML_UNKNOWN || v[SYSV_NATTCH] == ML_UNKNOWN || v[SYSV_KEY] > INT64_MAX)
		return -EINVAL;
	*s = (struct ml_sysv_shm){.key = negative ? -(int64_t)v[SYSV_KEY] : (int64_t)v[SYSV_KEY],
	                          .shmid = v[SYSV_SHMID],
	                          .mode = (unsigned)v[SYSV_PERMS],
	                          .size = v[SYSV_SIZE],
	                          .nattch = v[SYSV_NATTCH],
	                          .rss = v[SYSV_RSS],
	                          .swap = v[SYSV_SWAP],
	                          .cpid = (pid_t)v[SYSV_CPID]};
	return 0;
}

long ml_parse_sysv_shm(const char *buf, size_t len, ml_sysv_shm_fn fn, void *ctx)
{
	struct ml_line_iter it;
	struct ml_sysv_shm seg;
	size_t linelen;
	const char *line;
	int pos[SYSV_NCOLS], rc;
	long n = 0;

	ml_line_iter_init(&it, buf, len);
	if (!ml_line_iter_next(&it, &line, &linelen) || sysv_columns(line, linelen, pos) < 0)
		return len ? -EINVAL : 0;
	while (ml_line_iter_next(&it, &line, &linelen)) {
		if (ml_skip_blanks(line, line + linelen) == line + linelen)
			continue;
		if (sysv_row(line, linelen, pos, &seg) < 0)
			return -EINVAL;
		if ((rc = fn(&seg, ctx)) != 0)
			return rc;
		n++;
	}
	return n;
}

int ml_parse_statm(const char *buf, size_t len, uint64_t page, struct ml_statm *s)
{
	const char *p = buf, *end = buf + len;
	uint64_t v[3];

	for (int i = 0; i < 3; i++) {
		p = ml_skip_blanks(p, end);
		if (ml_parse_u64(&p, end, 10, &v[i]) < 0 || v[i] > UINT64_MAX / page)
			return -EINVAL;
	}
	if (v[1] > v[0] || v[2] > v[1])
		return -EINVAL; /* resident within size, shared within resident */
	s->size = v[0] * page;
	s->resident = v[1] * page;
	s->shared = v[2] * page;
	return 0;
}
