/*
 * svg: a scatter plot of clustered points as a standalone SVG document,
 * which any browser opens: one colour per cluster, centroids marked with
 * a cross, and each point's name as its hover title.
 */
#ifndef DS_SVG_H
#define DS_SVG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct svg_plot {
	const float	*xy;		/* n x 2 coordinates */
	const uint32_t	*cluster;	/* n: cluster of each point, < k */
	const char *const *titles;	/* n hover titles, or NULL */
	size_t		 n;
	const float	*cxy;		/* k x 2 centroid coordinates */
	const size_t	*sizes;		/* k cluster sizes, or NULL */
	size_t		 k;
	const char	*caption;	/* a line above the plot, or NULL */
};

/*
 * Write the plot to fp.  Text is escaped for XML; both axes share one
 * scale, so distances in the picture are true to the coordinates.
 * Returns 0, or -1 on a write error (errno set).
 */
int	svg_scatter(FILE *fp, const struct svg_plot *);

#endif
