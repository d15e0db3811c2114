/* User names by UID, looked up once each. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memledger/android.h"
#include "memledger/group.h"
#include "memledger/parse.h"

const char *ml_user_name(struct ml_user_cache *c, uint64_t uid)
{
	struct passwd *pw;
	char num[48];
	void *grown;

	if (uid == ML_UNKNOWN)
		return NULL;
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].uid == uid)
			return c->v[i].name;
	grown = realloc(c->v, (c->n + 1) * sizeof(*c->v));
	if (!grown)
		return NULL;
	c->v = grown;
	if (!c->android || !ml_android_user_name(uid, num, sizeof(num)))
		snprintf(num, sizeof(num), "%llu", (unsigned long long)uid);
	pw = c->android ? NULL : getpwuid((uid_t)uid);
	c->v[c->n].uid = uid;
	c->v[c->n].name = strdup(pw ? pw->pw_name : num);
	return c->v[c->n++].name;
}

void ml_user_cache_free(struct ml_user_cache *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].name);
	free(c->v);
}
