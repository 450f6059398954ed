/* Rows split over threads (pthreads; one thread elsewhere), taken in chunks. */

typedef void (*rows_fn)(void *ctx, i64 row0, i64 row1, int *flags);

/* fn over rows [0, rows) in chunks of `chunk` rows, taken in turn by the workers */
typedef struct {
    rows_fn fn;
    void *ctx;
    i64 rows, chunk, next;  /* next: the first row no worker has taken */
    int flags[MAX_THREADS];
} rows_job;

typedef struct {
    rows_job *job;
    int id;
} rows_worker;

static i64 take_chunk(rows_job *j)
{
#if defined(MBB_PTHREADS) && (defined(__GNUC__) || defined(__clang__))
    return __atomic_fetch_add(&j->next, j->chunk, __ATOMIC_RELAXED);
#else
    i64 row = j->next;  /* one worker only */
    j->next += j->chunk;
    return row;
#endif
}

static void *run_rows(void *arg)
{
    rows_worker *w = (rows_worker *)arg;
    rows_job *j = w->job;
    for (i64 row = take_chunk(j); row < j->rows; row = take_chunk(j))
        j->fn(j->ctx, row, imin(j->rows, row + j->chunk), &j->flags[w->id]);
    return NULL;
}

/* fn over rows [0, rows) on up to `threads` threads (this one included), each with at
 * least 64k floats of work (work_per_row per row); rows go in chunks taken in turn, so a
 * thread that the system holds back delays the others by one chunk at most. Returns the
 * flags fn reported, or-ed. */
static int parallel_rows(rows_fn fn, void *ctx, i64 rows, i64 work_per_row, int threads)
{
    i64 n = iclamp(threads, 1, imax(1, imin(MAX_THREADS, rows)));
    while (n > 1 && rows * work_per_row / n < (1 << 16)) n--;
#if !defined(MBB_PTHREADS) || !(defined(__GNUC__) || defined(__clang__))
    n = 1;
#endif
    rows_job job = {fn, ctx, rows, n > 1 ? imax(1, rows / (8 * n)) : rows, 0, {0}};
    rows_worker workers[MAX_THREADS];
    for (i64 i = 0; i < n; i++) {
        workers[i].job = &job;
        workers[i].id = (int)i;
    }
#ifdef MBB_PTHREADS
    pthread_t ids[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (i64 i = 1; i < n; i++)
        started[i] = pthread_create(&ids[i], NULL, run_rows, &workers[i]) == 0;
    run_rows(&workers[0]);
    for (i64 i = 1; i < n; i++)
        if (started[i]) pthread_join(ids[i], NULL);
#else
    run_rows(&workers[0]);
#endif
    int flags = 0;
    for (i64 i = 0; i < n; i++) flags |= job.flags[i];
    return flags;
}
