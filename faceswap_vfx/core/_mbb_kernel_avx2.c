/* The multi-band blend kernel (the headers in _mbb/) compiled for AVX2 (x86-64 with GCC or
 * Clang): 8-float vectors. _mbb_kernel.c calls it when the CPU has AVX2. */

/* system headers first, outside the AVX2 region */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <pthread.h>
#endif
#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#endif

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC target("avx2")
#endif
#define MBB_VARIANT avx2
#define VW 8
#include "_mbb/kernel.h"
#if defined(__clang__)
#pragma clang attribute pop
#endif
#else
typedef int mbb_no_avx2_build; /* ISO C: a translation unit must declare something */
#endif
