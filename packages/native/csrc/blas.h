// Which sgemm runs: the built-in one (gemm.cc) or OpenBLAS, loaded at run time with dlopen so
// that the addon builds with nothing but a C++ compiler.
#pragma once
#include <cstdint>
#include <string>

#include "cpu.h"

namespace lets {

enum class BlasMode { Auto, Builtin, OpenBlas };

struct BlasState {
  BlasMode mode = BlasMode::Auto;  // LETS_NATIVE_BLAS
  Isa isa = Isa::Portable;         // the micro-kernel level used (cpuid, capped by LETS_NATIVE_ISA)
  bool openblas = false;           // OpenBLAS is loaded
  bool openblas_omp = false;       // ... and is its OpenMP build (shares the addon's thread pool)
  bool openblas_at_isa = false;    // ... and its kernels are for this ISA (not a lower core)
  std::string openblas_path, openblas_config, openblas_core, openblas_core_detected;
  std::string note;                // why OpenBLAS is not used, or what was done to it
};

// Reads the environment and loads OpenBLAS if wanted; idempotent, called at addon load.
void blas_init();
const BlasState& blas_state();
void blas_set_threads(int n);

// Row-major C[M,N] = op(A)·op(B) + beta·C (beta 0: C not read), on the addon's thread count
// (one thread inside an OpenMP region), through the built-in GEMM or OpenBLAS.
void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
           int64_t ldb, float beta, float* C, int64_t ldc);
// Which implementation sgemm uses for this shape ("builtin" or "openblas").
bool sgemm_uses_openblas(int64_t M, int64_t N, int64_t K);

// Human-readable kernel path, e.g. "builtin avx512 (12x32 micro-kernel)".
std::string gemm_path();

}  // namespace lets
