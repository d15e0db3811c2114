/* Charts as SVG: the layout (squarified treemap) and the writing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "memledger/ledger.h"
#include "output.h"
#include "svg.h"

/* The larger and the smaller of a and b (fmax and fmin without libm: the tool maps no
 * library it can do without). */
static double most_of(double a, double b)
{
	return a > b ? a : b;
}

static double least_of(double a, double b)
{
	return a < b ? a : b;
}

void xml_text(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = s ? strlen(s) : 0;

	while (left) {
		size_t n = utf8_seq_len(p, left);
		if (n == 0 || (*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7f) {
			fputs("\xef\xbf\xbd", f); /* U+FFFD */
			n = 1;
		} else if (*p == '&') {
			fputs("&amp;", f);
		} else if (*p == '<') {
			fputs("&lt;", f);
		} else if (*p == '>') {
			fputs("&gt;", f);
		} else if (*p == '"') {
			fputs("&quot;", f);
		} else if (*p == '\'') {
			fputs("&#39;", f);
		} else {
			fwrite(p, 1, n, f);
		}
		p += n;
		left -= n;
	}
}

static int cmp_value_desc(const void *a, const void *b)
{
	const struct tm_node *x = a, *y = b;

	return (x->value < y->value) - (x->value > y->value);
}

/* The worst aspect ratio of a row of areas summing to sum, from rmin to rmax, along a
 * side of length side. */
static double worst(double sum, double rmin, double rmax, double side)
{
	double s2 = sum * sum, w2 = side * side;

	return most_of(w2 * rmax / s2, s2 / (w2 * rmin));
}

/* Lays out kids[0..n) (largest first) in the rectangle, total their value sum. */
static void squarify(struct tm_node *kids, size_t n, uint64_t total, double x, double y, double w,
                     double h)
{
	double scale = total ? w * h / (double)total : 0;
	size_t i = 0;

	while (i < n && kids[i].value) {
		double side = least_of(w, h), sum = (double)kids[i].value * scale, rmin = sum,
		       rmax = sum;
		double best = worst(sum, rmin, rmax, side), pos;
		size_t j = i + 1;
		for (; j < n && kids[j].value; j++) {
			double a = (double)kids[j].value * scale;
			double next = worst(sum + a, least_of(rmin, a), most_of(rmax, a), side);
			if (next > best)
				break;
			best = next;
			sum += a;
			rmin = least_of(rmin, a);
			rmax = most_of(rmax, a);
		}
		double thick = side > 0 ? sum / side : 0;
		pos = w >= h ? y : x;
		for (size_t k = i; k < j; k++) {
			double len = thick > 0 ? (double)kids[k].value * scale / thick : 0;
			if (w >= h) /* a column at the left */
				tm_layout(&kids[k], x, pos, thick, len);
			else /* a row at the top */
				tm_layout(&kids[k], pos, y, len, thick);
			pos += len;
		}
		if (w >= h) {
			x += thick;
			w -= thick;
		} else {
			y += thick;
			h -= thick;
		}
		i = j;
	}
	for (; i < n; i++) /* nothing: no area */
		tm_layout(&kids[i], x, y, 0, 0);
}

void tm_layout(struct tm_node *n, double x, double y, double w, double h)
{
	uint64_t total = 0;

	n->x = x;
	n->y = y;
	n->w = w;
	n->h = h;
	if (!n->nkids)
		return;
	qsort(n->kids, n->nkids, sizeof(*n->kids), cmp_value_desc);
	for (size_t i = 0; i < n->nkids; i++)
		total += n->kids[i].value;
	squarify(n->kids, n->nkids, total, x, y, w, h);
}

void tm_free(struct tm_node *n)
{
	for (size_t i = 0; i < n->nkids; i++)
		tm_free(&n->kids[i]);
	free(n->kids);
	free(n->label);
	free(n->info);
	n->kids = NULL;
	n->nkids = 0;
	n->label = n->info = NULL;
}

static void size_text(FILE *f, uint64_t v)
{
	char buf[32];

	if (v == ML_UNKNOWN)
		fputs("-", f);
	else {
		out_format_size(v, buf, sizeof(buf));
		fputs(buf, f);
	}
}

/* The tooltip of n: its path of labels, its value, its info. */
static void tooltip(FILE *f, const struct tm_node *const *path, size_t depth)
{
	const struct tm_node *n = path[depth - 1];

	fputs("<title>", f);
	for (size_t i = 1; i < depth; i++) { /* the root has no label of its own */
		xml_text(f, path[i]->label);
		fputs(i + 1 < depth ? " \xe2\x80\xba " : "", f); /* › */
	}
	fputs(": PSS ", f);
	size_text(f, n->value);
	if (n->info) {
		fputs("\n", f);
		xml_text(f, n->info);
	}
	fputs("</title>", f);
}

static void leaves(FILE *f, const struct tm_node **path, size_t depth)
{
	const struct tm_node *n = path[depth - 1];
	static const unsigned light[] = {42, 58, 72};

	if (n->w <= 0 || n->h <= 0)
		return;
	if (n->nkids && depth < 8) {
		for (size_t i = 0; i < n->nkids; i++) {
			path[depth] = &n->kids[i];
			leaves(f, path, depth + 1);
		}
		return;
	}
	fprintf(f,
	        "<rect class=\"leaf\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
	        "data-value=\"%llu\" fill=\"hsl(%u,55%%,%u%%)\">",
	        n->x, n->y, n->w, n->h, (unsigned long long)n->value, n->hue, light[n->shade % 3]);
	tooltip(f, path, depth);
	fputs("</rect>\n", f);
}

void svg_treemap(FILE *f, const struct tm_node *root, double w, double h, const char *id)
{
	const struct tm_node *path[9] = {root};

	fprintf(f,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"%s\" class=\"treemap\" "
	        "viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\">\n",
	        id, w, h, w, h);
	fputs("<g class=\"leaves\" stroke=\"#fff\" stroke-width=\"0.5\">\n", f);
	leaves(f, path, 1);
	fputs("</g>\n<g class=\"groups\" fill=\"none\" stroke=\"#222\" stroke-width=\"1.5\">\n", f);
	for (size_t i = 0; i < root->nkids; i++) {
		const struct tm_node *g = &root->kids[i];
		if (g->w <= 0 || g->h <= 0)
			continue;
		fprintf(
		    f,
		    "<rect class=\"group\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
		    "data-name=\"",
		    g->x, g->y, g->w, g->h);
		xml_text(f, g->label);
		fputs("\"/>\n", f);
	}
	fputs("</g>\n<g class=\"labels\" font-size=\"12\" fill=\"#000\">\n", f);
	for (size_t i = 0; i < root->nkids; i++) {
		const struct tm_node *g = &root->kids[i];
		size_t room = (size_t)(g->w / 7.5); /* characters of 12 px that fit */
		if (g->h < 16 || room < 4)
			continue;
		fprintf(f, "<text x=\"%.2f\" y=\"%.2f\">", g->x + 3, g->y + 13);
		if (strlen(g->label) <= room) {
			xml_text(f, g->label);
		} else { /* cut on a character: xml_text takes it whole or as U+FFFD */
			char *cut = strndup(g->label, room - 1);
			xml_text(f, cut);
			fputs("\xe2\x80\xa6", f); /* … */
			free(cut);
		}
		fputs("</text>\n", f);
	}
	fputs("</g>\n</svg>\n", f);
}

static const char *const part_colours[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2",
                                           "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                                           "#9c755f", "#bab0ac", "#86bcb6", "#d37295"};
#define NCOLOURS (sizeof(part_colours) / sizeof(part_colours[0]))

void svg_stacked_bar(FILE *f, const struct svg_part *parts, size_t n, uint64_t whole, double w,
                     const char *id)
{
	double x = 0, bar = 36, line = 18;
	size_t rows = (n + 2) / 3;

	if (!whole)
		for (size_t i = 0; i < n; i++)
			whole += parts[i].bytes == ML_UNKNOWN ? 0 : parts[i].bytes;
	fprintf(f,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"%s\" class=\"stacked\" "
	        "viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\">\n",
	        id, w, bar + 8 + line * (double)rows, w, bar + 8 + line * (double)rows);
	for (size_t i = 0; i < n; i++) {
		uint64_t b = parts[i].bytes == ML_UNKNOWN ? 0 : parts[i].bytes;
		double pw = whole ? w * (double)b / (double)whole : 0;
		fprintf(f,
		        "<rect class=\"part\" x=\"%.2f\" y=\"0\" width=\"%.2f\" height=\"%.0f\" "
		        "fill=\"%s\" data-name=\"",
		        x, pw, bar, part_colours[i % NCOLOURS]);
		xml_text(f, parts[i].name);
		fprintf(f, "\" data-value=\"%llu\"><title>", (unsigned long long)parts[i].bytes);
		xml_text(f, parts[i].name);
		fputs(": ", f);
		size_text(f, parts[i].bytes);
		fputs("</title></rect>\n", f);
		x += pw;
	}
	for (size_t i = 0; i < n; i++) {
		double lx = (double)(i % 3) * w / 3, ly = bar + 8 + line * (double)(i / 3);
		fprintf(f,
		        "<rect x=\"%.2f\" y=\"%.2f\" width=\"12\" height=\"12\" fill=\"%s\"/>"
		        "<text x=\"%.2f\" y=\"%.2f\" font-size=\"12\">",
		        lx, ly, part_colours[i % NCOLOURS], lx + 16, ly + 10);
		xml_text(f, parts[i].name);
		fputs(" ", f);
		size_text(f, parts[i].bytes);
		fputs("</text>\n", f);
	}
	fputs("</svg>\n", f);
}

static uint64_t known(uint64_t v)
{
	return v == ML_UNKNOWN ? 0 : v;
}

void svg_hbars(FILE *f, const struct svg_hbar *rows, size_t n, double w, const char *id)
{
	double label = 200, row = 20, scale, most = 0;
	static const char *const fill[] = {"#4e79a7", "#a0cbe8", "#bab0ac"};

	for (size_t i = 0; i < n; i++) {
		double sum =
		    (double)(known(rows[i].own) + known(rows[i].shared) + known(rows[i].swap));
		most = most_of(most, most_of(sum, (double)known(rows[i].mark)));
	}
	scale = most > 0 ? (w - label - 80) / most : 0;
	fprintf(f,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"%s\" class=\"hbars\" "
	        "viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\">\n",
	        id, w, row * (double)n + 4, w, row * (double)n + 4);
	for (size_t i = 0; i < n; i++) {
		const struct svg_hbar *r = &rows[i];
		uint64_t part[3] = {known(r->own), known(r->shared), known(r->swap)};
		double x = label, y = row * (double)i + 2;
		fprintf(f,
		        "<g class=\"bar\"><text x=\"%.0f\" y=\"%.2f\" font-size=\"12\" "
		        "text-anchor=\"end\">",
		        label - 6, y + 13);
		xml_text(f, r->label);
		fputs("</text>", f);
		for (size_t k = 0; k < 3; k++) {
			fprintf(f,
			        "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.0f\" "
			        "fill=\"%s\"/>",
			        x, y, (double)part[k] * scale, row - 4, fill[k]);
			x += (double)part[k] * scale;
		}
		if (r->mark != ML_UNKNOWN)
			fprintf(f,
			        "<line x1=\"%.2f\" x2=\"%.2f\" y1=\"%.2f\" y2=\"%.2f\" "
			        "stroke=\"#e15759\" stroke-width=\"2\"/>",
			        label + (double)r->mark * scale, label + (double)r->mark * scale,
			        y - 1, y + row - 3);
		fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"11\">", x + 4, y + 13);
		size_text(f, r->own == ML_UNKNOWN || r->shared == ML_UNKNOWN ? ML_UNKNOWN
		                                                             : r->own + r->shared);
		fputs("</text><title>", f);
		xml_text(f, r->label);
		fputs(": USS ", f);
		size_text(f, r->own);
		fputs(", shared ", f);
		size_text(f, r->shared);
		fputs(", swap ", f);
		size_text(f, r->swap);
		if (r->mark != ML_UNKNOWN) {
			fputs(", FREED ", f);
			size_text(f, r->mark);
		}
		fputs("</title></g>\n", f);
	}
	fputs("</svg>\n", f);
}

void svg_kills(FILE *f, const struct svg_kill *rows, size_t n, uint64_t free_now, uint64_t ram,
               double w, const char *id)
{
	double label = 240, row = 20, scale, most = 0;

	for (size_t i = 0; i < n; i++)
		most = most_of(most, (double)known(rows[i].cum));
	scale = most > 0 ? (w - label - 150) / most : 0;
	fprintf(f,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"%s\" class=\"kills\" "
	        "viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\">\n",
	        id, w, row * (double)n + 4, w, row * (double)n + 4);
	for (size_t i = 0; i < n; i++) {
		const struct svg_kill *r = &rows[i];
		uint64_t cum = known(r->cum), mine = known(r->freed) < cum ? known(r->freed) : cum;
		double y = row * (double)i + 2, before = (double)(cum - mine) * scale;
		fprintf(f,
		        "<g class=\"kill\"><text x=\"%.0f\" y=\"%.2f\" font-size=\"12\" "
		        "text-anchor=\"end\">",
		        label - 6, y + 13);
		xml_text(f, r->label);
		fprintf(f,
		        "</text><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.0f\" "
		        "fill=\"#a0cbe8\"/><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
		        "height=\"%.0f\" fill=\"#4e79a7\"/>",
		        label, y, before, row - 4, label + before, y, (double)mine * scale,
		        row - 4);
		fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"11\">",
		        label + before + (double)mine * scale + 4, y + 13);
		size_text(f, r->cum);
		if (free_now != ML_UNKNOWN && r->cum != ML_UNKNOWN) {
			fputs(", then free ", f);
			size_text(f, free_now + r->cum);
			if (ram != ML_UNKNOWN) {
				fprintf(f, " (%.0f%%)",
				        100.0 * (double)(free_now + r->cum) / (double)ram);
			}
		}
		fputs("</text><title>", f);
		xml_text(f, r->label);
		fputs(": this kill gives back ", f);
		size_text(f, r->freed);
		fputs(", all kills up to it ", f);
		size_text(f, r->cum);
		fputs("</title></g>\n", f);
	}
	fputs("</svg>\n", f);
}

/* "+12.4M" or "-3M". */
static void signed_size_text(FILE *f, int64_t v)
{
	char buf[32];

	out_format_size(v < 0 ? (uint64_t)-v : (uint64_t)v, buf, sizeof(buf));
	fprintf(f, "%s%s", v < 0 ? "-" : "+", buf);
}

void svg_delta_bars(FILE *f, const struct svg_delta *rows, size_t n, double w, const char *id)
{
	double label = 260, row = 20, mid = label + (w - label) / 2, most = 0, scale;

	for (size_t i = 0; i < n; i++)
		if (rows[i].known)
			most = most_of(most, fabs((double)rows[i].delta));
	scale = most > 0 ? ((w - label) / 2 - 70) / most : 0;
	fprintf(f,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"%s\" class=\"deltas\" "
	        "viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\">\n"
	        "<line x1=\"%.2f\" x2=\"%.2f\" y1=\"0\" y2=\"%.2f\" stroke=\"#888\"/>\n",
	        id, w, row * (double)n + 4, w, row * (double)n + 4, mid, mid, row * (double)n + 4);
	for (size_t i = 0; i < n; i++) {
		const struct svg_delta *r = &rows[i];
		double y = row * (double)i + 2, len = r->known ? fabs((double)r->delta) * scale : 0;
		double x = r->known && r->delta < 0 ? mid - len : mid;
		fprintf(f,
		        "<g class=\"delta\" data-value=\"%lld\"><text x=\"%.0f\" y=\"%.2f\" "
		        "font-size=\"12\" text-anchor=\"end\">",
		        (long long)r->delta, label - 6, y + 13);
		xml_text(f, r->label);
		fprintf(f,
		        "</text><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.0f\" "
		        "fill=\"%s\"/><text x=\"%.2f\" y=\"%.2f\" font-size=\"11\"%s>",
		        x, y, len, row - 4, r->delta < 0 ? "#59a14f" : "#e15759",
		        r->delta < 0 ? x - 4 : x + len + 4, y + 13,
		        r->delta < 0 ? " text-anchor=\"end\"" : "");
		if (r->known)
			signed_size_text(f, r->delta);
		else
			fputs("-", f);
		fputs("</text></g>\n", f);
	}
	fputs("</svg>\n", f);
}
