/* svg: write a cluster scatter plot as SVG 1.1. */
#include <math.h>
#include <stdio.h>

#include "svg.h"

#define WIDTH	900
#define HEIGHT	700
#define MARGIN	40
#define LEGEND	120	/* right-hand column for the legend */

/* Write s with XML's five special characters escaped. */
static void
put_text(FILE *fp, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", fp);
			break;
		case '>':
			fputs("&gt;", fp);
			break;
		case '&':
			fputs("&amp;", fp);
			break;
		case '"':
			fputs("&quot;", fp);
			break;
		case '\'':
			fputs("&apos;", fp);
			break;
		default:
			/* Control bytes are not allowed in XML 1.0. */
			if ((unsigned char)*s < 0x20 && *s != '\t' &&
			    *s != '\n')
				putc(' ', fp);
			else
				putc(*s, fp);
		}
	}
}

/*
 * Cluster j's colour: hues a golden angle apart, so neighbouring cluster
 * numbers get distant colours; lightness alternates to separate more.
 */
static void
put_colour(FILE *fp, size_t j)
{
	fprintf(fp, "hsl(%.1f,70%%,%d%%)", fmod((double)j * 137.508, 360.0),
	    j % 2 ? 35 : 50);
}

int
svg_scatter(FILE *fp, const struct svg_plot *pl)
{
	double	 minx, maxx, miny, maxy, scale, sx, sy, x, y, plotw, ploth;
	size_t	 i, j;

	minx = miny = INFINITY;
	maxx = maxy = -INFINITY;
	for (i = 0; i < pl->n + pl->k; i++) {
		const float	*p = i < pl->n ? pl->xy + 2 * i :
		    pl->cxy + 2 * (i - pl->n);

		if (!isfinite(p[0]) || !isfinite(p[1]))
			continue;
		minx = fmin(minx, p[0]);
		maxx = fmax(maxx, p[0]);
		miny = fmin(miny, p[1]);
		maxy = fmax(maxy, p[1]);
	}
	if (!(minx <= maxx)) {
		minx = miny = -1;
		maxx = maxy = 1;
	}
	plotw = WIDTH - LEGEND - 2 * MARGIN;
	ploth = HEIGHT - 2 * MARGIN;
	sx = maxx > minx ? plotw / (maxx - minx) : 1;
	sy = maxy > miny ? ploth / (maxy - miny) : 1;
	scale = sx < sy ? sx : sy;
	/* Centre the cloud in the plot area; y grows upward. */
#define PX(v)	(MARGIN + plotw / 2 + ((v) - (minx + maxx) / 2) * scale)
#define PY(v)	(MARGIN + ploth / 2 - ((v) - (miny + maxy) / 2) * scale)

	fprintf(fp, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
	    "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	    "font-family=\"sans-serif\" font-size=\"12\">\n"
	    "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
	    WIDTH, HEIGHT, WIDTH, HEIGHT);
	if (pl->caption != NULL) {
		fprintf(fp, "<text x=\"%d\" y=\"%d\">", MARGIN, MARGIN / 2 + 4);
		put_text(fp, pl->caption);
		fputs("</text>\n", fp);
	}
	fprintf(fp, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" "
	    "fill=\"none\" stroke=\"#ccc\"/>\n", MARGIN, MARGIN, plotw, ploth);
	for (j = 0; j < pl->k; j++) {
		fputs("<g fill=\"", fp);
		put_colour(fp, j);
		fprintf(fp, "\" fill-opacity=\"0.7\" class=\"cluster\" "
		    "id=\"cluster%zu\">\n", j);
		for (i = 0; i < pl->n; i++) {
			if (pl->cluster[i] != j)
				continue;
			x = pl->xy[2 * i];
			y = pl->xy[2 * i + 1];
			if (!isfinite(x) || !isfinite(y))
				continue;
			fprintf(fp, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\">",
			    PX(x), PY(y));
			if (pl->titles != NULL) {
				fputs("<title>", fp);
				put_text(fp, pl->titles[i]);
				fputs("</title>", fp);
			}
			fputs("</circle>\n", fp);
		}
		fputs("</g>\n", fp);
	}
	/* Centroids on top: a black-edged cross in the cluster's colour. */
	for (j = 0; j < pl->k; j++) {
		x = PX(pl->cxy[2 * j]);
		y = PY(pl->cxy[2 * j + 1]);
		if (!isfinite(x) || !isfinite(y))
			continue;
		fprintf(fp, "<g class=\"centroid\"><title>centroid %zu", j);
		if (pl->sizes != NULL)
			fprintf(fp, ": %zu records", pl->sizes[j]);
		fprintf(fp, "</title><path d=\"M%.1f %.1fl12 12m0 -12l-12 12\" "
		    "stroke=\"black\" stroke-width=\"5\"/>"
		    "<path d=\"M%.1f %.1fl12 12m0 -12l-12 12\" stroke=\"",
		    x - 6, y - 6, x - 6, y - 6);
		put_colour(fp, j);
		fputs("\" stroke-width=\"3\"/></g>\n", fp);
	}
	/* Legend: at most as many rows as fit. */
	for (j = 0; j < pl->k && MARGIN + 16 * (j + 1) < HEIGHT - MARGIN;
	    j++) {
		y = MARGIN + 16 * j;
		fprintf(fp, "<rect x=\"%d\" y=\"%.0f\" width=\"10\" "
		    "height=\"10\" fill=\"", WIDTH - LEGEND + 10, y);
		put_colour(fp, j);
		fprintf(fp, "\"/><text x=\"%d\" y=\"%.0f\">%zu", WIDTH - LEGEND +
		    26, y + 10, j);
		if (pl->sizes != NULL)
			fprintf(fp, " (%zu)", pl->sizes[j]);
		fputs("</text>\n", fp);
	}
	fputs("</svg>\n", fp);
#undef PX
#undef PY
	return ferror(fp) ? -1 : 0;
}
