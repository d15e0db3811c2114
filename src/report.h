/* memledger report: one self-contained HTML page of where memory goes, or one chart as SVG. */
#ifndef MEMLEDGER_REPORT_H
#define MEMLEDGER_REPORT_H

#include "cli.h"

/* Writes the page (or with --chart the chart) to -o FILE (default
 * memledger-HOST-UTC.html or .svg; - is stdout) whole or not at all. Returns an exit
 * status. */
int report_run(struct cli *cli);

#endif
