#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "series.h"

struct mdas_series_table {
	size_t window;
	struct mdas_series **list;      /* creation order */
	size_t n, cap;
	struct mdas_series **hash;      /* open addressing, size a power of 2 */
	size_t hcap;
};

struct mdas_series_table *
mdas_series_table_new(size_t window)
{
	struct mdas_series_table *t;

	if (window < 2)
		window = 2;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->window = window;
	t->hcap = 64;
	if ((t->hash = calloc(t->hcap, sizeof(*t->hash))) == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

static void
series_free(struct mdas_series *s)
{
	if (s == NULL)
		return;
	free(s->source);
	free(s->symbol);
	free(s->interval);
	free(s->window);
	free(s->held);
	free(s);
}

void
mdas_series_table_free(struct mdas_series_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		series_free(t->list[i]);
	free(t->list);
	free(t->hash);
	free(t);
}

/* FNV-1a over the three parts, with separators. */
static size_t
key_hash(const char *source, const char *symbol, const char *interval)
{
	const char *parts[3] = { source, symbol, interval ? interval : "" };
	uint64_t h = 1469598103934665603ULL;
	const unsigned char *p;
	int i;

	for (i = 0; i < 3; i++) {
		for (p = (const unsigned char *)parts[i]; *p; p++)
			h = (h ^ *p) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL;
	}
	return (size_t)h;
}

static int
same(const struct mdas_series *s, const char *source, const char *symbol,
    const char *interval)
{
	return strcmp(s->source, source) == 0 && strcmp(s->symbol, symbol) == 0 &&
	    strcmp(s->interval ? s->interval : "", interval ? interval : "") == 0;
}

static int
rehash(struct mdas_series_table *t)
{
	struct mdas_series **h;
	size_t cap = t->hcap * 2, i, j;

	if ((h = calloc(cap, sizeof(*h))) == NULL)
		return -1;
	for (i = 0; i < t->n; i++) {
		struct mdas_series *s = t->list[i];

		j = key_hash(s->source, s->symbol, s->interval) & (cap - 1);
		while (h[j] != NULL)
			j = (j + 1) & (cap - 1);
		h[j] = s;
	}
	free(t->hash);
	t->hash = h;
	t->hcap = cap;
	return 0;
}

struct mdas_series *
mdas_series_get(struct mdas_series_table *t, const char *source,
    const char *symbol, const char *interval, struct mdas_error *err)
{
	struct mdas_series *s, **list;
	size_t j;

	j = key_hash(source, symbol, interval) & (t->hcap - 1);
	for (; (s = t->hash[j]) != NULL; j = (j + 1) & (t->hcap - 1))
		if (same(s, source, symbol, interval))
			return s;

	if ((t->n + 1) * 2 > t->hcap) {
		if (rehash(t) < 0)
			goto nomem;
		return mdas_series_get(t, source, symbol, interval, err);
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;

		if ((list = realloc(t->list, cap * sizeof(*list))) == NULL)
			goto nomem;
		t->list = list;
		t->cap = cap;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto nomem;
	s->source = strdup(source);
	s->symbol = strdup(symbol);
	s->interval = interval ? strdup(interval) : NULL;
	s->window = malloc(t->window * sizeof(double));
	if (s->source == NULL || s->symbol == NULL || s->window == NULL ||
	    (interval != NULL && s->interval == NULL)) {
		series_free(s);
		goto nomem;
	}
	t->list[t->n++] = s;
	t->hash[j] = s;
	return s;
nomem:
	mdas_error_errno(err, errno ? errno : ENOMEM, "series table");
	return NULL;
}

struct mdas_series *
mdas_series_nth(struct mdas_series_table *t, size_t i)
{
	return i < t->n ? t->list[i] : NULL;
}

size_t
mdas_series_count(const struct mdas_series_table *t)
{
	return t->n;
}

static void
set_from_prev(struct mdas_record *r, enum mdas_rec_num which,
    const struct mdas_prev *p)
{
	if (p->len > 0)
		mdas_record_set_num_text(r, which, p->v, p->text, p->len);
	else
		mdas_record_set_num(r, which, p->v);
}

static void
remember(struct mdas_prev *p, const struct mdas_record *r, enum mdas_rec_num which)
{
	const struct mdas_num *n = &r->num[which];

	if (isnan(n->v))
		return;
	p->set = 1;
	p->v = n->v;
	p->len = 0;
	if (n->len > 0 && n->len < sizeof(p->text)) {
		memcpy(p->text, n->text, n->len);
		p->len = n->len;
	}
}

int
mdas_series_ffill(const struct mdas_series *s, struct mdas_record *r)
{
	if (!s->close.set)
		return -1;
	set_from_prev(r, MDAS_N_OPEN, &s->close);
	set_from_prev(r, MDAS_N_HIGH, &s->close);
	set_from_prev(r, MDAS_N_LOW, &s->close);
	set_from_prev(r, MDAS_N_CLOSE, &s->close);
	mdas_record_set_num_text(r, MDAS_N_VOLUME, 0, "0", 1);
	r->imputed |= MDAS_IMPUTED_OPEN | MDAS_IMPUTED_HIGH | MDAS_IMPUTED_LOW |
	    MDAS_IMPUTED_CLOSE | MDAS_IMPUTED_VOLUME;
	if (s->adj_close.set) {
		set_from_prev(r, MDAS_N_ADJ_CLOSE, &s->adj_close);
		r->imputed |= MDAS_IMPUTED_ADJ_CLOSE;
	}
	return 0;
}

/* Sample standard deviation of the ring, two passes (the mean first) so
 * that it matches a textbook computation to the last few bits. */
static double
window_sd(const double *w, size_t n)
{
	double mean = 0, ss = 0;
	size_t i;

	for (i = 0; i < n; i++)
		mean += w[i];
	mean /= (double)n;
	for (i = 0; i < n; i++)
		ss += (w[i] - mean) * (w[i] - mean);
	return sqrt(ss / (double)(n - 1));
}

void
mdas_series_complete(struct mdas_series_table *t, struct mdas_series *s,
    struct mdas_record *r)
{
	double close = r->num[MDAS_N_CLOSE].v;

	if (s->close.set)
		set_from_prev(r, MDAS_N_PREV_CLOSE, &s->close);
	mdas_record_derive(r);
	/* A ratio of prices within the bounds can still overflow or vanish
	 * (9e17 then 5e-324): such a return is null, and not in the window,
	 * whose deviation would become inf or NaN. */
	if (s->close.set && !isnan(close) && close > 0 && s->close.v > 0 &&
	    !(r->imputed & MDAS_IMPUTED_CLOSE) &&
	    mdas_record_set_metric(r, MDAS_N_LOG_RETURN, log(close / s->close.v)) == 0) {
		double lr = log(close / s->close.v);

		s->window[s->wpos] = lr;
		s->wpos = (s->wpos + 1) % t->window;
		if (s->wcount < t->window)
			s->wcount++;
		if (s->wcount == t->window)
			mdas_record_set_metric(r, MDAS_N_ROLLING_VOL,
			    window_sd(s->window, t->window));
	}
	remember(&s->close, r, MDAS_N_CLOSE);
	remember(&s->adj_close, r, MDAS_N_ADJ_CLOSE);
	s->has_written = 1;
	s->last_written_ts = r->ts_ms;
}
