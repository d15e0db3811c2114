/* Libraries loaded at first use. */
#include <dlfcn.h>

#include "dl.h"
#include "msg.h"

int dl_load(void **handle, const char *const *sonames, const struct dl_sym *syms, size_t n,
            const char *who, const char *package)
{
	void *h = NULL;
	const char *err = NULL;

	if (*handle)
		return 0;
	for (size_t i = 0; sonames[i] && !h; i++)
		if (!(h = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL)))
			err = dlerror();
	if (!h) {
		cli_warn("%s needs %s (Debian package %s): %s", who, sonames[0], package,
		         err ? err : "not found");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		*syms[i].addr = dlsym(h, syms[i].name);
		if (!*syms[i].addr) {
			cli_warn("%s: %s lacks %s: too old a version", who, sonames[0],
			         syms[i].name);
			dlclose(h);
			return -1;
		}
	}
	*handle = h;
	return 0;
}
