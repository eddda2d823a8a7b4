/* classify: kNN votes and their evaluation. */
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "util.h"

size_t
classify_vote(const size_t *label, const double *weight, size_t n,
    int weighted, double *scratch, double *confidence)
{
	size_t	 i, best = (size_t)-1;
	double	 total = 0, w;

	for (i = 0; i < n; i++)
		scratch[label[i]] = 0;
	for (i = 0; i < n; i++) {
		w = weighted ? weight[i] : 1;
		scratch[label[i]] += w;
		total += w;
	}
	/* Scanning best first, a later label must beat the total strictly. */
	for (i = 0; i < n; i++)
		if (best == (size_t)-1 || scratch[label[i]] > scratch[best])
			best = label[i];
	if (best != (size_t)-1)
		*confidence = total > 0 ? scratch[best] / total : 0;
	return best;
}

void
classify_eval_init(struct classify_eval *e)
{
	memset(e, 0, sizeof(*e));
}

void
classify_eval_free(struct classify_eval *e)
{
	free(e->truth);
	free(e->pred);
	memset(e, 0, sizeof(*e));
}

void
classify_eval_add(struct classify_eval *e, size_t truth, size_t pred)
{
	if (e->n == e->cap) {
		e->cap = e->cap == 0 ? 256 : 2 * e->cap;
		e->truth = xreallocarray(e->truth, e->cap, sizeof(*e->truth));
		e->pred = xreallocarray(e->pred, e->cap, sizeof(*e->pred));
	}
	e->truth[e->n] = truth;
	e->pred[e->n++] = pred;
}

static const struct strtab *sort_labels;

static int
label_cmp(const void *a, const void *b)
{
	return strcmp(sort_labels->str[*(const size_t *)a],
	    sort_labels->str[*(const size_t *)b]);
}

static double
ratio(size_t a, size_t b)
{
	return b == 0 ? 0 : (double)a / b;
}

int
classify_eval_report(const struct classify_eval *e, const struct strtab *labels,
    FILE *fp)
{
	size_t	*order, *pos, *conf, nl = labels->n, nc = 0, i, j, l, correct = 0;
	size_t	 tp, npred, ntrue;
	double	 p, r, f, sum_f1 = 0;
	int	 rc = 0, none = 0;

	/* Columns: the labels that occur as truth or prediction, sorted. */
	pos = xreallocarray(NULL, nl + 1, sizeof(*pos));
	for (l = 0; l < nl; l++)
		pos[l] = (size_t)-1;
	for (i = 0; i < e->n; i++) {
		pos[e->truth[i]] = 0;
		if (e->pred[i] != (size_t)-1)
			pos[e->pred[i]] = 0;
	}
	order = xreallocarray(NULL, nl + 1, sizeof(*order));
	for (l = 0; l < nl; l++)
		if (pos[l] == 0)
			order[nc++] = l;
	sort_labels = labels;
	qsort(order, nc, sizeof(*order), label_cmp);
	for (j = 0; j < nc; j++)
		pos[order[j]] = j;
	/* One more column for queries left without a prediction. */
	conf = xcalloc((nc + 1) * (nc + 1), sizeof(*conf));
	for (i = 0; i < e->n; i++) {
		none |= e->pred[i] == (size_t)-1;
		j = e->pred[i] == (size_t)-1 ? nc : pos[e->pred[i]];
		conf[pos[e->truth[i]] * (nc + 1) + j]++;
		correct += e->pred[i] == e->truth[i];
	}
	for (j = 0; j < nc; j++) {
		tp = conf[j * (nc + 1) + j];
		for (npred = ntrue = i = 0; i <= nc; i++) {
			npred += conf[i * (nc + 1) + j];
			ntrue += conf[j * (nc + 1) + i];
		}
		p = ratio(tp, npred);
		r = ratio(tp, ntrue);
		sum_f1 += p + r > 0 ? 2 * p * r / (p + r) : 0;
	}
	if (fprintf(fp, "accuracy\t%.4f\t%zu/%zu\n", ratio(correct, e->n),
	    correct, e->n) < 0 || fprintf(fp, "macro-F1\t%.4f\n",
	    nc > 0 ? sum_f1 / nc : 0) < 0 ||
	    fputs("label\tprecision\trecall\tF1\tsupport\n", fp) == EOF)
		rc = -1;
	for (j = 0; j < nc && rc == 0; j++) {
		tp = conf[j * (nc + 1) + j];
		for (npred = ntrue = i = 0; i <= nc; i++) {
			npred += conf[i * (nc + 1) + j];
			ntrue += conf[j * (nc + 1) + i];
		}
		p = ratio(tp, npred);
		r = ratio(tp, ntrue);
		f = p + r > 0 ? 2 * p * r / (p + r) : 0;
		if (results_put_field(fp, labels->str[order[j]],
		    strlen(labels->str[order[j]])) == -1 ||
		    fprintf(fp, "\t%.4f\t%.4f\t%.4f\t%zu\n", p, r, f,
		    ntrue) < 0)
			rc = -1;
	}
	if (rc == 0 && fputs("confusion\t(rows: true label, columns: predicted)\n",
	    fp) == EOF)
		rc = -1;
	for (j = 0; j < nc && rc == 0; j++) {
		if (fputc('\t', fp) == EOF || results_put_field(fp,
		    labels->str[order[j]], strlen(labels->str[order[j]])) == -1)
			rc = -1;
	}
	if (rc == 0 && fputs(none ? "\t(none)\n" : "\n", fp) == EOF)
		rc = -1;
	for (i = 0; i < nc && rc == 0; i++) {
		if (results_put_field(fp, labels->str[order[i]],
		    strlen(labels->str[order[i]])) == -1)
			rc = -1;
		for (j = 0; j < nc + none && rc == 0; j++)
			if (fprintf(fp, "\t%zu", conf[i * (nc + 1) + j]) < 0)
				rc = -1;
		if (rc == 0 && fputc('\n', fp) == EOF)
			rc = -1;
	}
	free(pos);
	free(order);
	free(conf);
	return rc;
}
