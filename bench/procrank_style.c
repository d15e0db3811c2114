/*
 * The procrank way of reading pages, for bench.py to time against memledger's exact
 * mode: for every process, for every page of every mapping, one pread of pagemap, and
 * for each resident page one pread of kpagecount and one of kpageflags (libpagemap's
 * pm_map_workingset / pm_kernel_count). Prints Σ PSS and Σ RSS. Not part of memledger.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PRESENT (1ull << 63)
#define PFN     ((1ull << 55) - 1)

int main(void)
{
	int count_fd = open("/proc/kpagecount", O_RDONLY),
	    flags_fd = open("/proc/kpageflags", O_RDONLY);
	long page = sysconf(_SC_PAGESIZE);
	uint64_t rss = 0, pss = 0;
	struct dirent *d;
	DIR *proc = opendir("/proc");

	if (count_fd < 0 || flags_fd < 0 || !proc) {
		perror("procrank_style: /proc/kpagecount (root only)");
		return 1;
	}
	while ((d = readdir(proc))) {
		char path[300], line[512];
		unsigned long start, end;
		FILE *maps;
		int pm;
		if (d->d_name[0] < '1' || d->d_name[0] > '9' || atoi(d->d_name) == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%s/maps", d->d_name);
		maps = fopen(path, "r");
		snprintf(path, sizeof(path), "/proc/%s/pagemap", d->d_name);
		pm = open(path, O_RDONLY);
		while (maps && pm >= 0 && fgets(line, sizeof(line), maps)) {
			if (sscanf(line, "%lx-%lx", &start, &end) != 2 ||
			    strstr(line, "[vsyscall]"))
				continue;
			for (unsigned long va = start; va < end; va += (unsigned long)page) {
				uint64_t e, count, flags;
				if (pread(pm, &e, 8, (off_t)(va / page * 8)) != 8 ||
				    !(e & PRESENT) || !(e & PFN))
					continue;
				if (pread(count_fd, &count, 8, (off_t)((e & PFN) * 8)) != 8 ||
				    pread(flags_fd, &flags, 8, (off_t)((e & PFN) * 8)) != 8 ||
				    !count)
					continue;
				rss += (uint64_t)page;
				pss += (uint64_t)page / count;
			}
		}
		if (maps)
			fclose(maps);
		if (pm >= 0)
			close(pm);
	}
	closedir(proc);
	printf("rss %" PRIu64 " pss %" PRIu64 "\n", rss, pss);
	return 0;
}
