/* Unit tests of the /proc parsers on files under tests/data and ../shared/fixtures. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "memledger.h"
#include "memledger/android.h"
#include "memledger/gpu.h"
#include "memledger/trend.h"

#define KB 1024ull

#define SHARED_FIXTURES "../../../shared/fixtures/aosp-libmeminfo/testdata1/"

/* True when ../shared/fixtures sits beside the repository (CI has it; a bare clone may not). */
static bool have_shared_fixtures(void)
{
	const char *dir = getenv("ML_TESTDATA");
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/" SHARED_FIXTURES "smaps", dir ? dir : "tests/data");
	f = fopen(path, "rb");
	if (f)
		fclose(f);
	else
		print_message("SKIP: %s is missing: no Android fixtures\n", path);
	return f != NULL;
}

/* Reads tests/data/NAME (or a path relative to the data directory) into a malloc'ed buffer. */
static char *load(const char *name, size_t *len)
{
	const char *dir = getenv("ML_TESTDATA");
	char path[4096];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/data", name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void test_rollup_this_kernel(void **state)
{
	struct ml_mem m;
	size_t len;
	char *buf = load("rollup-sleep-6.18", &len);

	(void)state;
	assert_int_equal(ml_parse_smaps_rollup(buf, len, &m), 0);
	assert_int_equal(m.v[ML_MEM_RSS], 1756 * KB);
	assert_int_equal(m.v[ML_MEM_PSS], 631 * KB);
	assert_true(m.v[ML_MEM_PSS_ANON] != ML_UNKNOWN);
	assert_true(m.v[ML_MEM_KSM] != ML_UNKNOWN);
	assert_int_equal(m.v[ML_MEM_SIZE], ML_UNKNOWN); /* rollup has no Size */
	free(buf);
}

static void test_rollup_malformed(void **state)
{
	const char *bad[] = {"rollup-truncated", "rollup-badnumber", "rollup-norss"};
	struct ml_mem m;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *buf = load(bad[i], &len);
		assert_int_equal(ml_parse_smaps_rollup(buf, len, &m), -EINVAL);
		free(buf);
	}
	assert_int_equal(ml_parse_smaps_rollup("", 0, &m), -EINVAL);
}

static void test_mem_line(void **state)
{
	struct ml_mem m;

	(void)state;
	ml_mem_init(&m);
	assert_int_equal(ml_parse_mem_line("Rss:\t 12 kB", 11, &m), 0);
	assert_int_equal(m.v[ML_MEM_RSS], 12 * KB);
	assert_int_equal(ml_parse_mem_line("THPeligible:    0", 17, &m), 0); /* ignored */
	assert_int_equal(ml_parse_mem_line("Name:  [anon:x y]", 17, &m), 0); /* Android */
	assert_int_equal(ml_parse_mem_line("Pss:", 4, &m), -EINVAL);
	assert_int_equal(ml_parse_mem_line("Pss: -4 kB", 10, &m), -EINVAL);
	assert_int_equal(ml_parse_mem_line("Pss: 4 MB", 9, &m), -EINVAL);
	assert_int_equal(ml_parse_mem_line("Pss: 99999999999999999999 kB", 28, &m), -EINVAL);
	assert_int_equal(ml_parse_mem_line("no colon", 8, &m), -EINVAL);
}

/* Mem lines as smaps writes them take a fast path; every other shape the general one.
 * Both must give the same answers, at the edges of 16 digits and of the blanks. */
static void test_mem_line_edges(void **state)
{
	static const struct {
		const char *line;
		int rc;
		uint64_t kb;
	} cases[] = {
	    {"Rss:                   4 kB", 0, 4},
	    {"Rss:4 kB", 0, 4},
	    {"Rss:        4 kB", 0, 4},
	    {"Rss:\t4 kB", 0, 4},
	    {"Rss:   4\tkB", 0, 4},
	    {"Rss:   4 kB ", -EINVAL, 0},
	    {"Rss:   4", 0, 4},
	    {"Rss:   9999999999999999 kB", 0, 9999999999999999ull},
	    {"Rss:  18014398509481983 kB", 0, 18014398509481983ull}, /* 2^64 / 1024 - 1 */
	    {"Rss:  18014398509481984 kB", -EINVAL, 0},
	    {"Rss:   0000000000000000004 kB", 0, 4},
	    {"Rss:   1 2 kB", -EINVAL, 0},
	    {"Rss: x 12 kB", -EINVAL, 0},
	    {"Rss:        kB", -EINVAL, 0},
	    {"Rss:   12kB", 0, 12},
	    {"Rss:   12  kB", 0, 12},
	};
	struct ml_mem m;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ml_mem_init(&m);
		assert_int_equal(ml_parse_mem_line(cases[i].line, strlen(cases[i].line), &m),
		                 cases[i].rc);
		if (cases[i].rc == 0)
			assert_true(m.v[ML_MEM_RSS] == cases[i].kb * KB);
	}
}

/* VmFlags as smaps writes them (two letters and a blank) are read every third byte;
 * any other spacing still finds a flag only as a word of its own. */
static void test_vmflags(void **state)
{
	(void)state;
	assert_true(ml_vmflags_has("rd wr mr mw me ac", "ac"));
	assert_true(ml_vmflags_has("rd wr mr mw me ac", "rd"));
	assert_false(ml_vmflags_has("rd wr mr mw me ac", "sh"));
	assert_false(ml_vmflags_has("rd wr", "d "));
	assert_false(ml_vmflags_has("", "ac"));
	assert_true(ml_vmflags_has("rd  wr ac", "ac"));
	assert_true(ml_vmflags_has("rd\twr ac", "ac"));
	assert_false(ml_vmflags_has("rdac wr", "ac"));
	assert_false(ml_vmflags_has("rd acx", "ac"));
}

/* Sums the mappings a parse emits, as the scan does. */
struct sums {
	size_t n;
	struct ml_mem mem;
	uint64_t commit, size;
	char first_name[256], third_name[256];
	bool third_shared;
};

static int sum_mapping(const struct ml_mapping *m, void *ctx)
{
	struct sums *s = ctx;

	if (s->n == 0)
		snprintf(s->first_name, sizeof(s->first_name), "%s", m->name);
	if (s->n == 2) {
		snprintf(s->third_name, sizeof(s->third_name), "%s", m->name);
		s->third_shared = ml_mapping_has_flag(m, "sh");
	}
	s->n++;
	ml_mem_add(&s->mem, &m->mem);
	s->size += m->end - m->start;
	if (ml_mapping_has_flag(m, "ac"))
		s->commit += m->end - m->start;
	return 0;
}

static void sums_init(struct sums *s)
{
	memset(s, 0, sizeof(*s));
}

static void test_smaps_this_kernel(void **state)
{
	struct sums s;
	size_t len;
	char *buf = load("smaps-6.18", &len);

	(void)state;
	sums_init(&s);
	assert_int_equal(ml_parse_smaps(buf, len, sum_mapping, &s), 0);
	assert_int_equal(s.n, 37);
	assert_int_equal(s.mem.v[ML_MEM_RSS], 1756 * KB);
	/* Σ per-mapping Pss is 626 kB; the rollup says 631: smaps truncates each mapping. */
	assert_int_equal(s.mem.v[ML_MEM_PSS], 626 * KB);
	assert_int_equal(s.mem.v[ML_MEM_SIZE], s.size);
	free(buf);
}

static void test_smaps_old_kernel(void **state)
{
	struct sums s;
	size_t len;
	char *buf = load("smaps-old", &len);

	(void)state;
	sums_init(&s);
	assert_int_equal(ml_parse_smaps(buf, len, sum_mapping, &s), 0);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.first_name, "/usr/bin/my app");
	assert_string_equal(s.third_name, "/dev/shm/with space (deleted)");
	assert_true(s.third_shared);
	assert_int_equal(s.mem.v[ML_MEM_RSS], (40 + 8 + 512 + 12) * KB);
	assert_int_equal(s.mem.v[ML_MEM_SWAP], 4 * KB); /* tab-separated lines */
	assert_int_equal(s.commit, (8 + 132) * KB);
	/* Fields this kernel did not have are unknown, not 0. */
	assert_int_equal(s.mem.v[ML_MEM_SWAP_PSS], ML_UNKNOWN);
	assert_int_equal(s.mem.v[ML_MEM_LAZYFREE], ML_UNKNOWN);
	assert_int_equal(s.mem.v[ML_MEM_SHARED_HUGETLB], ML_UNKNOWN);
	free(buf);
}

static void test_smaps_android(void **state)
{
	struct sums s;
	size_t len;
	char *buf;

	if (!have_shared_fixtures()) {
		skip();
		return;
	}
	buf = load(SHARED_FIXTURES "smaps", &len);

	(void)state;
	sums_init(&s);
	assert_int_equal(ml_parse_smaps(buf, len, sum_mapping, &s), 0);
	/* Figures from awk over the same file. */
	assert_int_equal(s.n, 2760);
	assert_int_equal(s.mem.v[ML_MEM_RSS], 250332 * KB);
	assert_int_equal(s.mem.v[ML_MEM_PSS], 108384 * KB);
	assert_int_equal(s.mem.v[ML_MEM_PRIVATE_CLEAN] + s.mem.v[ML_MEM_PRIVATE_DIRTY], 90520 * KB);
	assert_int_equal(s.commit, 1399772 * KB);
	assert_string_equal(s.first_name, "[anon:dalvik-main space (region space)]");
	assert_int_equal(s.mem.v[ML_MEM_LAZYFREE], ML_UNKNOWN);
	free(buf);
}

/* The parser guesses each line's key from the mapping before: a change of order, a key
 * that only starts like the guess, or a line shorter than a key must still parse right. */
static void test_smaps_key_order(void **state)
{
	static const char text[] =
	    "00400000-00401000 r--p 00000000 00:00 0\n"
	    "Size:                  4 kB\n"
	    "KernelPageSize:        4 kB\n" /* read past */
	    "Rss:                   4 kB\n"
	    "Pss:                   2 kB\n"
	    "Swap:                  0 kB\n"
	    "00401000-00403000 r--p 00000000 00:00 0\n"
	    "Size:                  8 kB\n"
	    "Pss:                   3 kB\n" /* where a key read past stood */
	    "Rss:                   8 kB\n" /* where Rss stood: the guess holds */
	    "MMUPageSize:           4 kB\n"
	    "SwapPss:               1 kB\n" /* starts like Swap, the guess */
	    "00403000-00404000 r--p 00000000 00:00 0\n"
	    "Size:4 kB\n"
	    "Pss:1 kB\n"
	    "Rss:4 kB\n"
	    "Swap: 5 kB\n";
	struct sums s;

	(void)state;
	sums_init(&s);
	assert_int_equal(ml_parse_smaps(text, sizeof(text) - 1, sum_mapping, &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.mem.v[ML_MEM_RSS], (4 + 8 + 4) * KB);
	assert_int_equal(s.mem.v[ML_MEM_PSS], (2 + 3 + 1) * KB);
	assert_int_equal(s.mem.v[ML_MEM_SWAP], ML_UNKNOWN); /* the second mapping has none */
	assert_int_equal(s.mem.v[ML_MEM_SWAP_PSS], ML_UNKNOWN);
}

static void test_smaps_malformed(void **state)
{
	struct sums s;
	size_t len;
	char *buf = load("smaps-noheader", &len);
	const char *bad_header = "00400000 r-xp 00000000 08:01 1 /x\n";
	const char *bad_dev = "00400000-00500000 r-xp 00000000 08 1 /x\n";

	(void)state;
	sums_init(&s);
	assert_int_equal(ml_parse_smaps(buf, len, sum_mapping, &s), -EINVAL);
	assert_int_equal(ml_parse_smaps(bad_header, strlen(bad_header), sum_mapping, &s), -EINVAL);
	assert_int_equal(ml_parse_smaps(bad_dev, strlen(bad_dev), sum_mapping, &s), -EINVAL);
	free(buf);
}

static void test_maps_line(void **state)
{
	const char *line = "7f12a000-7f12b000 rw-s 00001000 fd:01 123456   /memfd:pool (deleted)";
	char name[ML_NAME_MAX];
	struct ml_mapping m;

	(void)state;
	assert_int_equal(ml_parse_maps_line(line, strlen(line), &m, name), 0);
	assert_int_equal(m.start, 0x7f12a000);
	assert_int_equal(m.end, 0x7f12b000);
	assert_string_equal(m.perms, "rw-s");
	assert_int_equal(m.offset, 0x1000);
	assert_int_equal(m.dev_major, 0xfd);
	assert_int_equal(m.dev_minor, 1);
	assert_int_equal(m.inode, 123456);
	assert_string_equal(m.name, "/memfd:pool (deleted)");
}

/* Addresses take a fast hex path up to 16 digits; a 17th is an overflow. */
static void test_maps_line_addresses(void **state)
{
	const char *top = "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0   [vsyscall]";
	const char *over = "10000000000000000-10000000000001000 r--p 00000000 00:00 0";
	char name[ML_NAME_MAX];
	struct ml_mapping m;

	(void)state;
	assert_int_equal(ml_parse_maps_line(top, strlen(top), &m, name), 0);
	assert_true(m.start == 0xffffffffff600000ull);
	assert_true(m.end == 0xffffffffff601000ull);
	assert_string_equal(m.name, "[vsyscall]");
	assert_int_equal(ml_parse_maps_line(over, strlen(over), &m, name), -EINVAL);
}

static void test_status(void **state)
{
	struct ml_status st;
	size_t len;
	char *buf = load("status-6.18", &len);

	(void)state;
	assert_int_equal(ml_parse_status(buf, len, &st), 0);
	assert_string_equal(st.name, "sleep");
	assert_true(st.has_mm);
	assert_int_equal(st.uid, 0);
	assert_int_equal(st.threads, 1);
	assert_true(st.rss_anon != ML_UNKNOWN && st.vm_swap == 0 && st.vm_pte > 0);
	free(buf);

	if (!have_shared_fixtures())
		return;
	buf = load(SHARED_FIXTURES "status", &len);
	assert_int_equal(ml_parse_status(buf, len, &st), 0);
	assert_string_equal(st.name, "system_server");
	assert_int_equal(st.ppid, 1071);
	assert_int_equal(st.uid, 1000);
	assert_int_equal(st.vm_size, 20011648 * KB);
	assert_int_equal(st.rss_anon, 229584 * KB);
	assert_int_equal(st.vm_pte, 3740 * KB);
	assert_int_equal(st.threads, 218);
	assert_int_equal(st.hugetlb, ML_UNKNOWN); /* that kernel had no HugetlbPages */
	free(buf);
}

static void test_status_kernel_thread_and_malformed(void **state)
{
	const char *kthread = "Name:\tkworker/0:1\nPPid:\t2\nUid:\t0\t0\t0\t0\nThreads:\t1\n";
	const char *bad = "Name:\tx\nVmRSS:\t12x kB\n";
	const char *noname = "PPid:\t1\n";
	struct ml_status st;

	(void)state;
	assert_int_equal(ml_parse_status(kthread, strlen(kthread), &st), 0);
	assert_false(st.has_mm);
	assert_int_equal(st.rss_anon, ML_UNKNOWN);
	assert_int_equal(ml_parse_status(bad, strlen(bad), &st), -EINVAL);
	assert_int_equal(ml_parse_status(noname, strlen(noname), &st), -EINVAL);
}

static void test_stat(void **state)
{
	struct ml_stat st;
	size_t len;
	char *buf = load("stat-parens", &len);
	const char *truncated = "4242 (x) S 1 4242";

	(void)state;
	assert_int_equal(ml_parse_stat(buf, len, &st), 0);
	assert_int_equal(st.pid, 4242);
	assert_string_equal(st.comm, "a) b (c");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.ppid, 1);
	assert_int_equal(st.pgid, 4242);
	assert_int_equal(st.session, 4242);
	assert_int_equal(st.flags, 4194560);
	assert_int_equal(st.threads, 3);
	assert_int_equal(st.starttime, 5421);
	assert_int_equal(st.vsize, 3133440);
	free(buf);
	assert_int_equal(ml_parse_stat(truncated, strlen(truncated), &st), -EINVAL);
}

static void test_cmdline(void **state)
{
	char a[] = "sleep\0"
	           "30\0";
	char b[] = "\0\0";

	(void)state;
	assert_int_equal(ml_parse_cmdline(a, sizeof(a) - 1), 8);
	assert_memory_equal(a, "sleep 30", 8);
	assert_int_equal(ml_parse_cmdline(b, sizeof(b) - 1), 0);
}

static struct ml_sysv_shm seen[4];

static int keep_seg(const struct ml_sysv_shm *seg, void *ctx)
{
	size_t *n = ctx;

	if (*n < 4)
		seen[(*n)++] = *seg;
	return 0;
}

static void test_sysv_shm(void **state)
{
	const char *text =
	    "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  "
	    "cuid  cgid"
	    "      atime      dtime      ctime                   rss                  swap\n"
	    "         0         12  1600               1048576   100   101      4     0     0     "
	    "0     0"
	    "          0          0 1700000000               1048576                     0\n"
	    "-559038737         13   600                  4096   100   100      0     0     0     "
	    "0     0"
	    "          0          0 1700000000                     0                     0\n";
	size_t n = 0;

	(void)state;
	assert_int_equal(ml_parse_sysv_shm(text, strlen(text), keep_seg, &n), 2);
	assert_int_equal(seen[0].shmid, 12);
	assert_int_equal(seen[0].mode, 01600); /* SHM_DEST: marked for removal */
	assert_int_equal(seen[0].cpid, 100);
	assert_int_equal(seen[0].nattch, 4);
	assert_int_equal(seen[0].size, 1048576);
	assert_int_equal(seen[0].rss, 1048576);
	assert_int_equal(seen[1].key, -559038737);
	assert_int_equal(seen[1].mode, 0600);
	assert_int_equal(ml_parse_sysv_shm("header\nx 12 600\n", 16, keep_seg, &n), -EINVAL);
	assert_int_equal(
	    ml_parse_sysv_shm("key shmid perms size cpid nattch\n1 2 9 4 5 6\n", 45, keep_seg, &n),
	    -EINVAL); /* perms is octal */
	assert_int_equal(ml_parse_sysv_shm("", 0, keep_seg, &n), 0);
}

static void test_cgroup(void **state)
{
	const char *mixed = "12:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/sys.slice/x\n";
	const char *path;
	size_t n;

	(void)state;
	const char *v2 = "3:cpu,cpuacct:/docker/abc\n0::/sys.slice/x\n";
	const char *joint = "5:cpu,memory:/joint\n0::/u\n";

	assert_int_equal(ml_parse_cgroup(mixed, strlen(mixed), &path, &n), 0);
	assert_int_equal(n, strlen("/docker/abc")); /* hybrid: v1's memory controller wins */
	assert_memory_equal(path, "/docker/abc", n);
	assert_int_equal(ml_parse_cgroup(v2, strlen(v2), &path, &n), 0);
	assert_int_equal(n, strlen("/sys.slice/x")); /* no memory line: the unified one */
	assert_memory_equal(path, "/sys.slice/x", n);
	assert_int_equal(ml_parse_cgroup(joint, strlen(joint), &path, &n), 0);
	assert_memory_equal(path, "/joint", n); /* memory among other controllers */
	assert_int_equal(ml_parse_cgroup("4:memory:/legacy\n", 17, &path, &n), 0);
	assert_memory_equal(path, "/legacy", n);
	assert_int_equal(ml_parse_cgroup("4:cpu:/a\n2:pids:/b\n", 18, &path, &n), 0);
	assert_memory_equal(path, "/a", n); /* neither: the first line's */
	assert_int_equal(ml_parse_cgroup("no colons\n", 10, &path, &n), -EINVAL);
	assert_int_equal(ml_parse_cgroup("", 0, &path, &n), -EINVAL);
}

static void test_duplicate_keys(void **state)
{
	const char *rollup = "Rss: 4 kB\nPss: 4 kB\nRss: 1 kB\n";
	const char *status = "Name:\tx\nVmSize:\t 4 kB\nVmSize:\t 8 kB\n";
	const char *meminfo = "MemTotal: 100 kB\nMemFree: 1 kB\nMemFree: 2 kB\n";
	struct ml_status st;
	struct ml_mem m;
	uint64_t v;

	(void)state;
	assert_int_equal(ml_parse_smaps_rollup(rollup, strlen(rollup), &m), -EINVAL);
	assert_int_equal(ml_parse_status(status, strlen(status), &st), -EINVAL);
	assert_int_equal(ml_parse_kb_field(meminfo, strlen(meminfo), "MemFree", &v), -EINVAL);
	assert_int_equal(ml_parse_kb_field(meminfo, strlen(meminfo), "MemTotal", &v), 0);
	assert_int_equal(v, 100 * KB);
}

static void test_loadavg_and_mountinfo(void **state)
{
	const char *mi = "22 27 0:21 / /proc rw,relatime - proc proc rw,hidepid=invisible\n"
	                 "23 27 0:22 / /p2 rw - proc proc rw,hidepid=2\n"
	                 "24 27 0:23 / /p3 rw - proc proc rw\n";
	uint64_t t;

	(void)state;
	assert_int_equal(ml_parse_loadavg_threads("0.47 0.89 0.63 1/79 13282\n", 26, &t), 0);
	assert_int_equal(t, 79);
	assert_int_equal(ml_parse_loadavg_threads("0.47 0.89\n", 10, &t), -EINVAL);
	assert_true(ml_parse_mountinfo_hidepid(mi, strlen(mi), "/proc"));
	assert_true(ml_parse_mountinfo_hidepid(mi, strlen(mi), "/p2"));
	assert_false(ml_parse_mountinfo_hidepid(mi, strlen(mi), "/p3"));
	assert_false(ml_parse_mountinfo_hidepid(mi, strlen(mi), "/nowhere"));
}

/* The jail of a source directory: what each kind of file opens as. */
static void test_source_jail(void **state)
{
	char dir[] = "/tmp/memledger-jail-XXXXXX", path[256];
	struct ml_source *src;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/proc", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/proc/meminfo", dir);
	fclose(fopen(path, "w"));
	snprintf(path, sizeof(path), "%s/proc/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	snprintf(path, sizeof(path), "%s/proc/sub", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/proc/in", dir);
	assert_int_equal(symlink("sub", path), 0);
	snprintf(path, sizeof(path), "%s/proc/sub/f", dir);
	fclose(fopen(path, "w"));
	snprintf(path, sizeof(path), "%s/proc/out", dir);
	assert_int_equal(symlink("..", path), 0);
	snprintf(path, sizeof(path), "%s/proc/last", dir);
	assert_int_equal(symlink("meminfo", path), 0);
	snprintf(path, sizeof(path), "%s/proc", dir);
	src = ml_source_new(path);
	assert_non_null(src);
	fd = ml_source_open(src, "meminfo");
	assert_true(fd >= 0);
	close(fd);
	fd = ml_source_open(src, "in/f"); /* a link that stays inside */
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(ml_source_open(src, "fifo"), -ML_ENOTREG);
	assert_int_equal(ml_source_open(src, "sub"), -EISDIR);
	assert_int_equal(ml_source_open(src, "last"), -ELOOP);
	assert_int_equal(ml_source_open(src, "out/proc/meminfo"), -EXDEV);
	assert_int_equal(ml_source_open(src, "../proc/meminfo"), -EXDEV);
	ml_source_free(src);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

static void test_statm(void **state)
{
	struct ml_statm s;
	const char *t = "6166 1153 907 215 0 357 0\n";

	(void)state;
	assert_int_equal(ml_parse_statm(t, strlen(t), 4096, &s), 0);
	assert_int_equal(s.size, 6166ull * 4096);
	assert_int_equal(s.resident, 1153ull * 4096);
	assert_int_equal(s.shared, 907ull * 4096);
	assert_int_equal(ml_parse_statm("1 2 1", 5, 4096, &s), -EINVAL); /* resident > size */
	assert_int_equal(ml_parse_statm("9 2", 3, 4096, &s), -EINVAL);
	assert_int_equal(ml_parse_statm("99999999999999999999 1 1", 24, 4096, &s), -EINVAL);
}

/* A trend's line through samples v(t) = a + b t, and what breaks it. */
static void test_trend(void **state)
{
	struct ml_trend tr;
	struct ml_trend_fit fit;
	const double window = 10, floor = 1 << 20;

	(void)state;
	ml_trend_init(&tr);
	for (int i = 0; i <= 20; i++) /* 2 MiB a second, every half second */
		ml_trend_add(&tr, 1000.0 + i * 0.5, (uint64_t)(64 << 20) + (uint64_t)i * (1 << 20),
		             window);
	ml_trend_fit(&tr, window, floor, &fit);
	assert_int_equal(fit.n, 21); /* 10 s of samples: the window holds them all */
	assert_true(fit.slope > 2.0 * (1 << 20) * 0.999 && fit.slope < 2.0 * (1 << 20) * 1.001);
	assert_true(fit.r2 > 0.9999);
	assert_true(fit.suspect);

	ml_trend_init(&tr); /* a sawtooth: up for 2 s, then back down */
	for (int i = 0; i <= 40; i++)
		ml_trend_add(&tr, i * 0.25, (uint64_t)(i % 8) << 20, window);
	ml_trend_fit(&tr, window, floor, &fit);
	assert_false(fit.suspect);
	assert_true(fit.rises < 0.9);

	ml_trend_init(&tr); /* still, and unknown samples left out */
	for (int i = 0; i <= 40; i++)
		ml_trend_add(&tr, i * 0.25, i % 5 ? 8u << 20 : ML_UNKNOWN, window);
	ml_trend_fit(&tr, window, floor, &fit);
	assert_int_equal(fit.n, 32);
	assert_true(fit.slope == 0);
	assert_false(fit.suspect);

	ml_trend_init(&tr); /* growth below the floor: not a suspect */
	for (int i = 0; i <= 20; i++)
		ml_trend_add(&tr, i, (uint64_t)i * 1024, window);
	ml_trend_fit(&tr, window, floor, &fit);
	assert_int_equal(fit.n, 11); /* the samples older than the window went */
	assert_false(fit.suspect);

	ml_trend_init(&tr); /* too few samples for a verdict */
	for (int i = 0; i < 4; i++)
		ml_trend_add(&tr, i * 3.0, (uint64_t)i << 24, window);
	ml_trend_fit(&tr, window, floor, &fit);
	assert_false(fit.suspect);
}

/* fdinfo of DRM clients as drm-usage-stats.rst and each driver document their keys. */
static void test_drm_fdinfo(void **state)
{
	const char *amdgpu = "pos:\t0\nflags:\t02100002\nmnt_id:\t24\nino:\t1177\n"
	                     "drm-driver:\tamdgpu\ndrm-pdev:\t0000:03:00.0\n"
	                     "drm-client-id:\t42\ndrm-engine-gfx:\t1000 ns\n"
	                     "drm-memory-vram:\t8192 KiB\ndrm-memory-gtt:\t2048 KiB\n"
	                     "drm-memory-cpu:\t0 KiB\namd-memory-visible-vram:\t8192 KiB\n";
	const char *i915 = "drm-driver:\ti915\ndrm-pdev:\t0000:00:02.0\ndrm-client-id:\t7\n"
	                   "drm-total-system0:\t512 KiB\ndrm-shared-system0:\t128 KiB\n"
	                   "drm-resident-system0:\t512 KiB\ndrm-purgeable-system0:\t0\n"
	                   "drm-active-system0:\t64 KiB\ndrm-total-stolen-system0:\t0\n"
	                   "drm-engine-render:\t25662044495 ns\ndrm-total-cycles-rcs:\t28257900\n";
	const char *xe = "drm-driver:\txe\ndrm-client-id:\t3\ndrm-total-vram0:\t24 MiB\n"
	                 "drm-resident-vram0:\t24 MiB\ndrm-total-gtt:\t4 MiB\n"
	                 "drm-resident-gtt:\t4 MiB\n";
	const char *panfrost = "drm-driver:\tpanfrost\ndrm-client-id:\t18\n"
	                       "drm-total-memory:\t16 MiB\ndrm-shared-memory:\t0\n"
	                       "drm-active-memory:\t0\ndrm-resident-memory:\t16 MiB\n"
	                       "drm-purgeable-memory:\t0\n";
	struct ml_drm_client c;

	(void)state;
	assert_int_equal(ml_parse_drm_fdinfo(amdgpu, strlen(amdgpu), &c), 0);
	assert_string_equal(c.driver, "amdgpu");
	assert_string_equal(c.pdev, "0000:03:00.0");
	assert_int_equal(c.client_id, 42);
	assert_int_equal(c.nregions, 3); /* vram, gtt, cpu: amd-memory-* is no drm- key */
	assert_string_equal(c.regions[0].name, "vram");
	assert_true(c.regions[0].vram);
	assert_int_equal(c.regions[0].resident, 8192 * KB); /* the older drm-memory- */
	assert_int_equal(c.regions[0].total, ML_UNKNOWN);
	assert_false(c.regions[1].vram); /* gtt: system memory */
	assert_int_equal(c.regions[1].resident, 2048 * KB);

	assert_int_equal(ml_parse_drm_fdinfo(i915, strlen(i915), &c), 0);
	assert_int_equal(c.nregions, 2); /* system0, stolen-system0; no cycles- region */
	assert_int_equal(c.regions[0].total, 512 * KB);
	assert_int_equal(c.regions[0].shared, 128 * KB);
	assert_int_equal(c.regions[0].purgeable, 0);
	assert_int_equal(c.regions[0].active, 64 * KB);
	assert_string_equal(c.regions[1].name, "stolen-system0");
	assert_false(c.regions[0].vram);
	assert_true(c.regions[1].vram); /* stolen: set aside at boot, not in MemTotal */

	assert_int_equal(ml_parse_drm_fdinfo(xe, strlen(xe), &c), 0);
	assert_true(c.regions[0].vram);
	assert_int_equal(c.regions[0].total, 24ULL << 20);
	assert_false(c.regions[1].vram);
	assert_string_equal(c.pdev, ""); /* no drm-pdev: none */

	assert_int_equal(ml_parse_drm_fdinfo(panfrost, strlen(panfrost), &c), 0);
	assert_int_equal(c.regions[0].resident, 16ULL << 20);
	assert_false(c.regions[0].vram); /* "memory": a SoC's RAM */

	assert_int_equal(ml_parse_drm_fdinfo("pos:\t0\nflags:\t0\n", 16, &c), -ENOENT);
	assert_int_equal(ml_parse_drm_fdinfo("drm-driver: x\ndrm-total-vram: lots\n", 35, &c),
	                 -EINVAL);
	assert_int_equal(ml_parse_drm_fdinfo("drm-driver: x\ndrm-total-vram: 1 TiB\n", 36, &c),
	                 -EINVAL); /* no such unit in the documentation */
}

static void test_dmabuf_fdinfo(void **state)
{
	const char *buf = "pos:\t0\nflags:\t02000002\nmnt_id:\t9\nino:\t3086\n"
	                  "size:\t4194304\ncount:\t2\nexp_name:\tsystem-heap\nname:\tcamera\n";
	struct ml_dmabuf b;

	(void)state;
	assert_int_equal(ml_parse_dmabuf_fdinfo(buf, strlen(buf), &b), 0);
	assert_int_equal(b.ino, 3086);
	assert_int_equal(b.size, 4194304);
	assert_int_equal(b.count, 2);
	assert_string_equal(b.exp_name, "system-heap");
	assert_int_equal(ml_parse_dmabuf_fdinfo("pos:\t0\nino:\t1\n", 15, &b), -ENOENT);
	assert_int_equal(ml_parse_dmabuf_fdinfo("exp_name: x\nino: 1\n", 20, &b), -EINVAL);
}

/* Android's users as bionic names them, and ActivityManager's oom_score_adj buckets at
 * each boundary (ProcessList.java). */
static void test_android_names(void **state)
{
	static const struct {
		int adj;
		const char *bucket;
	} b[] = {{-1000, "native"},
	         {-999, "system"},
	         {-900, "system"},
	         {-801, "system"},
	         {-800, "persistent"},
	         {-700, "persistent-service"},
	         {-1, "persistent-service"},
	         {0, "foreground"},
	         {50, "foreground"},
	         {99, "foreground"},
	         {100, "visible"},
	         {199, "visible"},
	         {200, "perceptible"},
	         {250, "perceptible"},
	         {300, "backup"},
	         {400, "heavy-weight"},
	         {500, "service"},
	         {600, "home"},
	         {700, "previous"},
	         {800, "service-b"},
	         {900, "cached"},
	         {999, "cached"},
	         {1000, "cached"}};
	char name[48];

	(void)state;
	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++)
		assert_string_equal(ml_android_bucket(b[i].adj), b[i].bucket);
	assert_null(ml_android_bucket(-1001));
	assert_null(ml_android_bucket(1001));
	assert_true(ml_android_user_name(2000, name, sizeof(name)));
	assert_string_equal(name, "shell");
	assert_true(ml_android_user_name(0, name, sizeof(name)));
	assert_string_equal(name, "root");
	assert_true(ml_android_user_name(10057, name, sizeof(name)));
	assert_string_equal(name, "u0_a57");
	assert_true(ml_android_user_name(1010123, name, sizeof(name)));
	assert_string_equal(name, "u10_a123");
	assert_true(ml_android_user_name(99000, name, sizeof(name)));
	assert_string_equal(name, "u0_i9000");
	assert_true(ml_android_user_name(1001000, name, sizeof(name)));
	assert_string_equal(name, "u10_system");
	assert_false(ml_android_user_name(4242, name, sizeof(name)));
	assert_string_equal(name, "");
	assert_true(ml_android_zygote("zygote64"));
	assert_true(ml_android_zygote("usap64"));
	assert_true(ml_android_zygote("d.chrome_zygote"));
	assert_false(ml_android_zygote("zygote6"));
	assert_false(ml_android_zygote(""));
	assert_int_equal(ml_android_package_len("com.example:remote"), 11);
	assert_int_equal(ml_android_package_len("com.example"), 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rollup_this_kernel),
	    cmocka_unit_test(test_rollup_malformed),
	    cmocka_unit_test(test_mem_line),
	    cmocka_unit_test(test_mem_line_edges),
	    cmocka_unit_test(test_vmflags),
	    cmocka_unit_test(test_smaps_this_kernel),
	    cmocka_unit_test(test_smaps_old_kernel),
	    cmocka_unit_test(test_smaps_android),
	    cmocka_unit_test(test_smaps_key_order),
	    cmocka_unit_test(test_smaps_malformed),
	    cmocka_unit_test(test_maps_line),
	    cmocka_unit_test(test_maps_line_addresses),
	    cmocka_unit_test(test_status),
	    cmocka_unit_test(test_status_kernel_thread_and_malformed),
	    cmocka_unit_test(test_stat),
	    cmocka_unit_test(test_cmdline),
	    cmocka_unit_test(test_sysv_shm),
	    cmocka_unit_test(test_cgroup),
	    cmocka_unit_test(test_duplicate_keys),
	    cmocka_unit_test(test_loadavg_and_mountinfo),
	    cmocka_unit_test(test_source_jail),
	    cmocka_unit_test(test_trend),
	    cmocka_unit_test(test_statm),
	    cmocka_unit_test(test_drm_fdinfo),
	    cmocka_unit_test(test_dmabuf_fdinfo),
	    cmocka_unit_test(test_android_names),
	};

	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
