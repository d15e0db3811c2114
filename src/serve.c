/*
 * memledger serve: an HTTP server (libmicrohttpd, one internal epoll thread) that serves
 * the latest reading of the ledger as Prometheus metrics. The main thread reads the
 * ledger on its cadence and swaps in the new responses; a scrape only queues the latest
 * response (libmicrohttpd counts its references), so N scrapers cost one reading and a
 * scrape costs the time to send the text. Requests are never read beyond their header:
 * GET and HEAD of / and /metrics, 404 for any other path, 405 for any other method.
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
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "export.h"
#include "metrics.h"
#include "procs.h"
#include "serve.h"

#define TEXT_TYPE        "text/plain; version=0.0.4; charset=utf-8"
#define OPENMETRICS_TYPE "application/openmetrics-text; version=1.0.0; charset=utf-8"

/* What the server serves; the metrics are swapped under lock at each reading. */
struct server {
	pthread_mutex_t lock;
	struct MHD_Response *text;        /* the latest metrics, text exposition format */
	struct MHD_Response *openmetrics; /* the same in OpenMetrics */
	struct MHD_Response *index, *not_found, *not_allowed;
};

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
static bool wants_openmetrics(struct MHD_Connection *c)
{
	const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
	double om = accept_weight(accept, "application/openmetrics-text");

	return om > 0 && om >= accept_weight(accept, "text/plain");
}

/* True when the request says it has a body. */
static bool has_body(struct MHD_Connection *c)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH) ||
	       MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct server *sv = cls;
	enum MHD_Result ret;

	(void)version;
	(void)upload_data;
	/* A request with a body, or of another method, is answered at its header: then
	 * libmicrohttpd closes the connection rather than read what the client sends after
	 * it. A GET or HEAD without one is answered at the second call, when the request is
	 * whole, so that the connection can stay open for the next scrape. */
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, sv->not_allowed);
	if (!*con_cls && !has_body(c)) {
		*con_cls = sv; /* seen: answered at the next call */
		return MHD_YES;
	}
	*upload_data_size = 0;
	if (strcmp(url, "/") == 0)
		return MHD_queue_response(c, MHD_HTTP_OK, sv->index);
	if (strcmp(url, "/metrics") != 0)
		return MHD_queue_response(c, MHD_HTTP_NOT_FOUND, sv->not_found);
	pthread_mutex_lock(&sv->lock);
	ret = MHD_queue_response(c, MHD_HTTP_OK, wants_openmetrics(c) ? sv->openmetrics : sv->text);
	pthread_mutex_unlock(&sv->lock);
	return ret;
}

/* A response of text (malloc'ed, taken) with its Content-Type; NULL when out of memory. */
static struct MHD_Response *response(char *text, size_t len, const char *type)
{
	struct MHD_Response *r =
	    text ? MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE) : NULL;

	if (!r) {
		free(text);
		return NULL;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	return r;
}

/* A response of a constant text. */
static struct MHD_Response *static_response(const char *text, const char *type)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);

	if (r)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
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
static int refresh(struct server *sv, struct cli *cli, enum group_key by, bool exact,
                   struct metrics_exact *ex, bool first)
{
	size_t top = cli->top ? cli->top : 20, len = 0, omlen = 0;
	struct MHD_Response *text = NULL, *om = NULL, *old_text, *old_om;
	char *buf = NULL, *ombuf = NULL;
	struct metrics m;
	int rc = metrics_read(cli, by, exact, 0, &m);

	if (rc != EXIT_GO_ON)
		return rc;
	if (first)
		procs_report_unreadable(cli, &m.scan);
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
		export_textfile(cli->textfile, buf,
		                len); /* a failure is said; the server goes on */
	text = response(buf, len, TEXT_TYPE);
	om = response(ombuf, omlen, OPENMETRICS_TYPE);
	if (!text || !om) {
		if (text)
			MHD_destroy_response(text);
		if (om)
			MHD_destroy_response(om);
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
		MHD_destroy_response(old_text);
	if (old_om)
		MHD_destroy_response(old_om);
	return EXIT_GO_ON;
}

/* Opens, binds and listens on a socket for "HOST:PORT" ("[V6]:PORT"; ":PORT" is every
 * address). Returns the socket, or -1 after a message. */
static int listen_on(const char *spec)
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
		return -1;
	}
	port = colon + 1;
	hlen = (size_t)(colon - spec);
	if (hlen >= 2 && spec[0] == '[' && spec[hlen - 1] == ']') {
		spec++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host)) {
		cli_warn("--listen: host name too long");
		return -1;
	}
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	err = getaddrinfo(hlen ? host : NULL, port, &hints, &ai);
	if (err) {
		cli_warn("--listen %.*s:%s: %s", (int)hlen, host, port, gai_strerror(err));
		return -1;
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
	memset(sv, 0, sizeof(*sv));
	pthread_mutex_init(&sv->lock, NULL);
	sv->index = static_response(index_page, "text/html; charset=utf-8");
	sv->not_found = static_response("404 not found: the metrics are at /metrics\n",
	                                "text/plain; charset=utf-8");
	sv->not_allowed =
	    static_response("405 method not allowed: GET or HEAD\n", "text/plain; charset=utf-8");
	if (!sv->index || !sv->not_found || !sv->not_allowed)
		return -ENOMEM;
	MHD_add_response_header(sv->not_allowed, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	return 0;
}

static void server_free(struct server *sv)
{
	struct MHD_Response *r[] = {sv->text, sv->openmetrics, sv->index, sv->not_found,
	                            sv->not_allowed};

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (r[i])
			MHD_destroy_response(r[i]);
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

/* Waits until the monotonic clock reaches until, or a signal of set comes. Returns true
 * when a signal came. */
static bool wait_until(const sigset_t *set, struct timespec until)
{
	for (;;) {
		struct timespec now, left;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (not_after(until, now))
			return false;
		left.tv_sec = until.tv_sec - now.tv_sec;
		left.tv_nsec = until.tv_nsec - now.tv_nsec;
		if (left.tv_nsec < 0) {
			left.tv_sec--;
			left.tv_nsec += 1000000000L;
		}
		if (sigtimedwait(set, NULL, &left) > 0)
			return true;
	}
}

/* Reads on the cadence until a signal of set comes. Returns the exit status. */
static int refresh_loop(struct server *sv, struct cli *cli, enum group_key by,
                        struct metrics_exact *ex, const sigset_t *set, struct timespec next_exact)
{
	double interval = cli->interval > 0 ? cli->interval : 15;
	double exact_interval = cli->exact_interval > 0 ? cli->exact_interval : 60;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		next = later(next, interval);
		if (wait_until(set, next))
			return EXIT_OK;
		bool exact = cli->exact && not_after(next_exact, next);
		if (exact)
			next_exact = later(next, exact_interval);
		refresh(sv, cli, by, exact, ex, false); /* a failure is said; the last one stays */
	}
}

int serve_run(struct cli *cli)
{
	int by = grouping_key(cli->group_by), fd, rc;
	struct metrics_exact ex = {0};
	struct MHD_Daemon *d;
	struct timespec start;
	struct server sv;
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
	if (by < 0)
		return EXIT_USAGE;
	if ((fd = listen_on(cli->listen ? cli->listen : SERVE_DEFAULT_LISTEN)) < 0)
		return EXIT_ERROR;
	/* the signals that stop it, waited for by the main thread; the server's thread
	 * inherits the mask */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	say_privileges(cli);
	clock_gettime(CLOCK_MONOTONIC, &start);
	if (server_init(&sv) < 0) {
		cli_warn("out of memory");
		rc = EXIT_ERROR;
	} else {
		rc = refresh(&sv, cli, (enum group_key)by, cli->exact, &ex, true);
	}
	if (rc != EXIT_GO_ON) {
		close(fd);
		server_free(&sv);
		metrics_exact_free(&ex);
		return rc;
	}
	cli_warn("serving http://%s/metrics, read every %g s%s",
	         cli->listen ? cli->listen : SERVE_DEFAULT_LISTEN,
	         cli->interval > 0 ? cli->interval : 15,
	         cli->exact ? ", pages every --exact-interval" : "");
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
	                     on_request, &sv, MHD_OPTION_LISTEN_SOCKET, fd,
	                     MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_CONNECTION_LIMIT, 512u,
	                     MHD_OPTION_END);
	if (!d) {
		cli_warn("cannot start the HTTP server");
		close(fd);
		rc = EXIT_ERROR;
	} else {
		rc = refresh_loop(&sv, cli, (enum group_key)by, &ex, &set,
		                  later(start, cli->exact_interval > 0 ? cli->exact_interval : 60));
		MHD_stop_daemon(d); /* closes fd */
	}
	server_free(&sv);
	metrics_exact_free(&ex);
	return rc;
}
