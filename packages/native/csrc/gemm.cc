// Packed, cache-blocked sgemm (the GotoBLAS/BLIS loop nest) for row-major C:
//   for jc (NC columns of B) / for pc (KC of K): pack op(B)[pc.., jc..] into NR-wide panels
//     for ic (MC rows of A): pack op(A)[ic.., pc..] into MR-tall panels
//       for jr, ir: micro-kernel: an MR x NR tile of C += Σ_k a[k][0..MR) ⊗ b[k][0..NR)
// Packing reads either transpose in place, so no caller copies an operand. The AVX-512 and
// AVX2 kernels are compiled with target attributes and chosen at run time from cpuid, so one
// build runs on any x86-64 CPU and never below what it can do.
#include "gemm.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#if defined(__x86_64__)
#include <immintrin.h>
#define LETS_GEMM_X86 1
#endif

namespace lets {

namespace {

// A micro-kernel computes one MR x NR tile: acc = Σ_k a(r, k) · b[k*rsb + j] (k in order, one FMA
// per term), then stores it by mode: 0: C = acc; 1: C += acc; 2: C = beta*C + acc. b is a packed
// panel (kc x NR, k-major, rsb = NR) or B read in place (rsb = ldb). a(r, k) = a[r*rsa + k*csa]:
// a packed panel has rsa = 1, csa = MR; A read in place has rsa = lda, csa = 1, or rsa = 1,
// csa = lda when transposed. The sum is the same
// sequence of operations in every case, so packing A or not never changes a result.
using Kernel = void (*)(int64_t kc, const float* a, int64_t rsa, int64_t csa, const float* b, int64_t rsb,
                        float* c, int64_t ldc, int mode, float beta);

struct Path {
  int mr, nr;
  int64_t kc, mc, nc;
  Kernel kernel;
  const char* tile;
};

template <int MR, int NR>
void kernel_portable(int64_t kc, const float* a, int64_t rsa, int64_t csa, const float* b, int64_t rsb, float* c,
                     int64_t ldc, int mode, float beta) {
  float acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; k++, a += csa, b += rsb)
    for (int r = 0; r < MR; r++) {
      const float ar = a[r * rsa];
      for (int j = 0; j < NR; j++) acc[r][j] += ar * b[j];
    }
  for (int r = 0; r < MR; r++) {
    float* cr = c + r * ldc;
    for (int j = 0; j < NR; j++)
      cr[j] = mode == 0 ? acc[r][j] : mode == 1 ? cr[j] + acc[r][j] : beta * cr[j] + acc[r][j];
  }
}

#ifdef LETS_GEMM_X86
// MR rows x NV vectors of 8 (AVX2) or 16 (AVX-512) floats.
template <int MR, int NV>
__attribute__((target("avx2,fma"))) void kernel_avx2(int64_t kc, const float* a, int64_t rsa, int64_t csa,
                                                     const float* b, int64_t rsb, float* c, int64_t ldc, int mode,
                                                     float beta) {
  __m256 acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
    for (int h = 0; h < NV; h++) acc[r][h] = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; k++, a += csa, b += rsb) {
    __m256 bv[NV];
#pragma GCC unroll 4
    for (int h = 0; h < NV; h++) bv[h] = _mm256_loadu_ps(b + 8 * h);
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++) {
      const __m256 ar = _mm256_broadcast_ss(a + r * rsa);
#pragma GCC unroll 4
      for (int h = 0; h < NV; h++) acc[r][h] = _mm256_fmadd_ps(ar, bv[h], acc[r][h]);
    }
  }
  const __m256 vb = _mm256_set1_ps(beta);
#pragma GCC unroll 16
  for (int r = 0; r < MR; r++) {
    float* cr = c + r * ldc;
#pragma GCC unroll 4
    for (int h = 0; h < NV; h++) {
      __m256 v = acc[r][h];
      if (mode == 1) v = _mm256_add_ps(_mm256_loadu_ps(cr + 8 * h), v);
      else if (mode == 2) v = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr + 8 * h), v);
      _mm256_storeu_ps(cr + 8 * h, v);
    }
  }
}

template <int MR, int NV>
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma"))) void kernel_avx512(
    int64_t kc, const float* a, int64_t rsa, int64_t csa, const float* b, int64_t rsb, float* c, int64_t ldc,
    int mode, float beta) {
  __m512 acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
    for (int h = 0; h < NV; h++) acc[r][h] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; k++, a += csa, b += rsb) {
    __m512 bv[NV];
#pragma GCC unroll 4
    for (int h = 0; h < NV; h++) bv[h] = _mm512_loadu_ps(b + 16 * h);
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++) {
      const __m512 ar = _mm512_set1_ps(a[r * rsa]);
#pragma GCC unroll 4
      for (int h = 0; h < NV; h++) acc[r][h] = _mm512_fmadd_ps(ar, bv[h], acc[r][h]);
    }
  }
  const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
  for (int r = 0; r < MR; r++) {
    float* cr = c + r * ldc;
#pragma GCC unroll 4
    for (int h = 0; h < NV; h++) {
      __m512 v = acc[r][h];
      if (mode == 1) v = _mm512_add_ps(_mm512_loadu_ps(cr + 16 * h), v);
      else if (mode == 2) v = _mm512_fmadd_ps(vb, _mm512_loadu_ps(cr + 16 * h), v);
      _mm512_storeu_ps(cr + 16 * h, v);
    }
  }
}
#endif

// The micro-tile for a path and a product N columns wide: the narrow tile where N fits in one
// vector, so a convolution with 16 output channels does not compute 16 zero columns.
const Path& path_of(Isa isa, int64_t N) {
  static const Path portable{4, 16, 256, 64, 1024, kernel_portable<4, 16>, "4x16"};
#ifdef LETS_GEMM_X86
  static const Path avx2{6, 16, 256, 96, 1024, kernel_avx2<6, 2>, "6x16"};
  static const Path avx2n{12, 8, 256, 96, 1024, kernel_avx2<12, 1>, "12x8"};
  static const Path avx512{12, 32, 256, 144, 1024, kernel_avx512<12, 2>, "12x32"};
  static const Path avx512n{16, 16, 256, 144, 1024, kernel_avx512<16, 1>, "16x16"};
  if (isa == Isa::Avx512) return N <= 16 ? avx512n : avx512;
  if (isa == Isa::Avx2Fma) return N <= 8 ? avx2n : avx2;
#endif
  (void)isa;
  (void)N;
  return portable;
}

// 64-byte aligned per-thread packing buffers, grown on demand.
struct Buffer {
  std::unique_ptr<float, decltype(&std::free)> p{nullptr, &std::free};
  size_t cap = 0;
  float* get(size_t n) {
    if (n > cap) {
      const size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
      p.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
      if (!p) throw std::bad_alloc();
      cap = n;
    }
    return p.get();
  }
};

// dst: ceil(mc/MR) panels, each kc x MR (k-major), rows past mc zero.
void pack_a(const Path& P, bool ta, const float* A, int64_t lda, int64_t i0, int64_t k0, int64_t mc, int64_t kc,
            float* dst) {
  const int MR = P.mr;
  if (ta) {
    // op(A)[i,k] = A[k*lda + i]: row k of A holds the whole block's i, read once, in order.
    const int64_t panels = (mc + MR - 1) / MR;
    for (int64_t k = 0; k < kc; k++) {
      const float* src = A + (k0 + k) * lda + i0;
      for (int64_t p = 0; p < panels; p++) {
        const int64_t rows = std::min<int64_t>(MR, mc - p * MR);
        float* d = dst + p * kc * MR + k * MR;
        int64_t r = 0;
        for (; r < rows; r++) d[r] = src[p * MR + r];
        for (; r < MR; r++) d[r] = 0.f;
      }
    }
    return;
  }
  for (int64_t p = 0; p < mc; p += MR, dst += kc * MR) {
    const int64_t rows = std::min<int64_t>(MR, mc - p);
    for (int64_t r = 0; r < rows; r++) {
      const float* src = A + (i0 + p + r) * lda + k0;
      for (int64_t k = 0; k < kc; k++) dst[k * MR + r] = src[k];
    }
    for (int64_t r = rows; r < MR; r++)
      for (int64_t k = 0; k < kc; k++) dst[k * MR + r] = 0.f;
  }
}

// dst: ceil(nc/NR) panels, each kc x NR (k-major), columns past nc zero.
void pack_b(const Path& P, bool tb, const float* B, int64_t ldb, int64_t k0, int64_t j0, int64_t kc, int64_t nc,
            float* dst) {
  const int NR = P.nr;
  for (int64_t q = 0; q < nc; q += NR, dst += kc * NR) {
    const int64_t cols = std::min<int64_t>(NR, nc - q);
    if (!tb) {
      for (int64_t k = 0; k < kc; k++) {
        const float* src = B + (k0 + k) * ldb + j0 + q;
        float* d = dst + k * NR;
        std::memcpy(d, src, sizeof(float) * cols);
        for (int64_t j = cols; j < NR; j++) d[j] = 0.f;
      }
    } else {
      // op(B)[k,j] = B[j*ldb + k]: each column is a contiguous run of k.
      for (int64_t j = 0; j < cols; j++) {
        const float* src = B + (j0 + q + j) * ldb + k0;
        for (int64_t k = 0; k < kc; k++) dst[k * NR + j] = src[k];
      }
      for (int64_t j = cols; j < NR; j++)
        for (int64_t k = 0; k < kc; k++) dst[k * NR + j] = 0.f;
    }
  }
}

// C[m0..m1, n0..n1) on this thread; m0, n0 are multiples of MR, NR (tiles align with the
// global grid, so an element's tile, and hence its arithmetic, never depends on the split).
// B is always packed. The kernel reads A in place, MR rows at a time, and that tile stays in L1
// while it sweeps the packed B block (measured: packing A as well was slower on every shape the
// models use, by up to 25% on skinny convolution products). Tiles at the bottom edge are packed
// into a zero-padded panel so that the kernel never reads past A. The exception is a transposed
// A with long rows (lda >= 2048, e.g. a dense layer's xᵀ·dy with 8192 inputs): read in place,
// each k step of a tile would jump lda floats, and every jump maps to the same L1 set, so such
// an A block is packed, reading A's rows in order (measured 18 ms -> 0.3 ms for 8192x10x128).
void gemm_serial(const Path& P, bool ta, bool tb, int64_t m0, int64_t m1, int64_t n0, int64_t n1, int64_t K,
                 const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  thread_local Buffer abuf, bbuf;
  const int MR = P.mr, NR = P.nr;
  alignas(64) float tmp[16 * 32];
  alignas(64) float edge[16 * 256];  // one packed MR x KC panel for an unpacked bottom edge
  for (int64_t jc = n0; jc < n1; jc += P.nc) {
    const int64_t nc = std::min(P.nc, n1 - jc);
    const int64_t ncp = (nc + NR - 1) / NR * NR;
    for (int64_t pc = 0; pc < K; pc += P.kc) {
      const int64_t kc = std::min(P.kc, K - pc);
      // A narrow untransposed B (rows of <= 32 floats, whole tiles wide, as a convolution's
      // weights or the dy of its filter gradient) is read in place: its kc rows are one contiguous
      // block already, and packing it would copy all of it once per block for a few tiles of A.
      const bool inPlaceB = !tb && ldb <= 32 && (n1 - n0) % NR == 0;
      float* bp = nullptr;
      if (!inPlaceB) {
        bp = bbuf.get(size_t(kc * ncp));
        pack_b(P, tb, B, ldb, pc, jc, kc, nc, bp);
      }
      const int mode = pc > 0 ? 1 : beta == 0.f ? 0 : beta == 1.f ? 1 : 2;
      for (int64_t ic = m0; ic < m1; ic += P.mc) {
        const int64_t mc = std::min(P.mc, m1 - ic);
        const bool packA = ta && lda >= 2048;
        float* ap = nullptr;
        if (packA) {
          ap = abuf.get(size_t(kc * ((mc + MR - 1) / MR * MR)));
          pack_a(P, ta, A, lda, ic, pc, mc, kc, ap);
        }
        for (int64_t ir = 0; ir < mc; ir += MR) {
          const int64_t rows = std::min<int64_t>(MR, mc - ir);
          const float* a;
          int64_t rsa, csa;
          if (packA) {
            a = ap + ir * kc, rsa = 1, csa = MR;
          } else if (rows < MR) {
            pack_a(P, ta, A, lda, ic + ir, pc, rows, kc, edge);
            a = edge, rsa = 1, csa = MR;
          } else if (ta) {
            a = A + pc * lda + ic + ir, rsa = 1, csa = lda;
          } else {
            a = A + (ic + ir) * lda + pc, rsa = lda, csa = 1;
          }
          for (int64_t jr = 0; jr < nc; jr += NR) {
            const int64_t cols = std::min<int64_t>(NR, nc - jr);
            float* c = C + (ic + ir) * ldc + jc + jr;
            const float* b = inPlaceB ? B + pc * ldb + jc + jr : bp + jr * kc;
            const int64_t rsb = inPlaceB ? ldb : NR;
            if (rows == MR && cols == NR) {
              P.kernel(kc, a, rsa, csa, b, rsb, c, ldc, mode, beta);
            } else {
              P.kernel(kc, a, rsa, csa, b, rsb, tmp, NR, 0, 0.f);
              for (int64_t r = 0; r < rows; r++) {
                float* cr = c + r * ldc;
                const float* t = tmp + r * NR;
                for (int64_t j = 0; j < cols; j++)
                  cr[j] = mode == 0 ? t[j] : mode == 1 ? cr[j] + t[j] : beta * cr[j] + t[j];
              }
            }
          }
        }
      }
    }
  }
}

// Below this many multiply-adds (~40 µs of work) one thread: waking the other costs tens of µs,
// and on a busy machine a parallel region waits until its slowest thread is scheduled.
constexpr int64_t kParallelMacs = int64_t(1) << 22;

}  // namespace

const char* gemm_tile(Isa path) { return path_of(path, 1 << 30).tile; }

void gemm_builtin(Isa isa, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                  const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int threads) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) C[i * ldc + j] = beta == 0.f ? 0.f : beta * C[i * ldc + j];
    return;
  }
  const Path& P = path_of(isa, N);
  const int64_t tilesM = (M + P.mr - 1) / P.mr, tilesN = (N + P.nr - 1) / P.nr;
  int T = threads;
  if (omp_in_parallel() || M * N * K < kParallelMacs) T = 1;
  const bool splitN = tilesN >= tilesM;
  T = int(std::min<int64_t>(T, splitN ? tilesN : tilesM));
  if (T <= 1) {
    gemm_serial(P, ta, tb, 0, M, 0, N, K, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  // Split the dimension with more tiles into T contiguous runs of whole tiles.
  // An exception must not leave an OpenMP region: it is caught there and rethrown here.
  bool oom = false;
#pragma omp parallel num_threads(T)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t tiles = splitN ? tilesN : tilesM;
    const int64_t t0 = tiles * t / nt, t1 = tiles * (t + 1) / nt;
    try {
      if (t1 > t0) {
        if (splitN)
          gemm_serial(P, ta, tb, 0, M, t0 * P.nr, std::min(N, t1 * P.nr), K, A, lda, B, ldb, beta, C, ldc);
        else
          gemm_serial(P, ta, tb, t0 * P.mr, std::min(M, t1 * P.mr), 0, N, K, A, lda, B, ldb, beta, C, ldc);
      }
    } catch (const std::bad_alloc&) {
#pragma omp atomic write
      oom = true;
    }
  }
  if (oom) throw std::bad_alloc();
}

}  // namespace lets
