/*
 * memledger top: memory over time, refresh after refresh. Each refresh reads status of
 * every process (cheap counters: the footprint, RSS) and smaps_rollup (PSS) only every
 * --pss-every refreshes; GROWTH is the least-squares slope of each process's footprint
 * over a sliding window, and a process that grew steadily over it is a leak suspect.
 * Batch mode (-b) writes frames as text or NDJSON, as top -b does.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "memledger/ledger.h"
#include "memledger/system.h"
#include "memledger/trend.h"
#include "procs.h"
#include "top.h"
#include "users.h"
#include "view.h"

/* A process followed from refresh to refresh (matched by PID and start time). */
struct tracked {
	pid_t pid;
	uint64_t start;
	struct ml_trend trend;                /* of its footprint */
	uint64_t footprint, before, at_start; /* now, at the refresh before, when first seen */
	uint64_t rss, pss;                    /* pss: the last read, ML_UNKNOWN before one */
	uint64_t uid;
	char *command;
	struct ml_trend_fit fit;
	bool seen; /* in this refresh */
};

struct top {
	struct cli cli;
	bool batch;
	unsigned long frames; /* -n: 0 until interrupted */
	double delay, window, floor;
	unsigned pss_every;
	struct tracked *v;
	size_t n, cap;
	struct user_cache users;
	unsigned long refresh;
};

enum field { F_PID, F_USER, F_FOOTPRINT, F_CHANGE, F_SINCE, F_GROWTH, F_LEAK, F_RSS, F_PSS, F_CMD };

static const struct colinfo infos[] = {
    {"PID", COL_COUNT, OUT_RIGHT, F_PID, "process ID", 0, VIEW_TOTAL_NONE},
    {"USER", COL_STR, 0, F_USER, "effective user", 0, VIEW_TOTAL_NONE},
    {"FOOTPRINT", COL_SIZE, OUT_RIGHT, F_FOOTPRINT, "anonymous resident + swap (RssAnon+VmSwap)", 0,
     VIEW_TOTAL_SUM},
    {"CHANGE", COL_DELTA, OUT_RIGHT, F_CHANGE, "FOOTPRINT since the refresh before", 0,
     VIEW_TOTAL_SUM},
    {"SINCE", COL_DELTA, OUT_RIGHT, F_SINCE, "FOOTPRINT since top first saw it", 0, VIEW_TOTAL_SUM},
    {"GROWTH", COL_DELTA, OUT_RIGHT, F_GROWTH,
     "FOOTPRINT's least-squares slope over the window, per minute", 0, VIEW_TOTAL_SUM},
    {"LEAK", COL_STR, 0, F_LEAK,
     "leak?: grew steadily over the window (a line fits; no sawtooth; above --floor)", 0,
     VIEW_TOTAL_NONE},
    {"RSS", COL_SIZE, OUT_RIGHT, F_RSS, "resident (status VmRSS)", 0, VIEW_TOTAL_SUM},
    {"PSS", COL_SIZE, OUT_RIGHT, F_PSS, "proportional (smaps_rollup, every --pss-every refreshes)",
     0, VIEW_TOTAL_SUM},
    {"COMMAND", COL_STR, OUT_TRUNC | OUT_PATHS, F_CMD, "command line", 0, VIEW_TOTAL_NONE},
};
static const char *const defaults[] = {"PID",    "USER", "FOOTPRINT", "CHANGE", "SINCE",
                                       "GROWTH", "LEAK", "RSS",       "PSS",    "COMMAND"};
static const struct view_cols top_cols = VIEW_COLS(infos, defaults);

static uint64_t delta(uint64_t now, uint64_t then)
{
	return now == ML_UNKNOWN || then == ML_UNKNOWN ? ML_UNKNOWN : now - then;
}

static uint64_t row_number(const void *row, const struct colinfo *c)
{
	const struct tracked *p = *(const struct tracked *const *)row;

	switch (c->id) {
	case F_PID: return (uint64_t)p->pid;
	case F_FOOTPRINT: return p->footprint;
	case F_CHANGE: return delta(p->footprint, p->before);
	case F_SINCE: return delta(p->footprint, p->at_start);
	case F_GROWTH: return p->fit.n >= 2 ? (uint64_t)(int64_t)(p->fit.slope * 60) : ML_UNKNOWN;
	case F_RSS: return p->rss;
	case F_PSS: return p->pss;
	default: return ML_UNKNOWN;
	}
}

static struct user_cache *row_users; /* for row_text: the table's rows hold no context */

static const char *row_text(const void *row, const struct colinfo *c)
{
	const struct tracked *p = *(const struct tracked *const *)row;

	switch (c->id) {
	case F_USER: return user_cache_name(row_users, p->uid);
	case F_LEAK: return p->fit.suspect ? "leak?" : "";
	case F_CMD: return p->command;
	default: return NULL;
	}
}

/* The tracked process pid started at start, made when new. NULL when out of memory. */
static struct tracked *track(struct top *tp, const struct ml_proc *p)
{
	struct tracked *t;

	for (size_t i = 0; i < tp->n; i++)
		if (tp->v[i].pid == p->pid && tp->v[i].start == p->stat.starttime)
			return &tp->v[i];
	if (tp->n == tp->cap) {
		size_t cap = tp->cap ? tp->cap * 2 : 256;
		struct tracked *v = realloc(tp->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		tp->v = v;
		tp->cap = cap;
	}
	t = &tp->v[tp->n];
	memset(t, 0, sizeof(*t));
	t->pid = p->pid;
	t->start = p->stat.starttime;
	t->pss = t->before = t->at_start = ML_UNKNOWN;
	t->command = procs_command(p);
	if (!t->command)
		return NULL;
	ml_trend_init(&t->trend);
	tp->n++;
	return t;
}

/* Forgets the processes this refresh did not see: gone. */
static void forget_gone(struct top *tp)
{
	size_t out = 0;

	for (size_t i = 0; i < tp->n; i++) {
		if (!tp->v[i].seen) {
			free(tp->v[i].command);
			continue;
		}
		tp->v[out++] = tp->v[i];
	}
	tp->n = out;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One refresh: status of every process, smaps_rollup every pss_every. Returns EXIT_GO_ON
 * or an exit status. */
static int refresh(struct top *tp)
{
	bool pss = tp->refresh % tp->pss_every == 0;
	unsigned needs =
	    ML_NEED_STAT | ML_NEED_STATUS | ML_NEED_CMDLINE | (pss ? ML_NEED_ROLLUP : 0);
	double t = now_seconds();
	struct ml_scan s;
	int rc = procs_scan(&tp->cli, needs | procs_filter_needs(&tp->cli), NULL, NULL, &s);

	if (rc != EXIT_GO_ON)
		return rc;
	for (size_t i = 0; i < tp->n; i++)
		tp->v[i].seen = false;
	for (size_t i = 0; i < s.nprocs && rc == EXIT_GO_ON; i++) {
		const struct ml_proc *p = &s.procs[i];
		struct tracked *tr = track(tp, p);
		if (!tr) {
			cli_warn("out of memory");
			rc = EXIT_ERROR;
			break;
		}
		tr->seen = true;
		tr->before = tr->trend.n ? tr->footprint : ML_UNKNOWN;
		tr->footprint = ml_proc_metric(p, ML_FOOTPRINT);
		if (tr->at_start == ML_UNKNOWN)
			tr->at_start = tr->footprint;
		tr->rss = p->status.vm_rss;
		tr->uid = ml_proc_uid(p);
		if (pss)
			tr->pss = ml_proc_metric(p, ML_PSS);
		ml_trend_add(&tr->trend, t, tr->footprint, tp->window);
		ml_trend_fit(&tr->trend, tp->window, tp->floor, &tr->fit);
	}
	procs_report_unreadable(&tp->cli, &s);
	ml_scan_free(&s);
	forget_gone(tp);
	tp->refresh++;
	return rc;
}

/* The system's main rows, as the header says them. */
struct header {
	uint64_t anon, cache, shmem, kernel, free, swap, compressed;
	double some10;
	bool known;
};

static void read_header(struct top *tp, struct header *h)
{
	struct ml_system sys;
	struct ml_source *src = cli_open_source(&tp->cli, 0, false);

	memset(h, 0, sizeof(*h));
	if (!src)
		return;
	if (ml_system_read(src, &sys) == 0) {
		h->known = true;
		for (size_t i = 0; i < sys.nrows; i++) {
			const struct ml_system_row *r = &sys.rows[i];
			uint64_t *slot = !strcmp(r->name, "anonymous")    ? &h->anon
			                 : !strcmp(r->name, "page cache") ? &h->cache
			                 : !strcmp(r->name, "shmem")      ? &h->shmem
			                 : !strcmp(r->name, "kernel")     ? &h->kernel
			                 : !strcmp(r->name, "free")       ? &h->free
			                 : !strcmp(r->name, "compressed") ? &h->compressed
			                                                  : NULL;
			if (slot && r->depth == 0)
				*slot = r->bytes;
		}
		h->swap = sys.swap_used;
		h->some10 = sys.pressure_some[0];
	}
	ml_source_free(src);
}

static void print_header_text(const struct top *tp, const struct header *h, const char *when)
{
	char b[7][16];
	const uint64_t v[7] = {h->anon, h->cache, h->shmem,     h->kernel,
	                       h->free, h->swap,  h->compressed};

	printf("memledger top - %s, refresh %lu, window %gs\n", when, tp->refresh, tp->window);
	if (!h->known)
		return;
	for (int i = 0; i < 7; i++)
		out_size_text(&tp->cli.out, v[i], b[i], sizeof(b[i]));
	printf("Mem: %s anonymous, %s page cache, %s shmem, %s kernel, %s free\n", b[0], b[1], b[2],
	       b[3], b[4]);
	if (h->some10 >= 0)
		printf("Swap: %s used, %s compressed; pressure some avg10 %.2f%%\n\n", b[5], b[6],
		       h->some10);
	else
		printf("Swap: %s used, %s compressed\n\n", b[5], b[6]);
}

static void print_header_json(struct json *j, const struct header *h)
{
	const char *names[] = {"anonymous", "page_cache", "shmem",     "kernel",
	                       "free",      "swap_used",  "compressed"};
	const uint64_t v[7] = {h->anon, h->cache, h->shmem,     h->kernel,
	                       h->free, h->swap,  h->compressed};

	json_key(j, "system");
	json_object_begin(j);
	for (int i = 0; i < 7; i++)
		json_pair_u64(j, names[i], h->known ? v[i] : ML_UNKNOWN);
	json_object_end(j);
}

/* One frame: the header and the rows, sorted. Returns EXIT_OK or EXIT_ERROR. */
static int print_frame(struct top *tp, const struct colinfo **cols, int ncols,
                       const struct colinfo *key)
{
	struct tracked **rows = malloc((tp->n + 1) * sizeof(*rows));
	struct view_rows r = {.rows = rows,
	                      .n = tp->n,
	                      .size = sizeof(*rows),
	                      .number = row_number,
	                      .text = row_text};
	const struct colinfo *tie = view_column(&top_cols, "FOOTPRINT", 9);
	struct header h;
	struct out_table *t;
	struct json j;
	char when[40];
	time_t now = time(NULL);
	int rc;

	if (!rows)
		return EXIT_ERROR;
	for (size_t i = 0; i < tp->n; i++)
		rows[i] = &tp->v[i];
	row_users = &tp->users;
	/* growth first: the change columns from the largest, -r from the smallest */
	view_sort(&r, key, tie,
	          key && (key->type == COL_DELTA || key->type == COL_SIZE) ? !tp->cli.reverse
	                                                                   : tp->cli.reverse);
	read_header(tp, &h);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	t = view_table(&tp->cli, "processes", &r, cols, ncols);
	json_init(&j, stdout);
	if (!t) {
		free(rows);
		return EXIT_ERROR;
	}
	if (tp->cli.out.format == OUT_JSON) {
		json_set_frame(when);
		json_object_begin(&j);
		json_pair_u64(&j, "refresh", tp->refresh);
		print_header_json(&j, &h);
		rc = out_table_print_free(t, &j);
		json_object_end(&j);
		json_finish(&j);
		json_set_frame(NULL);
	} else {
		print_header_text(tp, &h, when);
		rc = out_table_print_free(t, &j);
		if (tp->cli.out.format != OUT_CSV)
			putchar('\n');
	}
	free(rows);
	fflush(stdout);
	return rc < 0 ? EXIT_ERROR : EXIT_OK;
}

static volatile sig_atomic_t stop_top;

static void on_stop(int sig)
{
	(void)sig;
	stop_top = 1;
}

static void usage(FILE *f)
{
	fputs("Usage:\n memledger top -b [-n N] [-d SECS] [options]\n\n"
	      "Memory over time: each refresh reads every process's status (footprint, RSS),\n"
	      "smaps_rollup (PSS) every --pss-every refreshes; GROWTH is the slope of the\n"
	      "footprint over the window, per minute, and LEAK marks steady growth.\n\n"
	      "Options:\n"
	      " -b, --batch            write frames as text (or -J: NDJSON), as top -b\n"
	      " -n, --iterations <n>   so many frames (default: until interrupted)\n"
	      " -d, --delay <secs>     between refreshes (default 2)\n"
	      "     --window <secs>    GROWTH's window (default 30)\n"
	      "     --floor <bytes>    LEAK: growth per minute above this (default 1048576)\n"
	      "     --pss-every <n>    read PSS every n refreshes (default 5)\n"
	      " -p, --pid <list>       only these processes\n"
	      " -o, --output <list>    columns (+COL adds); -s, --sort <column>; -r, --reverse\n"
	      " -J, --json             NDJSON: a document a frame, with \"time\"\n"
	      "     --csv, --raw, -t (totals), --bytes\n"
	      " -h, --help             this help\n\n"
	      "Columns:\n",
	      f);
	view_list_columns(&top_cols, f);
}

/* Parses top's own options: top(1)'s -b, -n and -d, and memledger's where they do not
 * clash (-b is --bytes and -n --noheadings elsewhere). Returns EXIT_GO_ON or a status. */
static int parse(struct top *tp, int argc, char **argv)
{
	enum { O_WINDOW = 256, O_FLOOR, O_PSS, O_CSV, O_RAW, O_BYTES };
	static const struct option longopts[] = {{"batch", no_argument, NULL, 'b'},
	                                         {"iterations", required_argument, NULL, 'n'},
	                                         {"delay", required_argument, NULL, 'd'},
	                                         {"window", required_argument, NULL, O_WINDOW},
	                                         {"floor", required_argument, NULL, O_FLOOR},
	                                         {"pss-every", required_argument, NULL, O_PSS},
	                                         {"pid", required_argument, NULL, 'p'},
	                                         {"output", required_argument, NULL, 'o'},
	                                         {"sort", required_argument, NULL, 's'},
	                                         {"reverse", no_argument, NULL, 'r'},
	                                         {"json", no_argument, NULL, 'J'},
	                                         {"csv", no_argument, NULL, O_CSV},
	                                         {"raw", no_argument, NULL, O_RAW},
	                                         {"bytes", no_argument, NULL, O_BYTES},
	                                         {"totals", no_argument, NULL, 't'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	char *end;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":bn:d:p:o:s:rJth", longopts, NULL)) != -1) {
		double v;
		switch (c) {
		case 'b': tp->batch = true; break;
		case 'n':
			tp->frames = strtoul(optarg, &end, 10);
			if (*end || !tp->frames || optarg[0] == '-')
				goto bad;
			break;
		case 'd':
		case O_WINDOW:
		case O_FLOOR:
			v = strtod(optarg, &end);
			if (end == optarg || *end || !(v > 0 && v <= 86400.0 * 365))
				goto bad;
			*(c == 'd' ? &tp->delay : c == O_WINDOW ? &tp->window : &tp->floor) = v;
			break;
		case O_PSS:
			tp->pss_every = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !tp->pss_every || optarg[0] == '-')
				goto bad;
			break;
		case 'p':
			if (cli_add_pids(&tp->cli, optarg) < 0)
				goto bad;
			break;
		case 'o': tp->cli.columns = optarg; break;
		case 's': tp->cli.sort = optarg; break;
		case 'r': tp->cli.reverse = true; break;
		case 't': tp->cli.totals = true; break;
		case 'J': tp->cli.out.format = OUT_JSON; break;
		case O_CSV: tp->cli.out.format = OUT_CSV; break;
		case O_RAW: tp->cli.out.format = OUT_RAW; break;
		case O_BYTES: tp->cli.out.bytes = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		default:
			cli_warn("top: unknown option or missing argument: '%s'", argv[optind - 1]);
			fputs("Try 'memledger top --help' for more information.\n", stderr);
			return EXIT_USAGE;
		}
		continue;
	bad:
		cli_warn("top: bad value for '%s': '%s'", argv[optind - 2 < 0 ? 0 : optind - 2],
		         optarg);
		return EXIT_USAGE;
	}
	if (optind < argc) {
		cli_warn("top takes no operands: '%s' (-p PIDS)", argv[optind]);
		return EXIT_USAGE;
	}
	return EXIT_GO_ON;
}

int top_main(int argc, char **argv)
{
	struct top tp = {.delay = 2, .window = 30, .floor = 1 << 20, .pss_every = 5};
	const struct colinfo *cols[VIEW_MAX_COLS], *key;
	struct sigaction sa = {.sa_handler = on_stop};
	struct timespec next;
	int ncols, rc;

	memset(&tp.cli, 0, sizeof(tp.cli));
	tp.cli.command = "top";
	rc = parse(&tp, argc, argv);
	if (rc == EXIT_GO_ON)
		rc = view_begin(&tp.cli, &top_cols, false, "GROWTH", "FOOTPRINT", cols, &ncols,
		                &key);
	if (rc == EXIT_GO_ON && !tp.batch) {
		cli_warn("top: the full-screen view is not built yet: use -b (batch)");
		rc = EXIT_USAGE;
	}
	if (rc != EXIT_GO_ON) {
		free(tp.cli.pids);
		return rc;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	clock_gettime(CLOCK_MONOTONIC, &next);
	rc = EXIT_OK;
	for (unsigned long f = 0; !stop_top && (!tp.frames || f < tp.frames); f++) {
		long step = (long)(tp.delay * 1e9);
		if (f) {
			next.tv_sec += step / 1000000000L;
			next.tv_nsec += step % 1000000000L;
			if (next.tv_nsec >= 1000000000L) {
				next.tv_sec++;
				next.tv_nsec -= 1000000000L;
			}
			while (!stop_top && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next,
			                                    NULL) == EINTR)
				;
			if (stop_top)
				break;
		}
		rc = refresh(&tp);
		if (rc == EXIT_GO_ON)
			rc = print_frame(&tp, cols, ncols, key);
		if (rc != EXIT_OK)
			break;
	}
	for (size_t i = 0; i < tp.n; i++)
		free(tp.v[i].command);
	free(tp.v);
	user_cache_free(&tp.users);
	free(tp.cli.pids);
	return rc;
}
