/* pyr_down and pyr_up of rows of C-float pixels, as core/pyramid.py. */

/* Burt & Adelson's 5-tap binomial kernel, core/pyramid.py's _TAPS */
static const float TAP0 = 1.0f / 16, TAP1 = 4.0f / 16, TAP2 = 6.0f / 16;

/* The vertical half of pyr_down for one output row: 5 input rows of len floats into v. */
static void down_v(const float *const rows[5], i64 len, float *v)
{
    const float *a = rows[0], *b = rows[1], *m = rows[2], *d = rows[3], *e = rows[4];
    for (i64 j = 0; j < len; j++)
        v[j] = TAP0 * a[j] + TAP1 * b[j] + TAP2 * m[j] + TAP1 * d[j] + TAP0 * e[j];
}

/* The horizontal half: v (w pixels of C floats, with 2 pixels before and after it that
 * are set here to the edge pixels, then PAD floats) -> out, every second pixel from the
 * first: ceil(w / 2) pixels. */
static void down_h(float *v, i64 w, i64 C, float *out)
{
    i64 wo = (w + 1) / 2;
    for (i64 c = 0; c < C; c++) {
        v[c - 2 * C] = v[c - C] = v[c];
        v[w * C + c] = v[(w + 1) * C + c] = v[(w - 1) * C + c];
    }
    if (C == 1) {
        for (i64 x = 0; x < wo; x++)
            out[x] = TAP0 * v[2 * x - 2] + TAP1 * v[2 * x - 1] + TAP2 * v[2 * x]
                   + TAP1 * v[2 * x + 1] + TAP0 * v[2 * x + 2];
    } else if (C == 3 || C == 4) {
        for (i64 x = 0; x < wo; x++) {
            const float *p = v + (2 * x - 2) * C;
            px a = px_load(p), b = px_load(p + C), m = px_load(p + 2 * C);
            px d = px_load(p + 3 * C), e = px_load(p + 4 * C), o;
            for (int l = 0; l < 4; l++)
                o.v[l] = TAP0 * a.v[l] + TAP1 * b.v[l] + TAP2 * m.v[l] + TAP1 * d.v[l]
                       + TAP0 * e.v[l];
            px_store(out + x * C, o);
        }
    } else {
        for (i64 x = 0; x < wo; x++)
            for (i64 c = 0; c < C; c++) {
                const float *p = v + (2 * x - 2) * C + c;
                out[x * C + c] = TAP0 * p[0] + TAP1 * p[C] + TAP2 * p[2 * C]
                               + TAP1 * p[3 * C] + TAP0 * p[4 * C];
            }
    }
}

/* ------------------------------------------------------------------ pyr_up */

/* Linear interpolation from n to out samples, pixel centres at +0.5 (core/pyramid.py's
 * _linear): out == n copies; out == 2 n weighs by 3/4, 1/4 and copies the edges; other
 * sizes weigh the two neighbours of each output sample by distance. */
enum { LERP_COPY, LERP_DOUBLE, LERP_TABLE };

typedef struct {
    i64 n, out;
    int kind;
    i64 *i0, *i1;         /* per output sample: its two source samples ... */
    float *w0, *w1;       /* ... and their weights */
    unsigned char *copy;  /* 1: the output is source sample i0 itself */
} lerp;

static int lerp_init(lerp *l, i64 n, i64 out)
{
    l->n = n;
    l->out = out;
    l->kind = out == n ? LERP_COPY : out == 2 * n ? LERP_DOUBLE : LERP_TABLE;
    l->i0 = malloc(sizeof(i64) * out);
    l->i1 = malloc(sizeof(i64) * out);
    l->w0 = malloc(sizeof(float) * out);
    l->w1 = malloc(sizeof(float) * out);
    l->copy = malloc(out);
    if (!l->i0 || !l->i1 || !l->w0 || !l->w1 || !l->copy) return 1;
    float scale = (float)((double)n / (double)out);  /* as torch: float32 arithmetic */
    for (i64 j = 0; j < out; j++) {
        i64 a = j, b = j;
        float wa = 1.0f, wb = 0.0f;
        int copy = 1;
        if (l->kind == LERP_DOUBLE) {
            a = j / 2;
            b = j % 2 ? a + 1 : a - 1;
            wa = 0.75f;
            wb = 0.25f;
            copy = b < 0 || b >= n;
        } else if (l->kind == LERP_TABLE) {
            float pos = ((float)j + 0.5f) * scale - 0.5f;
            if (pos < 0.0f) pos = 0.0f;
            a = imin((i64)pos, n - 1);
            b = imin(a + 1, n - 1);
            wb = pos - (float)a;
            wa = 1.0f - wb;
            copy = 0;
        }
        l->i0[j] = a;
        l->i1[j] = copy ? a : b;
        l->w0[j] = wa;
        l->w1[j] = wb;
        l->copy[j] = (unsigned char)copy;
    }
    return 0;
}

static void lerp_free(lerp *l)
{
    free(l->i0);
    free(l->i1);
    free(l->w0);
    free(l->w1);
    free(l->copy);
}

/* The source samples [*a, *b) that outputs [j0, j1) read (j0 < j1). */
static void lerp_sources(const lerp *l, i64 j0, i64 j1, i64 *a, i64 *b)
{
    *a = imin(l->i0[j0], l->i1[j0]);
    *b = imax(l->i0[j1 - 1], l->i1[j1 - 1]) + 1;
}

/* Output row j of the vertical interpolation of a level (rows of stride ls), floats
 * [f0, f1) only. */
static void up_v(const lerp *l, i64 j, const float *level, i64 ls, i64 f0, i64 f1, float *out)
{
    const float *a = level + l->i0[j] * ls;
    if (l->copy[j]) {
        memcpy(out + f0, a + f0, sizeof(float) * (f1 - f0));
        return;
    }
    const float *b = level + l->i1[j] * ls;
    float wa = l->w0[j], wb = l->w1[j];
    for (i64 i = f0; i < f1; i++) out[i] = a[i] * wa + b[i] * wb;
}

/* The horizontal interpolation of a row of C-float pixels, output pixels [j0, j1) (and
 * maybe the pixels either side of them): in (l->n pixels, PAD after) -> out (l->out). */
static void up_h(const lerp *l, const float *in, i64 C, i64 j0, i64 j1, float *out)
{
    i64 n = l->n;
    if (l->kind == LERP_COPY) {
        memcpy(out + j0 * C, in + j0 * C, sizeof(float) * (j1 - j0) * C);
    } else if (l->kind == LERP_DOUBLE) {
        /* pair k: outputs 2 k - 1 and 2 k from inputs k - 1 and k; outputs 0 and 2 n - 1
         * copy the edge inputs */
        i64 k0 = imax(1, (j0 + 1) / 2), k1 = imin(n - 1, j1 / 2);
        if (j0 == 0) memcpy(out, in, sizeof(float) * C);
#ifdef PAIRS
        if (C == 3) {  /* [in k - 1, in k] * 3/4 + [in k, in k - 1] * 1/4 */
            for (i64 k = k0; k <= k1; k++) {
                vec a = vload(in + (k - 1) * 3);
                vec o = a * 0.75f + SWAP_PIXELS(a) * 0.25f;
                memcpy(out + (2 * k - 1) * 3, &o, sizeof(o));
            }
        } else
#endif
        if (C == 3 || C == 4) {
            for (i64 k = k0; k <= k1; k++) {
                px a = px_load(in + (k - 1) * C), b = px_load(in + k * C);
                px_store(out + (2 * k - 1) * C, px_lerp(a, 0.75f, b, 0.25f));
                px_store(out + 2 * k * C, px_lerp(b, 0.75f, a, 0.25f));
            }
        } else {
            for (i64 k = k0; k <= k1; k++)
                for (i64 c = 0; c < C; c++) {
                    float a = in[(k - 1) * C + c], b = in[k * C + c];
                    out[(2 * k - 1) * C + c] = a * 0.75f + b * 0.25f;
                    out[2 * k * C + c] = b * 0.75f + a * 0.25f;
                }
        }
        if (j1 == 2 * n) memcpy(out + (2 * n - 1) * C, in + (n - 1) * C, sizeof(float) * C);
    } else if (C == 3 || C == 4) {
        for (i64 j = j0; j < j1; j++)
            px_store(out + j * C, px_lerp(px_load(in + l->i0[j] * C), l->w0[j],
                                          px_load(in + l->i1[j] * C), l->w1[j]));
    } else {
        for (i64 j = j0; j < j1; j++)
            for (i64 c = 0; c < C; c++)
                out[j * C + c] = in[l->i0[j] * C + c] * l->w0[j] + in[l->i1[j] * C + c] * l->w1[j];
    }
}

/* m (w floats, 8 readable) repeated over each pixel's C channels into out (w C floats,
 * PAD after) */
static void spread(const float *m, i64 w, i64 C, float *out)
{
    if (C == 1) {
        memcpy(out, m, sizeof(float) * w);
    } else if (C == 3 || C == 4) {
        i64 x = 0;
#ifdef PAIRS
        if (C == 3)  /* m reads up to 8 floats from x: see the buffers' padding */
            for (; x + 2 <= w; x += 2) {
                vec a = SPREAD_PAIR(vload(m + x));
                memcpy(out + 3 * x, &a, sizeof(a));
            }
#endif
        for (; x < w; x++) {
            px a = {{m[x], m[x], m[x], m[x]}};
            px_store(out + x * C, a);
        }
    } else {
        for (i64 x = 0; x < w; x++)
            for (i64 c = 0; c < C; c++) out[x * C + c] = m[x];
    }
}
