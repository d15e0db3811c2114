/* User names by UID, looked up once each. */
#ifndef MEMLEDGER_USERS_H
#define MEMLEDGER_USERS_H

#include <stddef.h>
#include <stdint.h>

struct user_cache {
	struct {
		uint64_t uid;
		char *name;
	} * v;
	size_t n;
};

/* The name of uid (its number when it has none); NULL for an unknown UID or no memory. */
const char *user_cache_name(struct user_cache *c, uint64_t uid);

void user_cache_free(struct user_cache *c);

#endif
