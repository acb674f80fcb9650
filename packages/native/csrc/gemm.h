// The addon's own single-precision GEMM: packed, cache-blocked, with an AVX-512 (12x32) and an
// AVX2+FMA (6x16) micro-kernel chosen at run time and a portable C++ one (4x16).
#pragma once
#include <cstdint>

#include "cpu.h"

namespace lets {

// C[M,N] (row stride ldc) = op(A)·op(B) + beta·C, row-major; op(A)[i,k] = transA ? A[k*lda+i] :
// A[i*lda+k], op(B)[k,j] = transB ? B[j*ldb+k] : B[k*ldb+j]. With beta == 0, C is not read (NaN
// in C does not leak). Runs on up to `threads` OpenMP threads (1 inside a parallel region).
// Every element of C is summed in the same order whatever the thread count: the threads split
// C along tile boundaries and K is never split, so results are bit-identical for 1..n threads.
void gemm_builtin(Isa path, bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float* A,
                  int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int threads);

// Micro-tile of a path ("12x32"), for describe().
const char* gemm_tile(Isa path);

}  // namespace lets
