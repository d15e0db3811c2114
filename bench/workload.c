/*
 * The benchmark's workload: one parent with M distinct mappings (one page of each
 * written, so smaps has real work) forked into N children that keep them.
 *
 *   workload [NCHILDREN [NMAPPINGS]]     defaults: 500 children, 400 mappings
 *
 * Prints "ready PID" when all children run, then waits for its standard input to close.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define BASE 0x300000000ul

int main(int argc, char **argv)
{
	int nchildren = argc > 1 ? atoi(argv[1]) : 500;
	int nmappings = argc > 2 ? atoi(argv[2]) : 400;
	int hold[2], ready[2];
	char c;

	if (nchildren < 0 || nmappings < 0 || pipe(hold) < 0 || pipe(ready) < 0)
		return 2;
	for (int i = 0; i < nmappings; i++) {
		/* Two pages with a one-page gap after them: no two mappings merge. */
		char *p = mmap((void *)(BASE + (unsigned long)i * 3 * 4096), 2 * 4096,
		               PROT_READ | PROT_WRITE,
		               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (p == MAP_FAILED)
			return 1;
		p[0] = (char)i;
	}
	for (int i = 0; i < nchildren; i++) {
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			close(hold[1]);
			if (write(ready[1], "x", 1) != 1)
				_exit(1);
			while (read(hold[0], &c, 1) > 0)
				;
			_exit(0);
		}
	}
	for (int i = 0; i < nchildren; i++)
		if (read(ready[0], &c, 1) != 1)
			return 1;
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	close(hold[1]);
	while (wait(NULL) > 0)
		;
	return 0;
}
