/*
 * memledger serve: an HTTP server (libmicrohttpd, driven by a thread of ours with epoll)
 * that serves the latest reading of the ledger as Prometheus metrics. The main thread
 * reads the ledger on its cadence and swaps in the new responses; a scrape only queues
 * the latest response (libmicrohttpd counts its references), so N scrapers cost one
 * reading and a scrape costs the time to send the text. Requests are never read beyond
 * their header: GET and HEAD of / and /metrics, 404 for any other path, 405 for any other
 * method.
 *
 * The HTTP thread owns the connections: one that has not sent a whole request within
 * CONN_DEADLINE seconds of opening (or of its last answer) is closed, however slowly it
 * trickles bytes, and room is kept for new clients by closing the oldest waiting ones
 * first. It also takes SIGINT, SIGTERM and SIGHUP (signalfd): the server stops within a
 * second, whatever a reading is doing.
 */
#include <errno.h>
#include <linux/capability.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "dl.h"
#include "commands.h"
#include "run.h"
#include "memledger.h"
#include "metrics.h"
#include "procs.h"

/* libmicrohttpd, loaded when serve starts (dl.h): no other command pays for it and the TLS
 * libraries it brings. */
struct mhd {
	void *handle;
	__typeof__(MHD_add_response_header) *MHD_add_response_header;
	__typeof__(MHD_create_response_from_buffer) *MHD_create_response_from_buffer;
	__typeof__(MHD_destroy_response) *MHD_destroy_response;
	__typeof__(MHD_get_connection_info) *MHD_get_connection_info;
	__typeof__(MHD_get_daemon_info) *MHD_get_daemon_info;
	__typeof__(MHD_get_timeout) *MHD_get_timeout;
	__typeof__(MHD_lookup_connection_value) *MHD_lookup_connection_value;
	__typeof__(MHD_queue_response) *MHD_queue_response;
	__typeof__(MHD_run) *MHD_run;
	__typeof__(MHD_start_daemon) *MHD_start_daemon;
	__typeof__(MHD_stop_daemon) *MHD_stop_daemon;
};

/* Loads libmicrohttpd into m (dlopen keeps one handle for the process, however many
 * times it is asked). Returns 0, or -1 after a message. */
static int load_microhttpd(struct mhd *m)
{
	static const char *const sonames[] = {"libmicrohttpd.so.12", "libmicrohttpd.so", NULL};
#define MHD_SYM(s)                                                                                 \
	{                                                                                          \
#s, (void **)&m->s                                                                 \
	}
	const struct dl_sym syms[] = {MHD_SYM(MHD_add_response_header),
	                              MHD_SYM(MHD_create_response_from_buffer),
	                              MHD_SYM(MHD_destroy_response),
	                              MHD_SYM(MHD_get_connection_info),
	                              MHD_SYM(MHD_get_daemon_info),
	                              MHD_SYM(MHD_get_timeout),
	                              MHD_SYM(MHD_lookup_connection_value),
	                              MHD_SYM(MHD_queue_response),
	                              MHD_SYM(MHD_run),
	                              MHD_SYM(MHD_start_daemon),
	                              MHD_SYM(MHD_stop_daemon)};
#undef MHD_SYM

	return dl_load(&m->handle, sonames, syms, sizeof(syms) / sizeof(syms[0]), "serve",
	               "libmicrohttpd12");
}

#define TEXT_TYPE        "text/plain; version=0.0.4; charset=utf-8"
#define OPENMETRICS_TYPE "application/openmetrics-text; version=1.0.0; charset=utf-8"

#define CONN_LIMIT    512u /* connections at once (each is an fd) */
#define CONN_ROOM     64u  /* of them kept free for new clients: the oldest waiting go */
#define CONN_DEADLINE 10.0 /* seconds for a whole request, from opening or the last answer */
#define STOP_GRACE    0.8  /* seconds a reading has to end after a signal */

/* A connection, as the HTTP thread tracks it (its libmicrohttpd socket context). */
struct conn {
	struct conn *prev, *next; /* oldest first */
	int fd;
	double since; /* when it opened, or its last request was answered (monotonic) */
	bool busy;    /* a whole request is being answered */
	bool closing; /* shut down by us: libmicrohttpd closes it at its next turn */
};

/* What the server serves; the metrics are swapped under lock at each reading. */
struct server {
	struct mhd mhd; /* libmicrohttpd's functions */
	pthread_mutex_t lock;
	struct MHD_Response *text;        /* the latest metrics, text exposition format */
	struct MHD_Response *openmetrics; /* the same in OpenMetrics */
	struct MHD_Response *index, *not_found, *not_allowed, *unavailable;
	/* the HTTP thread's own */
	struct MHD_Daemon *d;
	int sigfd; /* SIGINT, SIGTERM, SIGHUP */
	struct conn *oldest, *newest;
	size_t nconns;
	/* under lock: the stop, between the two threads */
	pthread_cond_t changed; /* on CLOCK_MONOTONIC */
	bool stop;              /* a signal came: the main thread ends its loop */
	bool reader_done;       /* the main thread has left its loop */
	/* the main thread's own */
	uint64_t skipped; /* readings skipped: the one before overran the interval */
};

static double monotonic(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* libmicrohttpd's word that a connection opened or closed: kept in the list, oldest first. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
	struct server *sv = cls;
	struct conn *k = *socket_context;
	const union MHD_ConnectionInfo *info;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		info = sv->mhd.MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (!info || !(k = calloc(1, sizeof(*k))))
			return; /* untracked: its idle timeout still ends it */
		k->fd = info->connect_fd;
		k->since = monotonic();
		k->prev = sv->newest;
		if (sv->newest)
			sv->newest->next = k;
		else
			sv->oldest = k;
		sv->newest = k;
		sv->nconns++;
		*socket_context = k;
		return;
	}
	if (!k)
		return;
	(k->prev ? &k->prev->next : &sv->oldest)[0] = k->next;
	(k->next ? &k->next->prev : &sv->newest)[0] = k->prev;
	sv->nconns--;
	free(k);
	*socket_context = NULL;
}

/* A request answered: its connection's deadline starts again. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	const struct server *sv = cls;
	const union MHD_ConnectionInfo *info =
	    sv->mhd.MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn *k = info ? info->socket_context : NULL;

	(void)con_cls;
	(void)toe;
	if (k) {
		k->busy = false;
		k->since = monotonic();
	}
}

/* Closes connections that are past their deadline, and the oldest waiting ones while
 * fewer than CONN_ROOM places are free. shutdown() only: libmicrohttpd sees the end at
 * its next turn and closes the fd itself (this thread runs it: the fd is still its). */
static void reap(struct server *sv)
{
	double now = monotonic();
	size_t open = sv->nconns;

	for (struct conn *k = sv->oldest; k; k = k->next) {
		if (k->closing)
			continue;
		if (k->busy ? now - k->since < 3 * CONN_DEADLINE /* a slow reader's answer */
		            : now - k->since < CONN_DEADLINE && open + CONN_ROOM <= CONN_LIMIT)
			continue;
		shutdown(k->fd, SHUT_RDWR);
		k->closing = true;
		open--;
	}
}

/* The HTTP thread: runs libmicrohttpd, reaps connections and takes the signals. After a
 * signal it gives the main thread STOP_GRACE seconds to leave its reading, then ends the
 * process itself. */
static void *http_thread(void *arg)
{
	struct server *sv = arg;
	const union MHD_DaemonInfo *info =
	    sv->mhd.MHD_get_daemon_info(sv->d, MHD_DAEMON_INFO_EPOLL_FD);
	struct pollfd pfd[2] = {{.fd = info ? info->epoll_fd : -1, .events = POLLIN},
	                        {.fd = sv->sigfd, .events = POLLIN}};
	struct signalfd_siginfo si;
	struct timespec until;
	bool done;

	for (;;) {
		MHD_UNSIGNED_LONG_LONG ms = 100;
		if (sv->mhd.MHD_get_timeout(sv->d, &ms) == MHD_YES && ms > 100)
			ms = 100;
		poll(pfd, 2, (int)ms);
		if (pfd[1].revents && read(sv->sigfd, &si, sizeof(si)) == sizeof(si))
			break;
		sv->mhd.MHD_run(sv->d);
		reap(sv);
		pthread_mutex_lock(&sv->lock);
		done = sv->reader_done; /* the first reading failed */
		pthread_mutex_unlock(&sv->lock);
		if (done)
			return NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += (long)(STOP_GRACE * 1e9);
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&sv->lock);
	sv->stop = true;
	pthread_cond_broadcast(&sv->changed);
	while (!sv->reader_done &&
	       pthread_cond_timedwait(&sv->changed, &sv->lock, &until) != ETIMEDOUT)
		;
	done = sv->reader_done;
	pthread_mutex_unlock(&sv->lock);
	if (!done)
		_exit(EXIT_OK); /* a reading that does not end: nothing of it is worth waiting */
	return NULL;
}

/* The weight (q) Accept gives the media type type: 0 when it does not name it. */
static double accept_weight(const char *accept, const char *type)
{
	size_t n = strlen(type);

	for (const char *p = accept; p && *p;) {
		p += strspn(p, " \t,");
		if (strncasecmp(p, type, n) == 0 && strchr(" \t;,", p[n])) {
			const char *end = strchr(p, ','), *q = strstr(p, ";q=");
			if (!q || (end && q > end))
				return 1;
			return strtod(q + 3, NULL);
		}
		p = strchr(p, ',');
	}
	return 0;
}

/* True when the scraper prefers OpenMetrics to the text format (as Prometheus does). */
static bool wants_openmetrics(const struct server *sv, struct MHD_Connection *c)
{
	const char *accept = sv->mhd.MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
	double om = accept_weight(accept, "application/openmetrics-text");

	return om > 0 && om >= accept_weight(accept, "text/plain");
}

/* True when the request says it has a body. */
static bool has_body(const struct server *sv, struct MHD_Connection *c)
{
	return sv->mhd.MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	                                           MHD_HTTP_HEADER_CONTENT_LENGTH) ||
	       sv->mhd.MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	                                           MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct server *sv = cls;
	const union MHD_ConnectionInfo *info;
	enum MHD_Result ret;

	(void)version;
	(void)upload_data;
	/* A request with a body, or of another method, is answered at its header: then
	 * libmicrohttpd closes the connection rather than read what the client sends after
	 * it. A GET or HEAD without one is answered at the second call, when the request is
	 * whole, so that the connection can stay open for the next scrape. */
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return sv->mhd.MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, sv->not_allowed);
	if (!*con_cls && !has_body(sv, c)) {
		*con_cls = sv; /* seen: answered at the next call */
		return MHD_YES;
	}
	*upload_data_size = 0;
	info = sv->mhd.MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (info && info->socket_context) { /* its answer's deadline starts */
		((struct conn *)info->socket_context)->busy = true;
		((struct conn *)info->socket_context)->since = monotonic();
	}
	if (strcmp(url, "/") == 0)
		return sv->mhd.MHD_queue_response(c, MHD_HTTP_OK, sv->index);
	if (strcmp(url, "/metrics") != 0)
		return sv->mhd.MHD_queue_response(c, MHD_HTTP_NOT_FOUND, sv->not_found);
	pthread_mutex_lock(&sv->lock);
	if (sv->text)
		ret = sv->mhd.MHD_queue_response(
		    c, MHD_HTTP_OK, wants_openmetrics(sv, c) ? sv->openmetrics : sv->text);
	else /* the first reading is not done */
		ret = sv->mhd.MHD_queue_response(c, MHD_HTTP_SERVICE_UNAVAILABLE, sv->unavailable);
	pthread_mutex_unlock(&sv->lock);
	return ret;
}

/* A response of text (malloc'ed, taken) with its Content-Type; NULL when out of memory. */
static struct MHD_Response *response(const struct server *sv, char *text, size_t len,
                                     const char *type)
{
	struct MHD_Response *r =
	    text ? sv->mhd.MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE) : NULL;

	if (!r) {
		free(text);
		return NULL;
	}
	sv->mhd.MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	return r;
}

/* A response of a constant text. */
static struct MHD_Response *static_response(const struct server *sv, const char *text,
                                            const char *type)
{
	struct MHD_Response *r = sv->mhd.MHD_create_response_from_buffer(strlen(text), (void *)text,
	                                                                 MHD_RESPMEM_PERSISTENT);

	if (r)
		sv->mhd.MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	return r;
}

/* The metrics of m (and ex) in one format, malloc'ed in *text. Returns 0 or -ENOMEM. */
static int render(const struct metrics *m, const struct metrics_exact *ex, size_t top,
                  bool openmetrics, char **text, size_t *len)
{
	FILE *f = open_memstream(text, len);

	if (!f)
		return -ENOMEM;
	metrics_write(f, m, ex, top, openmetrics);
	if (fclose(f) != 0) {
		free(*text);
		*text = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* One reading of the ledger (with exact, the page ledger too, kept in ex), made into the
 * responses the server serves, and with --textfile written to DIR/memledger.prom. Returns
 * EXIT_GO_ON or an exit status after a message (the server keeps the last reading). */
static int refresh(struct server *sv, struct run *run, enum ml_group_key by, bool exact,
                   struct metrics_exact *ex, bool first)
{
	const struct cli *cli = run->cli;
	size_t top = cli->top ? cli->top : 20, len = 0, omlen = 0;
	struct MHD_Response *text = NULL, *om = NULL, *old_text, *old_om;
	char *buf = NULL, *ombuf = NULL;
	struct metrics m;
	int rc = metrics_read(run, by, exact, 0, &m);

	if (rc != EXIT_GO_ON)
		return rc;
	if (first)
		procs_report_unreadable(run, &m.scan);
	m.serving = true;
	m.skipped = sv->skipped;
	if ((exact && metrics_keep_exact(&m, ex) < 0) ||
	    render(&m, ex, top, false, &buf, &len) < 0 ||
	    render(&m, ex, top, true, &ombuf, &omlen) < 0) {
		free(buf);
		metrics_free(&m);
		cli_warn("out of memory");
		return EXIT_ERROR;
	}
	metrics_free(&m);
	if (cli->textfile)
		metrics_textfile(cli->textfile, buf,
		                 len); /* a failure is said; the server goes on */
	text = response(sv, buf, len, TEXT_TYPE);
	om = response(sv, ombuf, omlen, OPENMETRICS_TYPE);
	if (!text || !om) {
		if (text)
			sv->mhd.MHD_destroy_response(text);
		if (om)
			sv->mhd.MHD_destroy_response(om);
		cli_warn("out of memory");
		return EXIT_ERROR;
	}
	pthread_mutex_lock(&sv->lock);
	old_text = sv->text;
	old_om = sv->openmetrics;
	sv->text = text;
	sv->openmetrics = om;
	pthread_mutex_unlock(&sv->lock);
	/* freed when the last connection sending them is done */
	if (old_text)
		sv->mhd.MHD_destroy_response(old_text);
	if (old_om)
		sv->mhd.MHD_destroy_response(old_om);
	return EXIT_GO_ON;
}

/* True when port is a port number: digits alone, 0 (any free port) to 65535. */
static bool port_ok(const char *port)
{
	unsigned long v = 0;

	if (!*port || strlen(port) > 5 || port[strspn(port, "0123456789")])
		return false;
	v = strtoul(port, NULL, 10);
	return v <= 65535;
}

/* "HOST:PORT" as bound (the port the kernel picked for 0) into where[0..len). */
static void bound_name(int fd, const char *host, bool v6, char *where, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t slen = sizeof(ss);
	unsigned port = 0;

	if (getsockname(fd, (struct sockaddr *)&ss, &slen) == 0)
		port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
		                                      : ((struct sockaddr_in *)&ss)->sin_port);
	snprintf(where, len, "%s%s%s:%u", v6 ? "[" : "", *host ? host : "*", v6 ? "]" : "", port);
}

/* Opens, binds and listens on a socket for "HOST:PORT" ("[V6]:PORT"; ":PORT" is every
 * address), and says where in where[0..len) (the port bound, for 0). Returns the socket;
 * -2 after a message for a spec that is wrong (a usage error); -1 after one when it could
 * not listen. */
static int listen_on(const char *spec, char *where, size_t wlen)
{
	char host[256];
	const char *colon = strrchr(spec, ':'), *port;
	struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	                         .ai_socktype = SOCK_STREAM},
	                *ai = NULL, *first;
	size_t hlen;
	int fd = -1, err, one = 1, zero = 0;

	if (!colon || !colon[1]) {
		cli_warn("--listen takes HOST:PORT (as 127.0.0.1:9781, [::1]:9781 or :9781): '%s'",
		         spec);
		return -2;
	}
	port = colon + 1;
	if (!port_ok(port)) {
		cli_warn("--listen: the port is a number from 0 (any free one) to 65535: '%s'",
		         port);
		return -2;
	}
	hlen = (size_t)(colon - spec);
	if (hlen >= 2 && spec[0] == '[' && spec[hlen - 1] == ']') {
		spec++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host)) {
		cli_warn("--listen: host name too long");
		return -2;
	}
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	err = getaddrinfo(hlen ? host : NULL, port, &hints, &ai);
	if (err) {
		cli_warn("--listen %.*s:%s: %s", (int)hlen, host, port, gai_strerror(err));
		return err == EAI_SYSTEM || err == EAI_AGAIN || err == EAI_MEMORY ? -1 : -2;
	}
	first = ai;
	/* every address: IPv6's wildcard takes IPv4 too, where the machine has IPv6 */
	for (struct addrinfo *a = ai; !hlen && a; a = a->ai_next)
		if (a->ai_family == AF_INET6 &&
		    (fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
			close(fd);
			first = a;
			break;
		}
	fd = socket(first->ai_family, first->ai_socktype | SOCK_CLOEXEC, first->ai_protocol);
	if (fd >= 0 && first->ai_family == AF_INET6 && !hlen)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, first->ai_addr, first->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		err = errno;
		cli_warn("cannot listen on %s:%s: %s%s", hlen ? host : "*", port, strerror(err),
		         err == EADDRINUSE ? " (is another memledger serve running? --listen "
		                             "picks another port)"
		                           : "");
		if (fd >= 0)
			close(fd);
		fd = -1;
	} else {
		bound_name(fd, host, first->ai_family == AF_INET6, where, wlen);
	}
	freeaddrinfo(ai);
	return fd;
}

/* True when the process has capability cap in its effective set. */
static bool capable(int cap)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {{0}};

	if (syscall(SYS_capget, &h, d) < 0)
		return false;
	return d[cap / 32].effective & (1u << (cap % 32));
}

/* Says at start what the server can and cannot see. */
static void say_privileges(const struct cli *cli)
{
	if (geteuid() == 0 && !cli->source)
		return;
	if (!cli->source && !capable(CAP_SYS_PTRACE))
		cli_warn("without CAP_SYS_PTRACE only this user's processes can be read; the "
		         "others are counted in memledger_unreadable_processes");
	if (cli->exact && !cli->source &&
	    (!capable(CAP_SYS_ADMIN) || !capable(CAP_DAC_READ_SEARCH)))
		cli_warn("without CAP_SYS_ADMIN (frame numbers) and CAP_DAC_READ_SEARCH "
		         "(/proc/kpagecount) --exact gives no freed, shared_out or group uss");
}

static const char index_page[] =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>memledger</title></head>\n"
    "<body><h1>memledger</h1>\n<p>Memory of every process, as the kernel counts it, "
    "for Prometheus: <a href=\"/metrics\">/metrics</a>.</p>\n</body></html>\n";

static int server_init(struct server *sv)
{
	pthread_condattr_t attr;

	memset(sv, 0, sizeof(*sv));
	if (load_microhttpd(&sv->mhd) < 0)
		return -ENOENT; /* said */
	sv->sigfd = -1;
	pthread_mutex_init(&sv->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&sv->changed, &attr);
	pthread_condattr_destroy(&attr);
	sv->unavailable = static_response(sv, "503 the first reading is not done yet\n",
	                                  "text/plain; charset=utf-8");
	sv->index = static_response(sv, index_page, "text/html; charset=utf-8");
	sv->not_found = static_response(sv, "404 not found: the metrics are at /metrics\n",
	                                "text/plain; charset=utf-8");
	sv->not_allowed = static_response(sv, "405 method not allowed: GET or HEAD\n",
	                                  "text/plain; charset=utf-8");
	if (!sv->index || !sv->not_found || !sv->not_allowed || !sv->unavailable)
		return -ENOMEM;
	sv->mhd.MHD_add_response_header(sv->not_allowed, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	return 0;
}

static void server_free(struct server *sv)
{
	struct MHD_Response *r[] = {sv->text,      sv->openmetrics, sv->index,
	                            sv->not_found, sv->not_allowed, sv->unavailable};

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (r[i])
			sv->mhd.MHD_destroy_response(r[i]);
	while (sv->oldest) { /* libmicrohttpd said each closed: none should be left */
		struct conn *next = sv->oldest->next;
		free(sv->oldest);
		sv->oldest = next;
	}
	pthread_cond_destroy(&sv->changed);
	pthread_mutex_destroy(&sv->lock);
}

/* t + secs. */
static struct timespec later(struct timespec t, double secs)
{
	long ns = (long)(secs * 1e9);

	t.tv_sec += ns / 1000000000L;
	t.tv_nsec += ns % 1000000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

/* True when a is not after b. */
static bool not_after(struct timespec a, struct timespec b)
{
	return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec <= b.tv_nsec);
}

/* Waits until the monotonic clock reaches until, or the HTTP thread says stop. Returns
 * true on stop. */
static bool wait_until(struct server *sv, struct timespec until)
{
	bool stop;

	pthread_mutex_lock(&sv->lock);
	while (!sv->stop && pthread_cond_timedwait(&sv->changed, &sv->lock, &until) != ETIMEDOUT)
		;
	stop = sv->stop;
	pthread_mutex_unlock(&sv->lock);
	return stop;
}

/* True once the HTTP thread has said stop. */
static bool stopping(struct server *sv)
{
	bool stop;

	pthread_mutex_lock(&sv->lock);
	stop = sv->stop;
	pthread_mutex_unlock(&sv->lock);
	return stop;
}

/* Reads on the cadence until the HTTP thread says stop. A reading that overruns the
 * interval makes the ticks it covered skipped, not queued (counted in
 * memledger_skipped_readings_total). Returns the exit status. */
static int refresh_loop(struct server *sv, struct run *run, enum ml_group_key by,
                        struct metrics_exact *ex, struct timespec next_exact)
{
	const struct cli *cli = run->cli;
	double interval = cli->interval > 0 ? cli->interval : 15;
	double exact_interval = cli->exact_interval > 0 ? cli->exact_interval : 60;
	struct timespec next, now;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		next = later(next, interval);
		clock_gettime(CLOCK_MONOTONIC, &now);
		while (not_after(next, now)) { /* the reading before covered this tick */
			next = later(next, interval);
			sv->skipped++;
		}
		if (wait_until(sv, next))
			return EXIT_OK;
		bool exact = cli->exact && not_after(next_exact, next);
		if (exact)
			next_exact = later(next, exact_interval);
		refresh(sv, run, by, exact, ex, false); /* a failure is said; the last one stays */
		if (stopping(sv))
			return EXIT_OK;
	}
}

/* Ends the HTTP thread's wait: the main thread has left its loop. */
static void reader_done(struct server *sv)
{
	pthread_mutex_lock(&sv->lock);
	sv->reader_done = true;
	pthread_cond_broadcast(&sv->changed);
	pthread_mutex_unlock(&sv->lock);
}

/* Starts libmicrohttpd on fd (taken) and the HTTP thread, which takes the signals of set
 * (blocked in every thread). Returns 0, or -1 after a message. */
static int server_start(struct server *sv, int fd, const sigset_t *set, pthread_t *thread)
{
	sv->sigfd = signalfd(-1, set, SFD_CLOEXEC);
	sv->d = sv->mhd.MHD_start_daemon(
	    MHD_USE_EPOLL, 0, NULL, NULL, on_request, sv, MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_DEADLINE, MHD_OPTION_CONNECTION_LIMIT,
	    CONN_LIMIT, MHD_OPTION_NOTIFY_CONNECTION, on_connection, sv,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, sv, MHD_OPTION_END);
	if (sv->sigfd < 0 || !sv->d || pthread_create(thread, NULL, http_thread, sv) != 0) {
		cli_warn("cannot start the HTTP server");
		if (sv->d)
			sv->mhd.MHD_stop_daemon(sv->d); /* closes fd */
		else
			close(fd);
		if (sv->sigfd >= 0)
			close(sv->sigfd);
		sv->d = NULL;
		return -1;
	}
	return 0;
}

int cmd_serve(struct run *run)
{
	struct cli *cli = run->cli;
	int by = cli_group_key(cli->group_by), fd, rc;
	struct metrics_exact ex = {0};
	struct timespec start;
	struct server sv;
	pthread_t thread;
	char where[300];
	sigset_t set;

	if (cli->noperands) {
		cli_warn("serve takes no operands: '%s'", cli->operands[0]);
		return EXIT_USAGE;
	}
	if (cli->count) {
		cli_warn("serve does not use -c: it serves until SIGINT or SIGTERM");
		return EXIT_USAGE;
	}
	if (cli->exact_interval > 0 && !cli->exact) {
		cli_warn("--exact-interval needs --exact");
		return EXIT_USAGE;
	}
	if (by < 0 || metrics_textfile_check(cli->textfile) != EXIT_OK)
		return EXIT_USAGE;
	if ((rc = server_init(&sv)) < 0) {
		if (rc == -ENOMEM)
			cli_warn("out of memory");
		server_free(&sv);
		return EXIT_ERROR;
	}
	if ((fd = listen_on(cli->listen ? cli->listen : SERVE_DEFAULT_LISTEN, where,
	                    sizeof(where))) < 0) {
		server_free(&sv);
		return fd == -2 ? EXIT_USAGE : EXIT_ERROR;
	}
	/* the signals that stop it, taken by the HTTP thread (signalfd); every thread blocks
	 * them, the reading one included */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	say_privileges(cli);
	clock_gettime(CLOCK_MONOTONIC, &start);
	if (server_start(&sv, fd, &set, &thread) < 0) {
		server_free(&sv);
		return EXIT_ERROR;
	}
	/* the first reading with the server up: a signal during it is seen, and a scrape is
	 * answered 503 until it is there */
	rc = refresh(&sv, run, (enum ml_group_key)by, cli->exact, &ex, true);
	if (rc == EXIT_GO_ON && !stopping(&sv)) {
		cli_warn("serving http://%s/metrics, read every %g s%s", where,
		         cli->interval > 0 ? cli->interval : 15,
		         cli->exact ? ", pages every --exact-interval" : "");
		rc = refresh_loop(&sv, run, (enum ml_group_key)by, &ex,
		                  later(start, cli->exact_interval > 0 ? cli->exact_interval : 60));
	} else if (rc == EXIT_GO_ON) {
		rc = EXIT_OK;
	}
	reader_done(&sv); /* the HTTP thread ends too */
	pthread_join(thread, NULL);
	sv.mhd.MHD_stop_daemon(sv.d); /* closes fd and every connection */
	close(sv.sigfd);
	server_free(&sv);
	metrics_exact_free(&ex);
	return rc;
}
