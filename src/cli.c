#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "memledger/group.h"
#include "memledger/pages.h"
#include "memledger/source.h"

#ifndef MEMLEDGER_VERSION
#define MEMLEDGER_VERSION "unknown"
#endif

struct ml_source *cli_open_source(const struct cli *cli, unsigned needs, bool only_pids)
{
	struct ml_source_want want = {.needs = needs,
	                              .pids = only_pids ? cli->pids : NULL,
	                              .npids = only_pids ? cli->npids : 0};
	char err[512];
	struct ml_source *src = ml_source_open_for(cli->source, &want, err, sizeof(err));

	if (!src)
		cli_warn("cannot open %s: %s", cli->source ? cli->source : "/proc", err);
	return src;
}

static bool pid_listed(const struct cli *cli, pid_t pid)
{
	for (size_t i = 0; i < cli->npids; i++)
		if (cli->pids[i] == pid)
			return true;
	return false;
}

bool cli_wants_pid(const struct cli *cli, pid_t pid)
{
	return cli->npids == 0 || pid_listed(cli, pid);
}

int cli_add_pids(struct cli *cli, const char *arg)
{
	const char *p = arg;
	char *end;

	while (*p) {
		long v;
		pid_t *grown;

		errno = 0;
		v = strtol(p, &end, 10);
		if (errno || end == p || v <= 0 || v > INT_MAX || (*end && *end != ','))
			return -EINVAL;
		p = *end ? end + 1 : end;
		if (pid_listed(cli, (pid_t)v))
			continue; /* -p 7,7 is one row */
		grown = realloc(cli->pids, (cli->npids + 1) * sizeof(*cli->pids));
		if (!grown)
			return -ENOMEM;
		cli->pids = grown;
		cli->pids[cli->npids++] = (pid_t)v;
	}
	return cli->npids ? 0 : -EINVAL;
}

/* Resolves a user name or numeric UID. Returns 0 or -ENOENT. */
static int parse_user(const char *arg, struct cli *cli)
{
	struct passwd *pw = getpwnam(arg);
	char *end;
	unsigned long v;

	if (pw) {
		cli->uid = pw->pw_uid;
		cli->have_uid = true;
		return 0;
	}
	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || v > UINT_MAX - 1)
		return -ENOENT;
	cli->uid = (uid_t)v;
	cli->have_uid = true;
	return 0;
}

static int parse_threads(const char *arg, struct cli *cli)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (end == arg || *end || v < 1 || v > 8)
		return -EINVAL;
	cli->threads = (unsigned)v;
	return 0;
}

/* Parses --owner into cli->owner, in the order of enum ml_owner. Returns 0 or -EINVAL. */
int cli_choice(const char *option, const char *const *names, size_t n, const char *arg)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(arg, names[i]) == 0)
			return (int)i;
	char list[256];
	size_t len = 0;

	for (size_t i = 0; i < n && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", names[i],
		                        i + 2 < n    ? ", "
		                        : i + 2 == n ? " or "
		                                     : "");
	cli_warn("%s takes %s: '%s'", option, list, arg);
	return -1;
}

int cli_group_key(const char *by)
{
	return cli_choice("--by", ml_group_key_names, ML_BY_COUNT, by ? by : "comm");
}

enum {
	OPT_LIST_COLUMNS = 256,
	OPT_CSV,
	OPT_RAW,
	OPT_SOURCE,
	OPT_THREADS,
	OPT_MERGE,
	OPT_PRIVATE,
	OPT_PROCS,
	OPT_ALL,
	OPT_BY,
	OPT_ADB,
	OPT_ROOT,
	OPT_OWNER,
	OPT_EXACT,
	OPT_REDACT,
	OPT_REDACT_KEY,
	OPT_MAPPINGS,
	OPT_CLASSES,
	OPT_DELTA,
	OPT_TEXTFILE,
	OPT_TOP,
	OPT_LISTEN,
	OPT_EXACT_INTERVAL,
	OPT_CHART,
	OPT_DIFF,
	OPT_POLICY,
	OPT_CGROUP,
	OPT_NEED,
	OPT_MIN_ADJ
};

/* A size: a number of bytes, or with K, M, G or T (powers of 1024; KiB, MB... alike) its
 * multiple, into *bytes. Returns 0 or -EINVAL. */
static int parse_size(const char *arg, uint64_t *bytes)
{
	static const char units[] = "KMGT";
	char *end;
	double v = strtod(arg, &end);
	const char *u = end[0] ? strchr(units, toupper((unsigned char)end[0])) : NULL;
	double scale = u ? (double)(1ull << (10 * (u - units + 1))) : 1;

	if (end == arg || arg[0] == '-' || !(v >= 0))
		return -EINVAL;
	if (end[0] && (!u || (end[1] && strcmp(end + 1, "B") != 0 && strcmp(end + 1, "iB") != 0 &&
	                      strcmp(end + 1, "b") != 0)))
		return -EINVAL;
	if (v * scale > 1e18)
		return -EINVAL;
	*bytes = (uint64_t)(v * scale);
	return 0;
}

/* -i, --exact-interval: seconds, a decimal number from 0.01 to a day, into *secs.
 * Returns 0 or -EINVAL. */
static int parse_interval(const char *arg, double *secs)
{
	char *end;
	double v = strtod(arg, &end);

	if (end == arg || *end || !(v >= 0.01 && v <= 86400))
		return -EINVAL;
	*secs = v;
	return 0;
}

/* -c: a count from 1 on. Returns 0 or -EINVAL. */
static int parse_count(const char *arg, struct cli *cli)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (end == arg || *end || arg[0] == '-' || errno || v == 0)
		return -EINVAL;
	cli->count = v;
	return 0;
}

/* Every option, once: getopt's table, the bit a view uses it by, and its --help lines
 * (in the order --help shows them) are all made from this. */
static const struct cli_option_info {
	const char *name; /* the long name */
	int has_arg;
	int val;             /* the short option's letter, or OPT_* */
	enum cli_option bit; /* 0: every view's (-h, -V) */
	const char *help;
} options[] = {
    {"output", required_argument, 'o', CLI_COLUMNS,
     " -o, --output <list>    columns to show (+COL adds to the defaults)\n"},
    {"list-columns", no_argument, OPT_LIST_COLUMNS, CLI_LIST,
     "     --list-columns     list the columns and what they mean\n"},
    {"sort", required_argument, 's', CLI_SORT,
     " -s, --sort <column>    sort by this column, ascending (in a tree: siblings)\n"},
    {"reverse", no_argument, 'r', CLI_REVERSE, " -r, --reverse          reverse the order\n"},
    {"totals", no_argument, 't', CLI_TOTALS, " -t, --totals           add a line of totals\n"},
    {"json", no_argument, 'J', CLI_FORMAT,
     " -J, --json             JSON output (sizes in bytes)\n"},
    {"csv", no_argument, OPT_CSV, CLI_FORMAT,
     "     --csv              CSV output, RFC 4180 (sizes in bytes)\n"},
    {"raw", no_argument, OPT_RAW, CLI_FORMAT,
     "     --raw              raw output: columns separated by one space\n"},
    {"noheadings", no_argument, 'n', CLI_NOHEADINGS, " -n, --noheadings       no header line\n"},
    {"bytes", no_argument, 'b', CLI_BYTES, " -b, --bytes            sizes in bytes, not 12.4M\n"},
    {"pid", required_argument, 'p', CLI_PID,
     " -p, --pid <list>       only these processes (comma-separated)\n"},
    {"user", required_argument, 'u', CLI_USER,
     " -u, --user <user>      only processes of this user (name or UID)\n"},
    {"process", required_argument, 'P', CLI_PROCESS,
     " -P, --process <regex>  only processes whose command line matches\n"},
    {"mapping", required_argument, 'M', CLI_MAPPING,
     " -M, --mapping <regex>  maps, libs: only mappings whose name matches\n"},
    {"merge", no_argument, OPT_MERGE, CLI_MERGE,
     "     --merge            maps: one row per name and kind, with a count\n"},
    {"private", no_argument, OPT_PRIVATE, CLI_PRIVATE,
     "     --private          maps: only mappings holding private pages\n"},
    {"procs", no_argument, OPT_PROCS, CLI_PROCS,
     "     --procs            libs: one row per process under each object\n"},
    {"all", no_argument, OPT_ALL, CLI_ALL,
     "     --all              libs: each anonymous mapping a row of its own, not\n"
     "                          grouped under [anon], [heap] and [stack]\n"},
    {"by", required_argument, OPT_BY, CLI_BY,
     "     --by <key>         groups, heaps, export, serve: comm (default), exe,\n"
     "                          user, cgroup, session, pgid, tree, pid or app; diff:\n"
     "                          process (default), comm, exe, user, cgroup or system;\n"
     "                          maps: name (default) or category (merges); libs:\n"
     "                          category (an object per category)\n"},
    {"mappings", no_argument, OPT_MAPPINGS, CLI_MAPPINGS,
     "     --mappings         diff -p PID: the change per mapping name\n"},
    {"owner", required_argument, OPT_OWNER, CLI_OWNER,
     "     --owner <policy>   shm, OWNED: whom a shared object is charged to:\n"
     "                          resident (default), creator, oldest or largest\n"},
    {"exact", no_argument, OPT_EXACT, CLI_EXACT,
     "     --exact            capture: also pagemap and the page frames, for freed,\n"
     "                          groups, tree and FREED, COW and OWNED offline;\n"
     "                          export, serve: each group's freed, shared_out and\n"
     "                          own uss, from the page frames\n"},
    {"classes", no_argument, OPT_CLASSES, CLI_CLASSES,
     "     --classes          export, serve: each group's PSS by class (memtype\n"
     "                          native_heap, code...); report: the treemap's third\n"
     "                          level by class; both read every smaps\n"},
    {"redact", no_argument, OPT_REDACT, CLI_REDACT,
     "     --redact           capture: every argument, title word, file path outside\n"
     "                          system directories, memfd name, cgroup below its\n"
     "                          service and SysV key becomes a keyed hash <h:...>;\n"
     "                          program names and Chromium roles stay\n"},
    {"redact-key", required_argument, OPT_REDACT_KEY, CLI_REDACT,
     "     --redact-key <key> capture --redact: the hashes' key (32 hex digits, or any\n"
     "                          text), so that snapshots diff; random when not given\n"},
    {"adb", no_argument, OPT_ADB, CLI_REDACT,
     "     --adb [SERIAL]     capture: an Android device's, over adb: the static\n"
     "                          capture for its ABI pushed to /data/local/tmp, run,\n"
     "                          its tar pulled into -o, all it pushed removed\n"},
    {"root", no_argument, OPT_ROOT, CLI_REDACT,
     "     --root             capture --adb: run it as root, through su -c\n"},
    {"source", required_argument, OPT_SOURCE, CLI_SOURCE,
     "     --source <path>    read a snapshot (memledger capture, smemcap) or a\n"
     "                          directory laid out like /proc instead of /proc\n"},
    {"interval", required_argument, 'i', CLI_INTERVAL,
     " -i, --interval <secs>  repeat every secs seconds (tables: a line with the time\n"
     "                          between; JSON: a document a line with \"time\"; CSV: a\n"
     "                          TIME column); Ctrl-C ends it\n"},
    {"count", required_argument, 'c', CLI_INTERVAL,
     " -c, --count <n>        with -i: n times (default: until interrupted)\n"},
    {"textfile", required_argument, OPT_TEXTFILE, CLI_EXPORT,
     "     --textfile <dir>   export, serve: write DIR/memledger.prom (atomically),\n"
     "                          for node_exporter's textfile collector\n"},
    {"top", required_argument, OPT_TOP, CLI_EXPORT,
     "     --top <n>          export, serve: the n processes of most PSS get metrics\n"
     "                          of their own, the rest one pid=\"other\" (default 20)\n"},
    {"listen", required_argument, OPT_LISTEN, CLI_SERVE,
     "     --listen <addr>    serve: HOST:PORT to listen on (default 127.0.0.1:9781;\n"
     "                          :PORT is every address)\n"},
    {"exact-interval", required_argument, OPT_EXACT_INTERVAL, CLI_SERVE,
     "     --exact-interval <secs>\n"
     "                        serve --exact: read the page frames every secs seconds\n"
     "                          (default 60; -i, default 15, for the rest)\n"},
    {"chart", required_argument, OPT_CHART, CLI_REPORT,
     "     --chart <name>     report: one chart alone, as SVG: treemap, bar or system\n"},
    {"diff", no_argument, OPT_DIFF, CLI_REPORT,
     "     --diff             report A B: a comparison of two snapshots (or live)\n"},
    {"policy", required_argument, OPT_POLICY, CLI_OOM,
     "     --policy <killer>  oom: kernel (the OOM killer) or lmkd (Android's; the\n"
     "                          default on an Android snapshot and with --min-adj)\n"},
    {"cgroup", required_argument, OPT_CGROUP, CLI_OOM,
     "     --cgroup <path>    oom: the memory cgroup that runs out (its limit, its\n"
     "                          processes), as memledger cgroups names it\n"},
    {"need", required_argument, OPT_NEED, CLI_OOM,
     "     --need <size>      oom: stop at the kill that brings back this much (2G)\n"},
    {"min-adj", required_argument, OPT_MIN_ADJ, CLI_OOM,
     "     --min-adj <n>      oom --policy lmkd: the lowest oom_score_adj killed (0)\n"},
    {"delta", no_argument, OPT_DELTA, CLI_DELTA,
     "     --delta            with -i: sizes are changes since the frame before (the\n"
     "                          first shows them whole); STATE says new, or gone for\n"
     "                          a row that went (last, its sizes negative)\n"},
    {"threads", required_argument, OPT_THREADS, CLI_THREADS,
     "     --threads <n>      reader threads (default: 2 on 2 or more CPUs)\n"},
    {"verbose", no_argument, 'v', 0,
     " -v, --verbose          also name the processes that even root may not read\n"},
    {"help", no_argument, 'h', 0, " -h, --help             this help\n"},
    {"version", no_argument, 'V', 0, " -V, --version          the version\n"},
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

void cli_print_options(FILE *f, unsigned uses)
{
	bool every = uses == ~0u; /* memledger --help: -o's meanings in one entry */

	fputs("\nOptions:\n", f);
	for (size_t i = 0; i < NOPTIONS; i++) {
		bool file = options[i].val == 'o' && (uses & CLI_OUTFILE);
		if (options[i].bit && !(uses & options[i].bit))
			continue;
		if (!file)
			fputs(options[i].help, f);
		else if (every)
			fputs(" -o, --output <list>    the columns to show (+COL adds to the "
			      "defaults);\n"
			      "                          capture, report: the file to write\n",
			      f);
		else if (uses & CLI_REDACT)
			fputs(" -o, --output <file>    the snapshot; .tar, .tar.gz, .tar.zst, "
			      ".tar.xz\n"
			      "                          say how it is compressed; - is stdout; "
			      "DIR/\n"
			      "                          (by default .): "
			      "memledger-HOST-TIME.tar.zst\n"
			      "                          there, one a frame with -i\n",
			      f);
		else
			fputs(" -o, --output <file>    the page (default memledger-HOST-TIME.html, "
			      ".svg\n"
			      "                          with --chart); - is stdout\n",
			      f);
	}
	fputs("\n", f);
}

/* The description in an option's help lines: from column 24 of the first line that has
 * one ("--exact-interval <secs>" has it on the next). */
static const char *option_help(const char *help)
{
	for (const char *line = help; *line; line += strcspn(line, "\n") + 1) {
		if (strcspn(line, "\n") > 24)
			return line + 24;
		if (!line[strcspn(line, "\n")])
			break;
	}
	return "";
}

bool cli_view_option(size_t i, unsigned uses, struct cli_option_desc *d)
{
	for (size_t k = 0; k < NOPTIONS; k++) {
		if (options[k].bit && !(uses & options[k].bit))
			continue;
		if (i-- > 0)
			continue;
		*d = (struct cli_option_desc){.name = options[k].name,
		                              .letter = options[k].val < 256 ? options[k].val : 0,
		                              .arg = options[k].has_arg == required_argument,
		                              .help = options[k].val == 'o' && (uses & CLI_OUTFILE)
		                                          ? "the file to write"
		                                          : option_help(options[k].help)};
		return true;
	}
	return false;
}

/* Compiles an extended regular expression. Returns EXIT_GO_ON, or EXIT_USAGE. */
static int compile_regex(const char *arg, regex_t *re, bool *have)
{
	if (*have)
		regfree(re);
	*have = regcomp(re, arg, REG_EXTENDED | REG_NOSUB) == 0;
	if (!*have) {
		cli_warn("invalid regular expression: '%s'", arg);
		return EXIT_USAGE;
	}
	return EXIT_GO_ON;
}

static int set_format(struct cli *cli, enum out_format f);

const char *cli_option_name(enum cli_option bit, char name[32])
{
	for (size_t i = 0; i < NOPTIONS; i++) {
		if (options[i].bit != bit)
			continue;
		if (options[i].val < 256)
			snprintf(name, 32, "-%c", options[i].val);
		else
			snprintf(name, 32, "--%s", options[i].name);
		return name;
	}
	return "?";
}

/* Applies one option. Returns EXIT_GO_ON, or an exit status. */
static int apply_option(int c, const char *arg, struct cli *cli)
{
	static const char *const owners[] = {"creator", "oldest", "largest",
	                                     "resident"}; /* enum ml_owner */

	for (size_t i = 0; i < NOPTIONS; i++)
		if (options[i].val == c)
			cli->given |= options[i].bit;
	switch (c) {
	case 'o': cli->columns = arg; break;
	case OPT_LIST_COLUMNS: cli->list_columns = true; break;
	case 's': cli->sort = arg; break;
	case 'r': cli->reverse = true; break;
	case 't': cli->totals = true; break;
	case 'J': return set_format(cli, OUT_JSON);
	case OPT_CSV: return set_format(cli, OUT_CSV);
	case OPT_RAW: return set_format(cli, OUT_RAW);
	case 'n': cli->out.noheadings = true; break;
	case 'b': cli->out.bytes = true; break;
	case OPT_SOURCE: cli->source = arg; break;
	case 'p':
		if (cli_add_pids(cli, arg) < 0) {
			cli_warn("invalid PID list: '%s'", arg);
			return EXIT_USAGE;
		}
		break;
	case 'u':
		if (parse_user(arg, cli) < 0) {
			cli_warn("unknown user: '%s'", arg);
			return EXIT_USAGE;
		}
		break;
	case 'P': return compile_regex(arg, &cli->regex, &cli->have_regex);
	case 'M': return compile_regex(arg, &cli->map_regex, &cli->have_map_regex);
	case OPT_MERGE: cli->merge = true; break;
	case OPT_ALL: cli->each_anon = true; break;
	case OPT_PRIVATE: cli->private_only = true; break;
	case OPT_PROCS: cli->procs = true; break;
	case OPT_BY: cli->group_by = arg; break;
	case OPT_EXACT: cli->exact = true; break;
	case OPT_REDACT: cli->redact = true; break;
	case OPT_ADB: cli->adb = true; break;
	case OPT_ROOT: cli->root = true; break;
	case OPT_REDACT_KEY: cli->redact_key = arg; break;
	case OPT_MAPPINGS: cli->mappings = true; break;
	case OPT_CLASSES: cli->classes = true; break;
	case OPT_DELTA: cli->out.delta = true; break;
	case OPT_TEXTFILE: cli->textfile = arg; break;
	case OPT_LISTEN: cli->listen = arg; break;
	case OPT_CHART: cli->chart = arg; break;
	case OPT_POLICY: {
		static const char *const killers[] = {"kernel", "lmkd"}; /* enum ml_oom_policy */
		cli->oom_policy = cli_choice("--policy", killers, 2, arg);
		if (cli->oom_policy < 0)
			return EXIT_USAGE;
		break;
	}
	case OPT_CGROUP: cli->oom_cgroup = arg; break;
	case OPT_NEED:
		if (parse_size(arg, &cli->oom_need) < 0 || cli->oom_need == 0) {
			cli_warn("--need takes a size: bytes, or with K, M, G or T: '%s'", arg);
			return EXIT_USAGE;
		}
		break;
	case OPT_MIN_ADJ: {
		char *end;
		long v = strtol(arg, &end, 10);
		if (end == arg || *end || v < -1000 || v > 1000) {
			cli_warn("--min-adj takes an oom_score_adj, -1000 to 1000: '%s'", arg);
			return EXIT_USAGE;
		}
		cli->oom_min_adj = (int)v;
		break;
	}
	case OPT_DIFF: cli->diff = true; break;
	case OPT_TOP: {
		char *end;
		unsigned long v = strtoul(arg, &end, 10);
		if (end == arg || *end || arg[0] == '-' || v == 0 || v > 100000) {
			cli_warn("--top takes a count from 1 to 100000: '%s'", arg);
			return EXIT_USAGE;
		}
		cli->top = v;
		break;
	}
	case 'i':
	case OPT_EXACT_INTERVAL:
		if (parse_interval(arg, c == 'i' ? &cli->interval : &cli->exact_interval) < 0) {
			cli_warn("%s takes seconds from 0.01 to 86400: '%s'",
			         c == 'i' ? "-i" : "--exact-interval", arg);
			return EXIT_USAGE;
		}
		break;
	case 'c':
		if (parse_count(arg, cli) < 0) {
			cli_warn("-c takes a count from 1 on: '%s'", arg);
			return EXIT_USAGE;
		}
		break;
	case OPT_OWNER:
		cli->owner = cli_choice("--owner", owners, sizeof(owners) / sizeof(owners[0]), arg);
		if (cli->owner < 0)
			return EXIT_USAGE;
		break;
	case OPT_THREADS:
		if (parse_threads(arg, cli) < 0) {
			cli_warn("--threads takes a number from 1 to 8: '%s'", arg);
			return EXIT_USAGE;
		}
		break;
	case 'h': cli->help = true; break;
	case 'v': cli->verbose = true; break;
	case 'V': printf("memledger %s\n", MEMLEDGER_VERSION); return EXIT_OK;
	default: fputs("Try 'memledger --help' for more information.\n", stderr); return EXIT_USAGE;
	}
	return EXIT_GO_ON;
}

/* Sets the output format; a second, different one is an error. Returns EXIT_GO_ON, or
 * EXIT_USAGE. */
static int set_format(struct cli *cli, enum out_format f)
{
	if (cli->out.format != OUT_TABLE && cli->out.format != f) {
		cli_warn("-J, --csv and --raw are one output format each: give one");
		return EXIT_USAGE;
	}
	cli->out.format = f;
	return EXIT_GO_ON;
}

/* Says what getopt found wrong with argv[optind - 1], as every message: "memledger: ". */
static void option_error(int c, char **argv)
{
	const char *opt = argv[optind - 1];

	if (c == ':')
		cli_warn("option '%s' needs an argument", opt);
	else if (optopt && opt[0] == '-' && opt[1] != '-')
		cli_warn("unknown option: '-%c'", optopt);
	else
		cli_warn("unknown option: '%s'", opt);
}

int cli_parse(int argc, char **argv, struct cli *cli)
{
	int c, rc;

	memset(cli, 0, sizeof(*cli));
	cli->oom_policy = -1;           /* not given: the source's killer (oom) */
	cli->owner = ML_OWNER_RESIDENT; /* the default: see --help */
	cli->command = "ps";
	optind = 1;
	opterr = 0; /* its messages start with argv[0], ours with "memledger: " */
	struct option longopts[NOPTIONS + 1];

	for (size_t i = 0; i < NOPTIONS; i++)
		longopts[i] =
		    (struct option){options[i].name, options[i].has_arg, NULL, options[i].val};
	longopts[NOPTIONS] = (struct option){NULL, 0, NULL, 0};
	while ((c = getopt_long(argc, argv, ":o:s:rtJnbp:u:P:M:i:c:hvV", longopts, NULL)) != -1) {
		if (c == '?' || c == ':')
			option_error(c, argv);
		rc = apply_option(c, optarg, cli);
		if (rc != EXIT_GO_ON)
			return rc;
	}
	/* getopt has moved the operands to the end: the first one names the view, unless it
	 * is a PID (memledger 1234 is memledger -p 1234). */
	if (optind < argc && !(argv[optind][0] >= '0' && argv[optind][0] <= '9')) {
		cli->command = argv[optind++];
		cli->command_given = true;
	}
	cli->operands = argv + optind;
	cli->noperands = argc - optind;
	if ((cli->count || cli->out.delta) && cli->interval <= 0) {
		cli_warn("%s: give -i too", cli->count ? "-c counts the repeats of -i"
		                                       : "--delta compares the frames of -i");
		return EXIT_USAGE;
	}
	return EXIT_GO_ON;
}

void cli_free(struct cli *cli)
{
	free(cli->pids);
	if (cli->have_regex)
		regfree(&cli->regex);
	if (cli->have_map_regex)
		regfree(&cli->map_regex);
}
