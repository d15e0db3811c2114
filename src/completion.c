/* memledger --completion SHELL: bash, zsh and fish completion made from the tables of
 * views (main.c) and options (cli.c, top's): a new view or option completes at once.
 * Column names and PIDs are asked for when completing (VIEW --list-columns, /proc). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "memledger/group.h"

/* The values of the options that take a word from a list. The parsers own these lists
 * (cli.c's owners, cmd_report.c's charts, cmd_diff.c's and cmd_top.c's --by); the
 * completion test runs each value through memledger, so a list that drifts fails it. */
static const char owners[] = "resident creator oldest largest";
static const char charts[] = "treemap bar system";
static const char diff_by[] = "process comm exe user cgroup system";
static const char top_by[] = "process comm user role tree";
static const char maps_by[] = "name category"; /* cmd_maps.c's keys */
static const char policies[] = "kernel lmkd";  /* oom --policy: cli.c's killers */

/* Writes the --by keys of groups, export, serve and report. */
static void group_keys(FILE *f)
{
	for (int i = 0; i < ML_BY_COUNT; i++)
		fprintf(f, "%s%s", i ? " " : "", ml_group_key_names[i]);
}

/* Writes view's options, each as "-x --long" (sep between), args: only those that take a
 * value. */
static void option_words(FILE *f, const struct completion_view *v, bool args)
{
	struct cli_option_desc d;
	bool first = true;

	for (size_t i = 0; v->options(i, v->uses, &d); i++) {
		if (args && !d.arg)
			continue;
		if (d.letter)
			fprintf(f, "%s-%c", first ? "" : " ", d.letter);
		fprintf(f, "%s--%s", first && !d.letter ? "" : " ", d.name);
		first = false;
	}
}

static void bash_views(FILE *f, const struct completion_view *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? "|" : "", v[i].name);
}

/* The bash function, named fn, that fills COMPREPLY (zsh runs it through bashcompinit). */
static void bash_function(FILE *f, const char *fn, const struct completion_view *v, size_t n)
{
	fprintf(f,
	        "__memledger_pids() {\n"
	        "\tlocal d\n"
	        "\tfor d in /proc/[0-9]*; do printf '%%s\\n' \"${d#/proc/}\"; done\n"
	        "}\n\n"
	        "%s() {\n"
	        "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	        "\tlocal cmd=${COMP_WORDS[0]} view='' i opts args pids words\n"
	        "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	        "\t\tcase ${COMP_WORDS[i]} in\n\t\t",
	        fn);
	bash_views(f, v, n);
	fputs(") view=${COMP_WORDS[i]}; break ;;\n"
	      "\t\tesac\n"
	      "\tdone\n"
	      "\tcase ${view:-ps} in\n",
	      f);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "\t%s)\n\t\topts='", v[i].name);
		option_words(f, &v[i], false);
		fputs("'\n\t\targs=' ", f);
		option_words(f, &v[i], true);
		fprintf(f, " '\n\t\tpids=%d ;;\n", v[i].pids);
	}
	fputs("\tesac\n"
	      "\tCOMPREPLY=()\n"
	      "\tif [[ $args == *\" $prev \"* ]]; then\n"
	      "\t\tcase $prev in\n"
	      "\t\t-o | --output)\n"
	      "\t\t\tif [[ $view == capture || $view == report ]]; then\n"
	      "\t\t\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	      "\t\t\t\treturn\n"
	      "\t\t\tfi\n"
	      "\t\t\tlocal before='' part=$cur\n"
	      "\t\t\tif [[ $cur == *,* ]]; then before=${cur%,*},; part=${cur##*,}; fi\n"
	      "\t\t\tif [[ $part == +* ]]; then before=$before+; part=${part#+}; fi\n"
	      "\t\t\twords=$(\"$cmd\" \"${view:-ps}\" --list-columns 2>/dev/null | "
	      "awk '{print $1}')\n"
	      "\t\t\tCOMPREPLY=($(compgen -P \"$before\" -W \"$words\" -- \"$part\"))\n"
	      "\t\t\tcompopt -o nospace 2>/dev/null\n"
	      "\t\t\treturn ;;\n"
	      "\t\t-s | --sort)\n"
	      "\t\t\twords=$(\"$cmd\" \"${view:-ps}\" --list-columns 2>/dev/null | "
	      "awk '{print $1}')\n"
	      "\t\t\t;;\n"
	      "\t\t-p | --pid) words=$(__memledger_pids) ;;\n"
	      "\t\t-u | --user) COMPREPLY=($(compgen -u -- \"$cur\")); return ;;\n"
	      "\t\t--source) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
	      "\t\t--textfile) COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n",
	      f);
	fprintf(f, "\t\t--owner) words='%s' ;;\n\t\t--chart) words='%s' ;;\n", owners, charts);
	fprintf(f, "\t\t--policy) words='%s' ;;\n", policies);
	fprintf(f,
	        "\t\t--by)\n\t\t\tcase $view in\n\t\t\tdiff) words='%s' ;;\n"
	        "\t\t\ttop) words='%s' ;;\n\t\t\tmaps) words='%s' ;;\n\t\t\t*) words='",
	        diff_by, top_by, maps_by);
	group_keys(f);
	fputs("' ;;\n\t\t\tesac ;;\n"
	      "\t\t*) return ;;\n"
	      "\t\tesac\n"
	      "\t\tCOMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
	      "\t\treturn\n"
	      "\tfi\n"
	      "\tif [[ $cur == -* ]]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
	      "\telif [[ -z $view ]]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W \"",
	      f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? " " : "", v[i].name);
	fputs(" $(__memledger_pids)\" -- \"$cur\"))\n"
	      "\telif [[ $view == diff || ($view == report && $prev == --diff) ]]; then\n"
	      "\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	      "\telif ((pids)); then\n"
	      "\t\tCOMPREPLY=($(compgen -W \"$(__memledger_pids)\" -- \"$cur\"))\n"
	      "\tfi\n"
	      "}\n",
	      f);
}

static void bash(FILE *f, const struct completion_view *v, size_t n)
{
	fputs("# bash completion for memledger(1), made by 'memledger --completion bash'\n"
	      "# from its tables of views and options; columns and PIDs are read when asked.\n\n",
	      f);
	bash_function(f, "_memledger", v, n);
	fputs("\ncomplete -F _memledger memledger\n", f);
}

/* zsh: the bash function through bashcompinit, which zsh ships for this. */
static void zsh(FILE *f, const struct completion_view *v, size_t n)
{
	fputs("#compdef memledger\n"
	      "# zsh completion for memledger(1), made by 'memledger --completion zsh' from\n"
	      "# its tables of views and options: the bash completion, through bashcompinit.\n\n"
	      "autoload -U +X bashcompinit && bashcompinit\n\n",
	      f);
	bash_function(f, "__memledger_bash", v, n);
	fputs("\ncomplete -F __memledger_bash memledger\n"
	      "# Loaded by compinit as _memledger: this first call completes too.\n"
	      "[[ -n ${funcstack[(r)_memledger]} ]] && _bash_complete -F __memledger_bash\n",
	      f);
}

/* A fish condition: the view is one of those that use the option. */
static void fish_condition(FILE *f, const struct completion_view *v, size_t n, const char *name,
                           int letter)
{
	struct cli_option_desc d;

	fputs("'__memledger_view_is", f);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; v[i].options(k, v[i].uses, &d); k++)
			if (strcmp(d.name, name) == 0 && d.letter == letter) {
				fprintf(f, " %s", v[i].name);
				break;
			}
	fputs("'", f);
}

/* A fish argument list for the option called name in the views cond names. */
static const char *fish_values(const char *name, const char *view)
{
	if (strcmp(name, "output") == 0)
		return view && (strcmp(view, "capture") == 0 || strcmp(view, "report") == 0)
		           ? "-F"
		           : "-r -f -a '(__memledger_column_list)'";
	if (strcmp(name, "sort") == 0)
		return "-r -f -a '(__memledger_columns)'";
	if (strcmp(name, "pid") == 0)
		return "-r -f -a '(__fish_complete_pids)'";
	if (strcmp(name, "user") == 0)
		return "-r -f -a '(__fish_complete_users)'";
	if (strcmp(name, "source") == 0 || strcmp(name, "textfile") == 0)
		return "-r -F";
	return NULL;
}

/* Text for fish: its single quotes escaped, stopping at a newline. */
static void fish_text(FILE *f, const char *s)
{
	for (; *s && *s != '\n'; s++)
		fprintf(f, *s == '\'' || *s == '\\' ? "\\%c" : "%c", *s);
}

static void fish(FILE *f, const struct completion_view *v, size_t n)
{
	fputs("# fish completion for memledger(1), made by 'memledger --completion fish' from\n"
	      "# its tables of views and options; columns and PIDs are read when asked.\n\n"
	      "function __memledger_view\n"
	      "    for w in (commandline -opc)[2..-1]\n"
	      "        if contains -- $w",
	      f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, " %s", v[i].name);
	fputs("\n            echo $w\n            return\n        end\n    end\n    echo ps\n"
	      "end\n\n"
	      "function __memledger_view_is\n"
	      "    contains -- (__memledger_view) $argv\n"
	      "end\n\n"
	      "function __memledger_columns\n"
	      "    set -l cmd (commandline -opc)[1]\n"
	      "    $cmd (__memledger_view) --list-columns 2>/dev/null | string trim | "
	      "string replace -r '^(\\S+)\\s+' '$1\\t'\n"
	      "end\n\n"
	      "# -o A,B,: the columns after what is typed\n"
	      "function __memledger_column_list\n"
	      "    set -l typed (commandline -ct)\n"
	      "    set -l before (string match -r '^.*,' -- $typed)\n"
	      "    for c in (__memledger_columns)\n"
	      "        printf '%s%s\\n' \"$before\" $c\n"
	      "    end\n"
	      "end\n\n"
	      "complete -c memledger -f\n",
	      f);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "complete -c memledger -n __fish_use_subcommand -a %s -d '", v[i].name);
		fish_text(f, v[i].purpose);
		fputs("'\n", f);
	}
	fputs("complete -c memledger -n '__fish_use_subcommand; or __memledger_view_is", f);
	for (size_t i = 0; i < n; i++)
		if (v[i].pids)
			fprintf(f, " %s", v[i].name);
	fputs("' -a '(__fish_complete_pids)'\n"
	      "complete -c memledger -n '__memledger_view_is diff report' -F\n",
	      f);
	/* each option once for every view that has it with the same letter and meaning */
	for (size_t i = 0; i < n; i++) {
		struct cli_option_desc d;
		for (size_t k = 0; v[i].options(k, v[i].uses, &d); k++) {
			bool seen = false;
			struct cli_option_desc e;
			const char *values;
			for (size_t j = 0; j < i && !seen; j++)
				for (size_t m = 0; v[j].options(m, v[j].uses, &e) && !seen; m++)
					seen = strcmp(e.name, d.name) == 0 && e.letter == d.letter;
			bool per_view = strcmp(d.name, "output") == 0 || strcmp(d.name, "by") == 0;
			if (seen && !per_view)
				continue;
			values = fish_values(d.name, v[i].name);
			fputs("complete -c memledger -n ", f);
			if (per_view)
				fprintf(f, "'__memledger_view_is %s'", v[i].name);
			else
				fish_condition(f, v, n, d.name, d.letter);
			if (d.letter)
				fprintf(f, " -s %c", d.letter);
			fprintf(f, " -l %s", d.name);
			if (strcmp(d.name, "by") == 0) {
				fputs(" -r -f -a '", f);
				if (strcmp(v[i].name, "diff") == 0)
					fputs(diff_by, f);
				else if (strcmp(v[i].name, "top") == 0)
					fputs(top_by, f);
				else if (strcmp(v[i].name, "maps") == 0)
					fputs(maps_by, f);
				else
					group_keys(f);
				fputs("'", f);
			} else if (strcmp(d.name, "owner") == 0) {
				fprintf(f, " -r -f -a '%s'", owners);
			} else if (strcmp(d.name, "chart") == 0) {
				fprintf(f, " -r -f -a '%s'", charts);
			} else if (strcmp(d.name, "policy") == 0) {
				fprintf(f, " -r -f -a '%s'", policies);
			} else if (values) {
				fprintf(f, " %s", values);
			} else if (d.arg) {
				fputs(" -r -f", f);
			}
			fputs(" -d '", f);
			fish_text(f, d.help);
			fputs("'\n", f);
		}
	}
}

int completion_write(FILE *f, const char *shell, const struct completion_view *views, size_t n)
{
	if (strcmp(shell, "bash") == 0)
		bash(f, views, n);
	else if (strcmp(shell, "zsh") == 0)
		zsh(f, views, n);
	else if (strcmp(shell, "fish") == 0)
		fish(f, views, n);
	else
		return -1;
	return 0;
}
