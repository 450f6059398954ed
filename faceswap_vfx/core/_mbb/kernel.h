/* The multi-band blend kernel's implementation, included once per instruction set by
 * ../_mbb_kernel.c (baseline, VW 4) and ../_mbb_kernel_avx2.c (VW 8), which define
 * MBB_VARIANT (the suffix of the entry point, mbb_blend_<variant>) and VW (floats per
 * vector); each part below is included once, in this order. See _mbb_kernel.c for what
 * it computes.
 *
 * Layout: rows are interleaved (pixel-major, C floats per pixel, as a channels-last image)
 * with PAD floats after each, so that a pixel of 3 or 4 channels is one 4-float vector.
 */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#define MBB_PTHREADS 1
#include <pthread.h>
#endif

#define MBB_CAT2(a, b) a##_##b
#define MBB_CAT(a, b) MBB_CAT2(a, b)

typedef int64_t i64;

#define MAX_THREADS 64
#define PAD 4  /* floats after every row: room for a 4-float vector at its last pixel */
#define CHUNK 32     /* pass A's pixels per step along a row: DRAM reads amid the math */
#define CHUNK_B 128  /* pass B's (and the band rows'): the output written as it is made */
enum { FAILED = 1, NONFINITE = 2 };  /* flags a band of rows reports */

static i64 imin(i64 a, i64 b) { return a < b ? a : b; }
static i64 imax(i64 a, i64 b) { return a > b ? a : b; }
static i64 iclamp(i64 v, i64 lo, i64 hi) { return v < lo ? lo : v > hi ? hi : v; }

#include "threads.h"
#include "vectors.h"
#include "resample.h"
#include "masks.h"
#include "images.h"
#include "passes.h"
#include "blend.h"
