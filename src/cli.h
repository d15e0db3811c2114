/* Command-line options shared by every view (util-linux conventions). */
#ifndef MEMLEDGER_CLI_H
#define MEMLEDGER_CLI_H

#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <sys/types.h>

#include "msg.h"
#include "output.h"

/* Exit statuses; EXIT_GO_ON is what a step returns when the run goes on. */
enum { EXIT_GO_ON = -1, EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2 };

/* The options a view may use: struct cli's given holds those on the command line, and
 * each view declares the ones it uses (main.c), so that none is silently ignored. */
enum cli_option {
	CLI_COLUMNS = 1 << 0,    /* -o */
	CLI_LIST = 1 << 1,       /* --list-columns */
	CLI_SORT = 1 << 2,       /* -s */
	CLI_REVERSE = 1 << 3,    /* -r */
	CLI_TOTALS = 1 << 4,     /* -t */
	CLI_FORMAT = 1 << 5,     /* -J, --csv, --raw */
	CLI_NOHEADINGS = 1 << 6, /* -n */
	CLI_BYTES = 1 << 7,      /* -b */
	CLI_PID = 1 << 8,        /* -p */
	CLI_USER = 1 << 9,       /* -u */
	CLI_PROCESS = 1 << 10,   /* -P */
	CLI_MAPPING = 1 << 11,   /* -M */
	CLI_MERGE = 1 << 12,     /* --merge */
	CLI_PRIVATE = 1 << 13,   /* --private */
	CLI_PROCS = 1 << 14,     /* --procs */
	CLI_ALL = 1 << 15,       /* --all */
	CLI_BY = 1 << 16,        /* --by */
	CLI_OWNER = 1 << 17,     /* --owner */
	CLI_SOURCE = 1 << 18,    /* --source */
	CLI_THREADS = 1 << 19,   /* --threads */
	CLI_EXACT = 1 << 20,     /* --exact */
	CLI_REDACT = 1 << 21,    /* capture's own: --redact, --redact-key, --adb, --root */
	CLI_OUTFILE = 1 << 22,   /* no option: -o names a file (capture), not columns */
	CLI_MAPPINGS = 1 << 23,  /* --mappings */
	CLI_INTERVAL = 1 << 24,  /* -i, -c */
	CLI_EXPORT = 1 << 25,    /* --textfile, --top */
	CLI_DELTA = 1 << 26,     /* --delta: views that print tables */
	CLI_SERVE = 1 << 27,     /* --listen, --exact-interval */
	CLI_REPORT = 1 << 28,    /* --chart, --diff */
	CLI_OOM = 1 << 29,       /* --policy, --cgroup, --need, --min-adj */
	CLI_CLASSES = 1 << 30,   /* --classes */
};

/* The name of one option bit as the user typed it ("-o", "--merge"), into name. */
const char *cli_option_name(enum cli_option bit, char name[32]);

struct cli {
	const char *command; /* the view: "ps", or the first operand, which main checks */
	bool help;           /* -h: main prints the usage (of command, when given) */
	bool verbose;        /* -v: say what is usually left unsaid */
	bool command_given;  /* the view was named, not ps by default */
	unsigned given;      /* enum cli_option: the options on the command line */
	const char *columns; /* -o, as given */
	const char *sort;    /* -s */
	bool reverse;        /* -r */
	bool totals;         /* -t */
	bool list_columns;   /* --list-columns */
	struct out_opts out;
	const char *source; /* --source DIR, NULL: /proc */
	pid_t *pids;        /* -p */
	size_t npids;
	bool have_uid; /* -u */
	uid_t uid;
	bool have_regex; /* -P */
	regex_t regex;
	unsigned threads;       /* --threads, 0: automatic */
	bool merge;             /* maps --merge */
	bool private_only;      /* maps --private */
	bool procs;             /* libs --procs */
	bool each_anon;         /* libs --all */
	const char *group_by;   /* groups --by */
	int owner;              /* --owner: enum ml_owner */
	bool exact;             /* capture --exact */
	bool classes;           /* export, serve, report --classes: memory by class */
	bool redact;            /* capture --redact */
	bool adb, root;         /* capture --adb, --root */
	const char *redact_key; /* capture --redact-key */
	bool mappings;          /* diff --mappings */
	const char *textfile;   /* export --textfile DIR */
	size_t top;             /* export --top N: processes with metrics of their own; 0: 20 */
	const char *listen;     /* serve --listen HOST:PORT, NULL: SERVE_DEFAULT_LISTEN */
	const char *chart;      /* report --chart NAME */
	bool diff;              /* report --diff A B */
	double exact_interval;  /* serve --exact-interval SECS, 0: 60 */
	double interval;        /* -i SECS: repeat the view; 0: once */
	unsigned long count;    /* -c: so many times; 0: until interrupted */
	int oom_policy;         /* oom --policy: enum ml_oom_policy; -1 when not given */
	const char *oom_cgroup; /* oom --cgroup PATH: its limit and its processes; NULL: all */
	uint64_t oom_need;      /* oom --need SIZE: bytes; 0: no goal */
	int oom_min_adj;        /* oom --min-adj N (lmkd): the lowest adj killed; default 0 */
	bool have_map_regex;    /* -M */
	regex_t map_regex;
	char **operands; /* what follows the view's name (maps: PIDs) */
	int noperands;
};

/*
 * Parses argv into cli. Returns EXIT_GO_ON (with cli->help: print the usage), or an exit
 * status: EXIT_OK after --version, EXIT_USAGE after a one-line message on stderr.
 */
int cli_parse(int argc, char **argv, struct cli *cli);

/* Prints what --help says of the options in uses (enum cli_option; ~0u: every one): the
 * part after the synopsis. */
void cli_print_options(FILE *f, unsigned uses);

/* An option as completion offers it. */
struct cli_option_desc {
	const char *name; /* long, without the dashes */
	int letter;       /* the short option, 0: none */
	bool arg;         /* it takes a value */
	const char *help; /* what it does: one line, ended by '\n' or '\0' */
};

/* The i-th option (from 0) of a view that uses uses (enum cli_option), into *d; false past
 * the last. */
bool cli_view_option(size_t i, unsigned uses, struct cli_option_desc *d);

/* Adds the PIDs of "1,2,3" to cli->pids, each once: -p and PID operands alike. Returns 0
 * or -EINVAL (-ENOMEM). */
int cli_add_pids(struct cli *cli, const char *arg);

/* The index of arg in names[0..n) (an option's choices: --by, --owner), or -1 after a
 * message that names option and its choices. */
int cli_choice(const char *option, const char *const *names, size_t n, const char *arg);

/* The index of --by's key (enum ml_group_key; comm when by is NULL), or -1 after a
 * message naming the choices. */
int cli_group_key(const char *by);

/* True when -p lists pid, or there is no -p. */
bool cli_wants_pid(const struct cli *cli, pid_t pid);

/* Frees what cli_parse allocated. */
void cli_free(struct cli *cli);

struct ml_source;

/* Opens --source (or /proc); of a snapshot archive keeps what needs (ML_NEED_*) reads, and
 * with only_pids only of the processes -p names (a view that reads no other). Returns
 * NULL after a one-line message when it cannot. */
struct ml_source *cli_open_source(const struct cli *cli, unsigned needs, bool only_pids);

#endif
