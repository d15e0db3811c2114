/*
 * Runs a command and writes its peak RSS in KiB to OUTFILE. Linked statically and kept
 * tiny: a child's ru_maxrss includes what it held before exec, so the launcher must hold
 * next to nothing (a Python parent would add its own 15 MiB).
 *
 *   peakrss OUTFILE COMMAND [ARG...]
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct rusage usage;
	int status;
	pid_t pid;
	FILE *out;

	if (argc < 3)
		return 2;
	pid = fork();
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &usage) < 0)
		return 1;
	out = fopen(argv[1], "w");
	if (!out)
		return 1;
	fprintf(out, "%ld\n", usage.ru_maxrss);
	fclose(out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
