/*
 * classify: k-nearest-neighbour votes, and the figures that judge them
 * (accuracy, macro-F1, per-class precision and recall, confusion matrix).
 * Labels are numbers from a strtab (lib/results.h).
 */
#ifndef DS_CLASSIFY_H
#define DS_CLASSIFY_H

#include <stddef.h>
#include <stdio.h>

#include "results.h"

/*
 * Vote among n neighbours, best first: label[i] and weight[i] (ignored
 * when weighted is 0, where each neighbour counts 1).  The label with the
 * largest total wins; between equal totals, the label of the better
 * ranked neighbour.  Returns the label and sets *confidence to its share
 * of the total (0 when the total is 0), or returns (size_t)-1 for n = 0.
 * scratch holds nlabels doubles.
 */
size_t	classify_vote(const size_t *label, const double *weight, size_t n,
	    int weighted, double *scratch, double *confidence);

/* True and predicted labels of each query, kept for the report. */
struct classify_eval {
	size_t	*truth, *pred;	/* pred (size_t)-1: no prediction */
	size_t	 n, cap;
};

void	classify_eval_init(struct classify_eval *);
void	classify_eval_free(struct classify_eval *);
void	classify_eval_add(struct classify_eval *, size_t truth, size_t pred);

/*
 * Write the report to fp: accuracy, macro-F1 over every label seen as
 * truth or prediction, then per label precision, recall, F1 and support,
 * then the confusion matrix (rows true, columns predicted, and a column
 * "(none)" if some query got no prediction), labels in byte order.
 * Labels are escaped as TSV fields.  Returns -1 on a write
 * error.
 */
int	classify_eval_report(const struct classify_eval *,
	    const struct strtab *labels, FILE *fp);

#endif
