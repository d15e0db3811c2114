/*
 * Libraries loaded at first use (as systemd's dlopen_many_sym_or_warn): a command pays
 * for a library only when it uses it, and one that is missing is said by name.
 */
#ifndef MEMLEDGER_DL_H
#define MEMLEDGER_DL_H

#include <stddef.h>

/* One symbol to find: its name, and where its address goes. */
struct dl_sym {
	const char *name;
	void **addr;
};

#define DL_SYM(sym)                                                                                \
	{                                                                                          \
#sym, (void **)&sym_##sym                                                          \
	}

/*
 * Loads the first of sonames (NULL-terminated) that dlopen finds, once, and fills every
 * symbol of syms[0..n). who names what needs it and package what installs it, for the
 * message. Returns 0, or -1 after one message (the library or a symbol is missing).
 */
int dl_load(void **handle, const char *const *sonames, const struct dl_sym *syms, size_t n,
            const char *who, const char *package);

#endif
