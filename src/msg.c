#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "msg.h"

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("memledger: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
