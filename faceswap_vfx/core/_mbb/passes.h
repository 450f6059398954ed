/* The pyramid and its passes: pass A (G_1 from source - target), pyr_down of the
 * coarser levels, and the bands' rows (pass B at level 0: the output). */

typedef struct {
    i64 C, n_gauss, n_face;  /* levels of diff's Gaussian pyramid; face bands */
    i64 *h, *w, *ls;         /* per level: size, row stride (floats) */
    float **gauss;           /* [1, n_gauss): Gaussian levels of diff */
    float **band;            /* [1, n_face): collapsed face bands */
    float **mask;            /* [1, n_face): blurred level masks (h, w) */
    float **pooled;          /* [1, n_face): area-averaged level masks before the blur */
    box *support;            /* [0, n_face): where each level's blurred mask may be nonzero */
    lerp *vert, *horz;       /* [1, n_gauss): level i -> level i - 1 */
    mask_src mask0;          /* level 0's mask: blurred row by row in pass B */
    i64 **ones;              /* [0, n_face): each level mask's runs of 1s (mask_src.ones) */
    int finite;              /* diff and gauss[1] hold no Inf or NaN */
    image s, t, o;
} pyramid;

/* whether x[0, n) holds no Inf or NaN */
static int all_finite(const float *x, i64 n)
{
    int ok = 1;
    for (i64 j = 0; j < n; j++) ok &= x[j] - x[j] == 0.0f;
    return ok;
}

/* count rows of len floats, PAD after each, zeroed */
static float *row_buffers(i64 count, i64 len) { return calloc(count * (len + PAD), sizeof(float)); }

/* pass A: gauss[1] = pyr_down(source - target), diff rows kept in a ring of 5; reports
 * NONFINITE when gauss[1] holds an Inf or NaN (as it does when diff does: every pixel of
 * diff has a nonzero weight in some pixel of gauss[1]). */
static void pass_a_rows(void *arg, i64 row0, i64 row1, int *flags)
{
    const pyramid *p = (const pyramid *)arg;
    i64 C = p->C, H = p->h[0], W = p->w[0], len = (W + 4) * C + PAD;
    float *buf = calloc(8 * len, sizeof(float));  /* ring of 5, source, target, v */
    if (!buf) {
        *flags |= FAILED;
        return;
    }
    float *sbuf = buf + 5 * len, *tbuf = sbuf + len, *v = tbuf + len + 2 * C;
    i64 tags[5] = {-1, -1, -1, -1, -1};
    int finite = 1;
    for (i64 y = row0; y < row1; y++) {
        const float *rows[5];
        i64 fresh[5], n_fresh = 0;  /* input rows not in the ring yet */
        for (i64 k = 0; k < 5; k++) {
            i64 yy = iclamp(2 * y + k - 2, 0, H - 1);
            if (tags[yy % 5] != yy) {
                tags[yy % 5] = yy;
                fresh[n_fresh++] = yy;
            }
            rows[k] = buf + (yy % 5) * len;
        }
        for (i64 x0 = 0; x0 < W; x0 += CHUNK) {  /* new diff rows and v, step by step */
            i64 x1 = imin(W, x0 + CHUNK), f0 = x0 * C, f1 = x1 * C;
            for (i64 f = 0; f < n_fresh; f++) {
                float *slot = buf + (fresh[f] % 5) * len;
                const float *a = load_row(&p->s, C, fresh[f], x0, x1, sbuf);
                const float *b = load_row(&p->t, C, fresh[f], x0, x1, tbuf);
                for (i64 j = f0; j < f1; j++) slot[j] = a[j] - b[j];
            }
            const float *part[5] = {rows[0] + f0, rows[1] + f0, rows[2] + f0, rows[3] + f0,
                                    rows[4] + f0};
            down_v(part, f1 - f0, v + f0);
        }
        float *out = p->gauss[1] + y * p->ls[1];
        down_h(v, W, C, out);
        finite &= all_finite(out, p->w[1] * C);
    }
    if (!finite) *flags |= NONFINITE;
    free(buf);
}

typedef struct {
    const pyramid *p;
    i64 level;
} level_job;

/* gauss[i] = pyr_down(gauss[i - 1]), i >= 2; reports NONFINITE as pass A */
static void down_rows(void *arg, i64 row0, i64 row1, int *flags)
{
    const level_job *j = (const level_job *)arg;
    const pyramid *p = j->p;
    i64 i = j->level, C = p->C, h = p->h[i - 1], w = p->w[i - 1], ls = p->ls[i - 1];
    float *buf = row_buffers(1, (w + 4) * C);
    if (!buf) {
        *flags |= FAILED;
        return;
    }
    int finite = 1;
    for (i64 y = row0; y < row1; y++) {
        const float *rows[5];
        for (i64 k = 0; k < 5; k++) rows[k] = p->gauss[i - 1] + iclamp(2 * y + k - 2, 0, h - 1) * ls;
        down_v(rows, w * C, buf + 2 * C);
        float *out = p->gauss[i] + y * p->ls[i];
        down_h(buf + 2 * C, w, C, out);
        finite &= all_finite(out, p->w[i] * C);
    }
    if (!finite) *flags |= NONFINITE;
    free(buf);
}

/* The rows a band row is made of; NULL: the level lacks that term. */
typedef struct {
    const float *g;     /* gauss_i (level 0: source - target is made from s and t) */
    const float *s, *t; /* level 0: source, target */
    const float *up_g;  /* up(gauss_i+1) */
    const float *up_r;  /* up(band_i+1) */
    const float *m;     /* the level mask spread over the channels */
    float *out;
} band_row;

/* floats [k0, k1) of a band row inside the mask's support */
static void band_inside(const band_row *b, i64 k0, i64 k1)
{
    const float *s = b->s, *t = b->t, *g = b->g, *ug = b->up_g, *ur = b->up_r, *m = b->m;
    float *out = b->out;
    if (t) {  /* level 0, written + target: ((s - t - up_g) * m + up_r) + t */
        if (ug && ur)
            for (i64 k = k0; k < k1; k++) out[k] = ((s[k] - t[k] - ug[k]) * m[k] + ur[k]) + t[k];
        else if (ug)
            for (i64 k = k0; k < k1; k++) out[k] = (s[k] - t[k] - ug[k]) * m[k] + t[k];
        else if (ur)
            for (i64 k = k0; k < k1; k++) out[k] = ((s[k] - t[k]) * m[k] + ur[k]) + t[k];
        else
            for (i64 k = k0; k < k1; k++) out[k] = (s[k] - t[k]) * m[k] + t[k];
    } else if (ug && ur) {
        for (i64 k = k0; k < k1; k++) out[k] = (g[k] - ug[k]) * m[k] + ur[k];
    } else if (ug) {
        for (i64 k = k0; k < k1; k++) out[k] = (g[k] - ug[k]) * m[k];
    } else if (ur) {
        for (i64 k = k0; k < k1; k++) out[k] = g[k] * m[k] + ur[k];
    } else {
        for (i64 k = k0; k < k1; k++) out[k] = g[k] * m[k];
    }
}

/* floats [k0, k1) outside the support, where the mask is 0: with finite gauss terms
 * (g - up_g) * 0 + up_r is up_r (to the sign of a zero) */
static void band_outside(const band_row *b, i64 k0, i64 k1)
{
    const float *t = b->t, *ur = b->up_r;
    float *out = b->out;
    if (t && ur)
        for (i64 k = k0; k < k1; k++) out[k] = ur[k] + t[k];
    else if (t)
        memcpy(out + k0, t + k0, sizeof(float) * (k1 - k0));
    else if (ur)
        memcpy(out + k0, ur + k0, sizeof(float) * (k1 - k0));
    else
        memset(out + k0, 0, sizeof(float) * (k1 - k0));
}

/* The columns of up(level i + 1) that row y's pixels [x0, x1) read, interpolated down
 * the column into tmp (x0 < x1; the horizontal half is up_h). */
static void up_rows(const pyramid *p, i64 i, const float *level, i64 y, i64 x0, i64 x1,
                    float *tmp)
{
    i64 C = p->C, a, b;
    lerp_sources(&p->horz[i + 1], x0, x1, &a, &b);
    up_v(&p->vert[i + 1], y, level, p->ls[i + 1], a * C, b * C, tmp);
}

/* Rows of band i = mask_i * (gauss_i - up(gauss_i+1)) + up(band_i+1) (as core/blend.py,
 * without the terms a level lacks), i >= 1; of the output at level 0 (pass B), where
 * gauss_0 = source - target and the row is written + target. Outside the level mask's
 * support (mask 0) and with finite inputs, that is up(band_i+1) alone (+ target). Each
 * row goes left to right in steps of CHUNK_B pixels. */
static void expand_rows(void *arg, i64 row0, i64 row1, int *flags)
{
    const level_job *j = (const level_job *)arg;
    const pyramid *p = j->p;
    i64 i = j->level, C = p->C, w = p->w[i], len = w * C + PAD;
    int has_g = i + 1 < p->n_gauss, has_r = i + 1 < p->n_face;
    box in = p->support[i];
    if (!p->finite) {
        box all = {0, p->h[i], 0, w};
        in = all;
    }
    float *buf = row_buffers(9, w * C);
    mask_scratch ms = {NULL, 0, NULL, NULL};
    if (!buf || (i == 0 && mask_scratch_alloc(&ms, &p->mask0))) {
        free(buf);
        mask_scratch_free(&ms);
        *flags |= FAILED;
        return;
    }
    float *up_g = buf, *up_r = buf + len, *m = up_r + len, *mc = m + len, *tmp_g = mc + len;
    float *tmp_r = tmp_g + len, *sbuf = tmp_r + len, *tbuf = sbuf + len, *obuf = tbuf + len;
    const lerp *horz = &p->horz[i + 1];
    int direct = i == 0 && interleaved(&p->o, C);  /* output rows written as computed */
    for (i64 y = row0; y < row1; y++) {
        int inside = y >= in.y0 && y < in.y1 && in.x0 < in.x1;
        i64 x0 = inside ? in.x0 : w, x1 = inside ? in.x1 : w;  /* the support's pixels */
        band_row b = {NULL, NULL, NULL, NULL, has_r ? up_r : NULL, mc, obuf};
        if (i > 0) {
            b.g = p->gauss[i] + y * p->ls[i];
            b.out = p->band[i] + y * p->ls[i];
        }
        if (has_r) up_rows(p, i, p->band[i + 1], y, 0, w, tmp_r);
        if (inside) {
            if (has_g) up_rows(p, i, p->gauss[i + 1], y, x0, x1, tmp_g);
            if (i == 0) mask_row(&p->mask0, y, x0, x1, m, ms.tmp, ms.rows);
        }
        for (i64 c0 = 0; c0 < w; c0 += CHUNK_B) {
            i64 c1 = imin(w, c0 + CHUNK_B);
            if (has_r) up_h(horz, tmp_r, C, c0, c1, up_r);
            if (i == 0) {
                b.t = load_row(&p->t, C, y, c0, c1, tbuf);
                if (c1 > x0 && c0 < x1) b.s = load_row(&p->s, C, y, imax(c0, x0), imin(c1, x1), sbuf);
            }
            for (i64 part = 0; part < 3; part++) {  /* outside, inside, outside */
                i64 a = imax(c0, part == 0 ? 0 : part == 1 ? x0 : x1);
                i64 e = imin(c1, part == 0 ? x0 : part == 1 ? x1 : w);
                if (a >= e) continue;
                if (part != 1) {
                    band_outside(&b, a * C, e * C);
                    continue;
                }
                if (has_g) {
                    up_h(horz, tmp_g, C, a, e, up_g);
                    b.up_g = up_g;
                }
                spread(i == 0 ? m + a : p->mask[i] + y * w + a, e - a, C, mc + a * C);
                band_inside(&b, a * C, e * C);
            }
            if (direct) stream_copy(p->o.p + y * p->o.sy + c0 * C, obuf + c0 * C, (c1 - c0) * C);
        }
        if (i == 0 && !direct) store_row(&p->o, C, w, y, obuf);
    }
    if (direct) sfence();
    free(buf);
    mask_scratch_free(&ms);
}
