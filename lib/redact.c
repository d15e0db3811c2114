/* Redaction for snapshots: stable keyed hashes of user-chosen strings (see redact.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memledger/redact.h"
#include "memledger/role.h"
#include "util.h"

int ml_bytes_append(struct ml_bytes *b, const void *data, size_t len)
{
	if (ml_grow((void **)&b->data, &b->cap, b->len, len + 1, 1) < 0)
		return -ENOMEM;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

/* SipHash-2-4 of in[0..len) with the key (k0, k1). */
static uint64_t siphash(uint64_t k0, uint64_t k1, const uint8_t *in, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ull ^ k0, v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0, v3 = 0x7465646279746573ull ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i;

#define SIPROUND                                                                                   \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = ROTL(v1, 13);                                                                 \
		v1 ^= v0;                                                                          \
		v0 = ROTL(v0, 32);                                                                 \
		v2 += v3;                                                                          \
		v3 = ROTL(v3, 16);                                                                 \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = ROTL(v3, 21);                                                                 \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = ROTL(v1, 17);                                                                 \
		v1 ^= v2;                                                                          \
		v2 = ROTL(v2, 32);                                                                 \
	} while (0)
	for (i = 0; i + 8 <= len; i += 8) {
		m = 0;
		for (int k = 7; k >= 0; k--)
			m = (m << 8) | in[i + (size_t)k];
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t k = 0; i + k < len; k++)
		b |= (uint64_t)in[i + k] << (8 * k);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
#undef SIPROUND
	return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int k = 7; k >= 0; k--)
		v = (v << 8) | p[k];
	return v;
}

void ml_redact_init(struct ml_redact *r, const uint8_t key[ML_REDACT_KEY_LEN])
{
	r->k0 = le64(key);
	r->k1 = le64(key + 8);
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void ml_redact_key_parse(const char *text, uint8_t key[ML_REDACT_KEY_LEN])
{
	size_t len = strlen(text);
	bool hex = len == 2 * ML_REDACT_KEY_LEN;

	for (size_t i = 0; hex && i < len; i++)
		hex = hex_value(text[i]) >= 0;
	if (hex) {
		for (size_t i = 0; i < ML_REDACT_KEY_LEN; i++)
			key[i] =
			    (uint8_t)(hex_value(text[2 * i]) << 4 | hex_value(text[2 * i + 1]));
		return;
	}
	for (int half = 0; half < 2; half++) { /* a passphrase: its hash under fixed keys */
		uint64_t h =
		    siphash(0x6d656d6c65646765ull, (uint64_t)half, (const uint8_t *)text, len);
		for (int k = 0; k < 8; k++)
			key[half * 8 + k] = (uint8_t)(h >> (8 * k));
	}
}

void ml_redact_key_hex(const uint8_t key[ML_REDACT_KEY_LEN], char out[33])
{
	for (size_t i = 0; i < ML_REDACT_KEY_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", key[i]);
}

void ml_redact_token(const struct ml_redact *r, const void *data, size_t len, char *out)
{
	uint64_t h = siphash(r->k0, r->k1, data, len);

	snprintf(out, ML_REDACT_TOKEN_LEN + 1, "<h:%010llx>", (unsigned long long)(h >> 24));
}

uint32_t ml_redact_sysv_key(const struct ml_redact *r, uint32_t key)
{
	uint8_t in[8] = {'S',
	                 'Y',
	                 'S',
	                 'V',
	                 (uint8_t)key,
	                 (uint8_t)(key >> 8),
	                 (uint8_t)(key >> 16),
	                 (uint8_t)(key >> 24)};
	uint32_t h;

	if (key == 0)
		return 0; /* IPC_PRIVATE: no one's choice */
	h = (uint32_t)siphash(r->k0, r->k1, in, sizeof(in));
	return h ? h : 1;
}

bool ml_redact_system_path(const char *path, size_t len)
{
	static const char *const dirs[] = {"/usr/",        "/lib/",       "/lib32/",
	                                   "/lib64/",      "/libx32/",    "/bin/",
	                                   "/sbin/",       "/etc/",       "/opt/",
	                                   "/snap/",       "/nix/store/", "/dev/",
	                                   "/proc/",       "/sys/",       "/system/",
	                                   "/system_ext/", "/vendor/",    "/product/",
	                                   "/apex/",       "/odm/",       "/var/lib/flatpak/"};

	for (size_t i = 0; i < ML_ARRAY_SIZE(dirs); i++) {
		size_t n = strlen(dirs[i]);
		if (len > n && memcmp(path, dirs[i], n) == 0 && !memmem(path, len, "/../", 4))
			return true;
	}
	return false;
}

/* Appends the token of data[0..len). */
static int add_token(const struct ml_redact *r, const char *data, size_t len, struct ml_bytes *out)
{
	char t[ML_REDACT_TOKEN_LEN + 1];

	ml_redact_token(r, data, len, t);
	return ml_bytes_append(out, t, ML_REDACT_TOKEN_LEN);
}

int ml_redact_program(const struct ml_redact *r, const char *w, size_t len, struct ml_bytes *out)
{
	const char *slash = memrchr(w, '/', len);
	size_t dir = slash ? (size_t)(slash - w) + 1 : 0;

	if (dir > 1 && !ml_redact_system_path(w, len)) {
		if (add_token(r, w, dir - 1, out) < 0 || ml_bytes_append(out, "/", 1) < 0)
			return -ENOMEM;
		return ml_bytes_append(out, w + dir, len - dir);
	}
	return ml_bytes_append(out, w, len);
}

/* True when comm is the program's name: the last component of w[0..len), or its first
 * 15 bytes (all that comm holds). */
static bool program_name(const char *comm, const char *w, size_t len)
{
	const char *slash = memrchr(w, '/', len), *base = slash ? slash + 1 : w;
	size_t n = strlen(comm), blen = len - (size_t)(base - w);

	return n && (n == blen || (n == 15 && blen > n)) && memcmp(comm, base, n) == 0;
}

/* One word of a command line: the program (first), a role flag, or a token. */
static int add_word(const struct ml_redact *r, const char *w, size_t len, bool first,
                    const char *comm, bool *comm_hidden, struct ml_bytes *out)
{
	if (first)
		return ml_redact_program(r, w, len, out);
	if (len == 0 || ml_role_flag(w, len))
		return ml_bytes_append(out, w, len);
	if (comm && *comm && memmem(w, len, comm, strlen(comm)))
		*comm_hidden = true; /* the name is in a hashed word: it is hashed too */
	return add_token(r, w, len, out);
}

int ml_redact_cmdline(const struct ml_redact *r, const char *cmd, size_t len, const char *comm,
                      bool *comm_hidden, struct ml_bytes *out)
{
	size_t nargs = 0, at;
	bool title;

	*comm_hidden = false;
	out->len = 0;
	while (len && cmd[len - 1] == '\0')
		len--;
	for (at = 0; at < len; at++)
		nargs += cmd[at] == '\0';
	/* one string with spaces: a title set over argv (setproctitle, Chromium's rewrite);
	 * it and argv[0] are split into words at spaces, the first the program */
	title = nargs == 0 && memchr(cmd, ' ', len);
	for (at = 0; at < len;) {
		const char *a = cmd + at;
		size_t alen = strnlen(a, len - at);
		for (size_t k = 0; k < alen;) {
			const char *sp = title || at == 0 ? memchr(a + k, ' ', alen - k) : NULL;
			size_t wlen = sp ? (size_t)(sp - (a + k)) : alen - k;
			bool first = at == 0 && k == 0;
			if (first && comm && program_name(comm, a, wlen))
				comm = NULL; /* the program's own name, kept */
			if (add_word(r, a + k, wlen, first, comm, comm_hidden, out) < 0)
				return -ENOMEM;
			k += wlen;
			if (k < alen) {
				if (ml_bytes_append(out, " ", 1) < 0)
					return -ENOMEM;
				k++;
			}
		}
		at += alen;
		if (at < len) {
			if (ml_bytes_append(out, "", 1) < 0)
				return -ENOMEM;
			at++;
		}
	}
	return ml_bytes_append(out, "", len ? 1 : 0); /* the NUL that ends the last argument */
}

int ml_redact_name(const struct ml_redact *r, const char *name, size_t len, struct ml_bytes *out)
{
	static const char deleted[] = " (deleted)";
	size_t dl = sizeof(deleted) - 1, core = len;
	char buf[32];
	int rc;

	if (len >= dl && memcmp(name + len - dl, deleted, dl) == 0)
		core = len - dl;
	if (core > 7 && memcmp(name, "/memfd:", 7) == 0) {
		rc = ml_bytes_append(out, name, 7) < 0 || add_token(r, name + 7, core - 7, out) < 0
		         ? -ENOMEM
		         : 0;
	} else if (core == 13 && memcmp(name, "/SYSV", 5) == 0) {
		char hex[9];
		memcpy(hex, name + 5, 8);
		hex[8] = '\0';
		snprintf(buf, sizeof(buf), "/SYSV%08x",
		         (unsigned)ml_redact_sysv_key(r, (uint32_t)strtoul(hex, NULL, 16)));
		rc = ml_bytes_append(out, buf, 13);
	} else if (core > 1 && name[0] == '/' && strncmp(name, "/dmabuf:", 8) != 0 &&
	           !ml_redact_system_path(name, core)) {
		rc = add_token(r, name, core, out);
	} else {
		rc = ml_bytes_append(out, name, core);
	}
	return rc < 0 ? rc : ml_bytes_append(out, name + core, len - core);
}

int ml_redact_lines(const char *text, size_t len, struct ml_bytes *out,
                    int (*line_fn)(const char *line, size_t n, void *ctx, struct ml_bytes *out),
                    void *ctx)
{
	struct ml_line_iter it;
	const char *line;
	size_t n;

	out->len = 0;
	ml_line_iter_init(&it, text, len);
	while (ml_line_iter_next(&it, &line, &n))
		if (line_fn(line, n, ctx, out) < 0 ||
		    (it.p[-1] == '\n' && ml_bytes_append(out, "\n", 1) < 0))
			return -ENOMEM;
	return 0;
}

/* True when line[0..len) is a mapping's first line ("START-END PERMS ..."). */
static bool mapping_line(const char *line, size_t len)
{
	size_t i = 0;

	while (i < len &&
	       ((line[i] >= '0' && line[i] <= '9') || (line[i] >= 'a' && line[i] <= 'f')))
		i++;
	return i > 0 && i < len && line[i] == '-';
}

/* The name of a mapping line: what follows the inode (the fifth field) and its blanks. */
static const char *mapping_name(const char *line, const char *end)
{
	const char *p = line;

	for (int field = 0; field < 5; field++) {
		while (p < end && *p != ' ')
			p++;
		while (p < end && *p == ' ')
			p++;
	}
	return p;
}

/* A line of smaps: a mapping's name redacted. */
static int smaps_line(const char *line, size_t n, void *ctx, struct ml_bytes *out)
{
	const char *name = mapping_line(line, n) ? mapping_name(line, line + n) : line + n;

	if (ml_bytes_append(out, line, (size_t)(name - line)) < 0)
		return -ENOMEM;
	return ml_redact_name(ctx, name, (size_t)(line + n - name), out);
}

int ml_redact_smaps(const struct ml_redact *r, const char *text, size_t len, struct ml_bytes *out)
{
	return ml_redact_lines(text, len, out, smaps_line, (void *)r);
}

/* True for a systemd unit's name; *service when it is the level below which names are
 * the service's own (a service, a scope, ...). */
static bool unit_name(const char *c, size_t len, bool *service)
{
	static const char *const ends[] = {".slice",  ".service", ".scope",
	                                   ".socket", ".mount",   ".swap"};

	for (size_t i = 0; i < ML_ARRAY_SIZE(ends); i++) {
		size_t n = strlen(ends[i]);
		if (len > n && memcmp(c + len - n, ends[i], n) == 0) {
			*service = i > 0;
			return true;
		}
	}
	return false;
}

int ml_redact_cgroup_path(const struct ml_redact *r, const char *path, size_t len,
                          struct ml_bytes *out)
{
	bool below = false, service = false;

	for (size_t at = 0; at < len;) {
		const char *c = path + at;
		const char *slash = memchr(c, '/', len - at);
		size_t n = (size_t)((slash ? slash : path + len) - c);
		int rc = 0;
		if (n) {
			if (!below && unit_name(c, n, &service)) {
				rc = ml_bytes_append(out, c, n);
				below = service;
			} else {
				rc = add_token(r, c, n, out);
				below = true;
			}
		}
		if (rc < 0 || (at + n < len && ml_bytes_append(out, "/", 1) < 0))
			return -ENOMEM;
		at += n + 1;
	}
	return 0;
}

/* A line of /proc/PID/cgroup, "ID:CONTROLLERS:PATH": its path redacted. */
static int cgroup_line(const char *line, size_t n, void *ctx, struct ml_bytes *out)
{
	const char *c1 = memchr(line, ':', n);
	const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(line + n - c1 - 1)) : NULL;
	size_t head = c2 ? (size_t)(c2 - line) + 1 : n;

	if (ml_bytes_append(out, line, head) < 0)
		return -ENOMEM;
	return ml_redact_cgroup_path(ctx, line + head, n - head, out);
}

int ml_redact_cgroup_file(const struct ml_redact *r, const char *text, size_t len,
                          struct ml_bytes *out)
{
	return ml_redact_lines(text, len, out, cgroup_line, (void *)r);
}

struct sysv_ctx {
	const struct ml_redact *r;
	bool first;
};

/* A line of /proc/sysvipc/shm: its key (the first field) redacted, the header (the first
 * line, *first) as it is. */
static int sysv_line(const char *line, size_t n, void *ctx, struct ml_bytes *out)
{
	struct sysv_ctx *k = ctx;
	const char *p = ml_skip_blanks(line, line + n), *q = p;
	char key[24];

	if (k->first || p == line + n) {
		k->first = false;
		return ml_bytes_append(out, line, n);
	}
	while (q < line + n && *q != ' ')
		q++;
	snprintf(key, sizeof(key), "%.*s", (int)(q - p), p);
	snprintf(key, sizeof(key), "%10d",
	         (int)ml_redact_sysv_key(k->r, (uint32_t)strtoll(key, NULL, 10)));
	if (ml_bytes_append(out, key, strlen(key)) < 0)
		return -ENOMEM;
	return ml_bytes_append(out, q, (size_t)(line + n - q));
}

int ml_redact_sysvipc(const struct ml_redact *r, const char *text, size_t len, struct ml_bytes *out)
{
	struct sysv_ctx k = {r, true};

	return ml_redact_lines(text, len, out, sysv_line, &k);
}
