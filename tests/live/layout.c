/*
 * A process family with a known memory layout, for the live tests. Linked statically
 * so that it shares no pages with the measurer (DESIGN.md, "kernel facts that bite").
 *
 *   layout-helper DIR NCHILDREN SWAP(0|1)
 *   layout-helper chain DEPTH        (a chain of processes, each the child of the last)
 *   layout-helper sparse NPAGES      (1 TiB reserved, NPAGES pages written across it)
 *   layout-helper pageout NPAGES     (NPAGES pages written, then paged out)
 *   layout-helper canvas             (a memfd one child writes, another maps untouched)
 *   layout-helper trend              (three children: one whose footprint grows 2 MiB a second,
 *                                     one that fills 8 MiB in 2 s and frees it, over and over,
 *                                     one that holds 8 MiB still; "ready GROWER WAVES STILL")
 *   layout-helper grow NCHILDREN     (idle children; the parent writes 4 MiB more of its own
 *                                     each time a line comes on standard input, and says "grown")
 *   layout-helper threads N          (N threads, each with its own malloc arena in which it
 *                                     writes (i+1) MiB, and a 1 MiB stack of which it writes
 *                                     (i+1) * 64 KiB; "ready PID")
 *
 * The parent maps, at fixed addresses, and before forking:
 *   COW     4 MiB private anonymous, written: child i rewrites (i+1) * 256 KiB of it
 *   SHANON  2 MiB MAP_SHARED anonymous, written
 *   MEMFD   1 MiB memfd, MAP_SHARED, written
 *   SYSV    1 MiB SysV segment, written, then marked for removal
 *   FILE    1 MiB file in DIR, MAP_PRIVATE read-only, read
 *   NORESERVE 1 MiB private writable with MAP_NORESERVE, untouched (no commit charge)
 *   MEMFD2  512 KiB of a second memfd with the same name, written by the parent only
 *   POSIX   1 MiB of /dev/shm/memledger-test-PID, MAP_SHARED, written; it stays linked and
 *           outlives the family, as such files do: the test unlinks it
 *   THP     2 MiB private anonymous at a 2 MiB boundary with MADV_HUGEPAGE, written: one
 *           huge page where the kernel grants it, shared copy-on-write with every child
 * then forks NCHILDREN children, which read all of the shared ones. Every process of the family
 * then writes 8 MiB of its own (OWN); each child also writes 2 MiB it pages out with MADV_PAGEOUT
 * (SWAPPED, when SWAP is 1) and 1 MiB it frees with MADV_FREE (LAZY). When all are set up the
 * parent prints "ready PID..." and waits for its standard input to close; the family then exits.
 */
#define _GNU_SOURCE
#include <alloca.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define MiB          (1024ul * 1024)
#define COW_AT       ((void *)0x200000000ul)
#define SHANON_AT    ((void *)0x210000000ul)
#define MEMFD_AT     ((void *)0x220000000ul)
#define SYSV_AT      ((void *)0x230000000ul)
#define FILE_AT      ((void *)0x240000000ul)
#define OWN_AT       ((void *)0x250000000ul)
#define SWAPPED_AT   ((void *)0x260000000ul)
#define LAZY_AT      ((void *)0x270000000ul)
#define SCRATCH_AT   ((void *)0x280000000ul)
#define NORESERVE_AT ((void *)0x290000000ul)
#define MEMFD2_AT    ((void *)0x2a0000000ul)
#define POSIX_AT     ((void *)0x2b0000000ul)
#define THP_AT       ((void *)0x2c0000000ul)

static char posix_path[64]; /* /dev/shm/memledger-test-PID */

static volatile char sink; /* what touch() reads goes here, so that it is read */

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void *map_at(void *at, size_t len, int prot, int flags, int fd)
{
	void *p = mmap(at, len, prot, flags | MAP_FIXED_NOREPLACE, fd, 0);

	if (p != at)
		die("mmap");
	return p;
}

/* Writes every page with a value that differs by page, so that nothing merges. */
static void fill(void *p, size_t len, int seed)
{
	for (size_t off = 0; off < len; off += 4096)
		memset((char *)p + off, (int)((off / 4096 + (size_t)seed) % 251) + 1, 4096);
}

/* Anonymous memory in small pages, whatever the machine's THP setting. */
static void *anon(void *at, size_t len, int shared)
{
	void *p = map_at(at, len, PROT_READ | PROT_WRITE,
	                 (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1);

	madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

/* Reads every page: fork copies no page tables of shared or file mappings. */
static void touch(void *p, size_t len)
{
	for (size_t off = 0; off < len; off += 4096)
		sink += ((char *)p)[off];
}

static void map_family_regions(const char *dir)
{
	char path[4096], buf[4096];
	int fd, id;

	fill(anon(COW_AT, 4 * MiB, 0), 4 * MiB, 1);
	fill(anon(SHANON_AT, 2 * MiB, 1), 2 * MiB, 2);
	fd = memfd_create("memledger-test", 0);
	if (fd < 0 || ftruncate(fd, (off_t)MiB) < 0)
		die("memfd");
	fill(map_at(MEMFD_AT, MiB, PROT_READ | PROT_WRITE, MAP_SHARED, fd), MiB, 3);
	id = shmget(IPC_PRIVATE, MiB, IPC_CREAT | 0600);
	if (id < 0 || shmat(id, SYSV_AT, 0) != SYSV_AT)
		die("shm");
	fill(SYSV_AT, MiB, 4);
	shmctl(id, IPC_RMID, NULL); /* gone when the last process detaches */
	snprintf(path, sizeof(path), "%s/mapped-file", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	for (int i = 0; fd >= 0 && i < 256; i++) {
		memset(buf, i + 1, sizeof(buf));
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			die("write");
	}
	if (fd < 0 || fsync(fd) < 0)
		die("file");
	touch(map_at(FILE_AT, MiB, PROT_READ, MAP_PRIVATE, fd), MiB);
	map_at(NORESERVE_AT, MiB, PROT_READ | PROT_WRITE,
	       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1);
	fd = memfd_create("memledger-test", 0);
	if (fd < 0 || ftruncate(fd, (off_t)MiB / 2) < 0)
		die("memfd");
	fill(map_at(MEMFD2_AT, MiB / 2, PROT_READ | PROT_WRITE, MAP_SHARED, fd), MiB / 2, 5);
	snprintf(posix_path, sizeof(posix_path), "/dev/shm/memledger-test-%d", (int)getpid());
	fd = open(posix_path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)MiB) < 0)
		die(posix_path);
	fill(map_at(POSIX_AT, MiB, PROT_READ | PROT_WRITE, MAP_SHARED, fd), MiB, 6);
	map_at(THP_AT, 2 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	madvise(THP_AT, 2 * MiB, MADV_HUGEPAGE); /* refused where THP is off: small pages */
	fill(THP_AT, 2 * MiB, 7);
}

/* Keeps this process on the CPU it runs on, so that draining this CPU's batches suffices. */
static void pin_to_this_cpu(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	CPU_ZERO(&set);
	CPU_SET(cpu < 0 ? 0 : cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		die("sched_setaffinity");
	fill(anon(SCRATCH_AT, 4096, 0), 4096, 0);
}

/* Drains this CPU's page batches: MADV_COLD calls lru_add_drain() first. */
static void drain_this_cpu(void)
{
	if (madvise(SCRATCH_AT, 4096, MADV_COLD) < 0)
		die("MADV_COLD");
}

/*
 * New pages reach the LRU through per-CPU batches, and MADV_FREE marks pages lazy through
 * another: a page not yet on the LRU can be neither paged out nor marked lazy, and until
 * the lazy batch drains its pages count as swap-backed, not LazyFree. So each child stays
 * on one CPU and drains that CPU's batches before and after each advice.
 */
static void child_regions(int i, int swap)
{
	pin_to_this_cpu();
	touch(SHANON_AT, 2 * MiB);
	touch(MEMFD_AT, MiB);
	touch(SYSV_AT, MiB);
	touch(FILE_AT, MiB);
	touch(POSIX_AT, MiB);
	fill(COW_AT, (size_t)(i + 1) * 256 * 1024, 100 + i); /* private copies now */
	fill(anon(SWAPPED_AT, 2 * MiB, 0), 2 * MiB, 200 + i);
	drain_this_cpu();
	if (swap && madvise(SWAPPED_AT, 2 * MiB, MADV_PAGEOUT) < 0)
		die("MADV_PAGEOUT");
	fill(anon(LAZY_AT, MiB, 0), MiB, 300 + i);
	drain_this_cpu();
	if (madvise(LAZY_AT, MiB, MADV_FREE) < 0)
		die("MADV_FREE");
	drain_this_cpu();
}

/* One process that reserves 1 TiB (MAP_NORESERVE) and writes n pages spread across it,
 * each its own populated range: sparse, and more than PAGEMAP_SCAN's 512 regions a call
 * when n is. Prints "ready PID" and stays until standard input ends. */
static int sparse(unsigned long n)
{
	const unsigned long size = 1ul << 40, stride = (size / n) & ~4095ul;
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char c;

	if (p == MAP_FAILED)
		die("mmap 1 TiB");
	for (unsigned long i = 0; i < n; i++)
		p[i * stride] = (char)(i + 1);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	return 0;
}

/* One process that writes n pages and pages them out (MADV_PAGEOUT): they go to the swap
 * area of the highest priority. Prints "ready PID" and stays until standard input ends. */
static int pageout(unsigned long n)
{
	size_t len = n * 4096;
	char *p, c;

	pin_to_this_cpu();
	p = anon(SWAPPED_AT, len, 0);
	fill(p, len, 7);
	drain_this_cpu();
	if (madvise(p, len, MADV_PAGEOUT) < 0)
		die("MADV_PAGEOUT");
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	return 0;
}

static char *canvas_map; /* the reader's mapping of the canvas, for on_usr1 */

/* The reader lets go of the canvas, as a GPU process does when its renderer dies. */
static void on_usr1(int sig)
{
	(void)sig;
	munmap(canvas_map, MiB);
}

/* The canvas case (a browser's renderer and GPU process): a 1 MiB memfd that one child
 * writes and another maps without touching, no one else holding it; SIGUSR1 makes the
 * reader unmap it. Prints "ready PARENT WRITER READER"; all stay until standard input ends
 * (the children die with the parent). */
static int canvas(void)
{
	int fd = memfd_create("memledger-canvas", 0), ready[2];
	pid_t kids[2];
	char c;

	if (fd < 0 || ftruncate(fd, (off_t)MiB) < 0 || pipe(ready) < 0)
		die("canvas memfd");
	for (int i = 0; i < 2; i++) { /* the reader first: the older mapper, as a GPU process */
		kids[i] = fork();
		if (kids[i] < 0)
			die("fork");
		if (kids[i] == 0) {
			char *p;
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			p = mmap(NULL, MiB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			if (p == MAP_FAILED)
				die("mmap canvas");
			if (i == 1)
				fill(p, MiB, 42); /* the writer: its pages, resident */
			canvas_map = p;
			signal(SIGUSR1, on_usr1); /* the reader, told to, unmaps it */
			close(fd);
			if (write(ready[1], "x", 1) != 1)
				die("ready");
			for (;;)
				pause();
		}
	}
	close(fd);
	for (int i = 0; i < 2; i++)
		if (read(ready[0], &c, 1) != 1)
			die("wait for children");
	printf("ready %d %d %d\n", (int)getpid(), (int)kids[1], (int)kids[0]); /* writer, reader */
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	return 0;
}

/* A parent and n idle children; for each line on standard input the parent writes 4 MiB
 * of new private anonymous memory and prints "grown", for diff's test. */
static int grow(int n)
{
	char line[64];
	pid_t kids[16];

	if (n > 16)
		n = 16;
	for (int i = 0; i < n; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			die("fork");
		if (kids[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				pause();
		}
	}
	/* The path a growth takes, once now: the stack pages it writes are then the parent's
	 * own, not pages it shares copy-on-write with its children, which a first write
	 * after the first capture would make private (4 KiB more USS than the growth). */
	char *warm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (warm == MAP_FAILED)
		die("mmap warm");
	fill(warm, 4096, 7);
	munmap(warm, 4096);
	printf("ready %d", (int)getpid());
	for (int i = 0; i < n; i++)
		printf(" %d", (int)kids[i]);
	printf("\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		char *p =
		    mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			die("mmap grow");
		fill(p, 4 * MiB, 7);
		printf("grown\n");
		fflush(stdout);
	}
	return 0;
}

/* The trend children: a steady grower, a sawtooth, one that holds still. */
static void trend_child(int kind)
{
	struct timespec next; /* 8 steps a second, on the clock: the rate holds under load */
	size_t step = 256 * 1024;
	char *p;

	clock_gettime(CLOCK_MONOTONIC, &next);

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (kind == 2) { /* still */
		p = mmap(NULL, 8 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			die("mmap still");
		fill(p, 8 * MiB, 3);
		for (;;)
			pause();
	}
	for (;;) { /* the grower never frees; the sawtooth frees every 4 s (32 steps) */
		size_t len = kind == 0 ? 64 * 8 * MiB : 8 * MiB;
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			die("mmap trend");
		madvise(p, len, MADV_NOHUGEPAGE); /* 2 MiB at once would be no steady line */
		for (size_t at = 0; at + step <= len; at += step) {
			fill(p + at, step, 5);
			next.tv_nsec += 125000000;
			if (next.tv_nsec >= 1000000000) {
				next.tv_sec++;
				next.tv_nsec -= 1000000000;
			}
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) ==
			       EINTR)
				;
		}
		munmap(p, len);
	}
}

static int trend(void)
{
	pid_t kids[3];
	char c;

	for (int i = 0; i < 3; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			die("fork");
		if (kids[i] == 0)
			trend_child(i);
	}
	printf("ready %d %d %d\n", (int)kids[0], (int)kids[1], (int)kids[2]);
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	return 0;
}

/* A chain of n processes, each the child of the one before: the deepest prints
 * "ready TOP DEEPEST" and all stay until standard input ends. */
static int chain(int n)
{
	pid_t top = getpid(), child;
	char c;

	for (int depth = 1; depth < n; depth++) {
		child = fork();
		if (child < 0)
			die("fork");
		if (child > 0) { /* stay until the child below has gone */
			while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
				;
			_exit(0);
		}
	}
	printf("ready %d %d\n", (int)top, (int)getpid());
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	return 0;
}

#define THREAD_STACK (1 * MiB)

static pthread_barrier_t threads_set;

/* Writes (i+1) * 64 KiB of its stack, and (i+1) MiB with malloc (its own arena), then
 * waits for ever. */
static void *thread_main(void *arg)
{
	long i = (long)arg;
	size_t stack = (size_t)(i + 1) * 64 * 1024, heap_size = (size_t)(i + 1) * MiB;
	volatile char *on_stack = alloca(stack);
	volatile char *heap = malloc(heap_size);

	if (!heap)
		die("malloc");
	for (size_t at = 0; at < stack; at += 4096) /* every page, through volatile: kept */
		on_stack[at] = 1;
	for (size_t at = 0; at < heap_size; at += 4096)
		heap[at] = 2;
	pthread_barrier_wait(&threads_set);
	for (;;)
		pause();
	return NULL;
}

/* n threads of known stack and heap use; the process says "ready PID" and stays until
 * standard input ends. */
static int threads(int n)
{
	pthread_attr_t attr;
	pthread_t t;
	char c;

	mallopt(M_ARENA_MAX, n + 1);           /* an arena for every thread */
	mallopt(M_MMAP_THRESHOLD, 32 * MiB);   /* their blocks in it, not mmap'ed apart */
	pthread_barrier_init(&threads_set, NULL, (unsigned)n + 1);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	for (long i = 0; i < n; i++)
		if (pthread_create(&t, &attr, thread_main, (void *)i) != 0)
			die("pthread_create");
	pthread_barrier_wait(&threads_set);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	_exit(0);
}

int main(int argc, char **argv)
{
	int ready[2], hold[2], nchildren, swap;
	pid_t pids[64];
	char c;

	if (argc == 3 && strcmp(argv[1], "chain") == 0 && atoi(argv[2]) > 0)
		return chain(atoi(argv[2]));
	if (argc == 3 && strcmp(argv[1], "sparse") == 0 && atol(argv[2]) > 0)
		return sparse((unsigned long)atol(argv[2]));
	if (argc == 3 && strcmp(argv[1], "pageout") == 0 && atol(argv[2]) > 0)
		return pageout((unsigned long)atol(argv[2]));
	if (argc == 2 && strcmp(argv[1], "canvas") == 0)
		return canvas();
	if (argc == 2 && strcmp(argv[1], "trend") == 0)
		return trend();
	if (argc == 3 && strcmp(argv[1], "grow") == 0)
		return grow(atoi(argv[2]));
	if (argc == 3 && strcmp(argv[1], "threads") == 0 && atoi(argv[2]) > 0)
		return threads(atoi(argv[2]));
	if (argc != 4) {
		fprintf(stderr, "usage: layout-helper SHM_NAME NCHILDREN SWAP\n"
		                "       layout-helper chain DEPTH\n"
		                "       layout-helper sparse NPAGES\n"
		                "       layout-helper pageout NPAGES\n"
		                "       layout-helper canvas\n"
		                "       layout-helper grow NCHILDREN\n"
		                "       layout-helper threads N\n"
		                "       layout-helper trend\n");
		return 2;
	}
	nchildren = atoi(argv[2]);
	swap = atoi(argv[3]);
	if (nchildren < 0 || nchildren > 64 || pipe(ready) < 0 || pipe(hold) < 0)
		return 2;
	map_family_regions(argv[1]);
	for (int i = 0; i < nchildren; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork");
		if (pids[i] == 0) {
			close(hold[1]);
			fill(anon(OWN_AT, 8 * MiB, 0), 8 * MiB, 10 + i);
			child_regions(i, swap);
			if (write(ready[1], "x", 1) != 1)
				die("ready");
			while (read(hold[0], &c, 1) > 0) /* until the parent exits */
				;
			_exit(0);
		}
	}
	fill(anon(OWN_AT, 8 * MiB, 0), 8 * MiB, 9);
	for (int i = 0; i < nchildren; i++)
		if (read(ready[0], &c, 1) != 1)
			die("wait for children");
	printf("ready %d", (int)getpid());
	for (int i = 0; i < nchildren; i++)
		printf(" %d", (int)pids[i]);
	printf("\n");
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	close(hold[1]);
	while (wait(NULL) > 0)
		;
	return 0;
}
