// GEMM dispatch. The built-in GEMM is always there. OpenBLAS (Debian's libopenblas0, OpenMP
// build preferred) is loaded with dlopen unless LETS_NATIVE_BLAS=builtin, LETS_NATIVE_NO_OPENBLAS=1
// or the addon was built with LETS_NATIVE_NO_OPENBLAS=1. OpenBLAS picks its kernels from its own
// CPU table, and 0.3.21 takes CPUs it does not know (Sapphire/Emerald Rapids) for a Prescott
// (SSE3). So after loading it the addon compares its core with the ISA cpuid reports; when the
// core is lower and the user has not set OPENBLAS_CORETYPE, it unloads it, sets OPENBLAS_CORETYPE
// to the core of this ISA (SkylakeX for AVX-512, Haswell for AVX2+FMA) and loads it again. If
// OpenBLAS still runs below the ISA, it is not used for any product.
#include "blas.h"

#include <dlfcn.h>
#include <omp.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <strings.h>

#include "gemm.h"

namespace lets {

namespace {

using SgemmFn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
using SetThreadsFn = void (*)(int);
using StrFn = char* (*)();
using IntFn = int (*)();

BlasState g_state;
void* g_handle = nullptr;
SgemmFn g_sgemm = nullptr;
SetThreadsFn g_set_threads = nullptr;
int g_threads = 1;

constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;

// The ISA level OpenBLAS's core name stands for (cores of OpenBLAS 0.3.x's DYNAMIC_ARCH list).
Isa core_isa(const std::string& core) {
  static const char* avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
  static const char* avx2[] = {"Haswell", "Zen", "Skylake"};
  for (const char* c : avx512)
    if (strcasecmp(core.c_str(), c) == 0) return Isa::Avx512;
  for (const char* c : avx2)
    if (strcasecmp(core.c_str(), c) == 0) return Isa::Avx2Fma;
  return Isa::Portable;  // Prescott, Core2, Penryn, Nehalem, Sandybridge (AVX without FMA), ...
}

bool env_is(const char* name, const char* value) {
  const char* e = std::getenv(name);
  return e != nullptr && std::strcmp(e, value) == 0;
}

void unload() {
  if (g_handle) dlclose(g_handle);
  g_handle = nullptr;
  g_sgemm = nullptr;
  g_set_threads = nullptr;
}

// dlopen the first OpenBLAS found; true when cblas_sgemm resolved.
bool load(std::string* path) {
  const char* user = std::getenv("LETS_NATIVE_OPENBLAS");
  const char* candidates[] = {user, "/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0",
                              "/usr/lib64/openblas-openmp/libopenblas.so.0", "libopenblas.so.0", "libopenblas.so"};
  for (const char* c : candidates) {
    if (c == nullptr || *c == 0) continue;
    void* h = dlopen(c, RTLD_NOW | RTLD_LOCAL);
    if (!h) continue;
    auto fn = reinterpret_cast<SgemmFn>(dlsym(h, "cblas_sgemm"));
    if (!fn) {
      dlclose(h);
      continue;
    }
    g_handle = h;
    g_sgemm = fn;
    g_set_threads = reinterpret_cast<SetThreadsFn>(dlsym(h, "openblas_set_num_threads"));
    *path = c;
    return true;
  }
  return false;
}

std::string call_str(const char* sym) {
  auto f = reinterpret_cast<StrFn>(g_handle ? dlsym(g_handle, sym) : nullptr);
  const char* s = f ? f() : nullptr;
  return s ? s : "";
}

void init_once() {
  const CpuInfo& cpu = cpu_info();
  g_state.isa = cpu.isa;
  // LETS_NATIVE_ISA lowers the micro-kernel level (tests, comparisons); it never raises it.
  const char* want_isa = std::getenv("LETS_NATIVE_ISA");
  if (want_isa && *want_isa) {
    Isa w = std::strcmp(want_isa, "avx512") == 0 ? Isa::Avx512
            : std::strcmp(want_isa, "avx2") == 0 ? Isa::Avx2Fma
                                                  : Isa::Portable;
    if (int(w) < int(g_state.isa)) g_state.isa = w;
  }
  g_state.mode = env_is("LETS_NATIVE_BLAS", "builtin")   ? BlasMode::Builtin
                 : env_is("LETS_NATIVE_BLAS", "openblas") ? BlasMode::OpenBlas
                                                          : BlasMode::Auto;
#ifdef LETS_NATIVE_NO_OPENBLAS
  const bool hidden = true;
#else
  const bool hidden = env_is("LETS_NATIVE_NO_OPENBLAS", "1");
#endif
  if (g_state.mode == BlasMode::Builtin) {
    g_state.note = "LETS_NATIVE_BLAS=builtin";
    return;
  }
  if (hidden) {
    g_state.note = "OpenBLAS hidden (LETS_NATIVE_NO_OPENBLAS=1)";
    return;
  }
  std::string path;
  if (!load(&path)) {
    g_state.note = "OpenBLAS not installed";
    return;
  }
  std::string core = call_str("openblas_get_corename");
  g_state.openblas_core_detected = core;
  const char* user_core = std::getenv("OPENBLAS_CORETYPE");
  if (int(core_isa(core)) < int(cpu.isa) && (user_core == nullptr || *user_core == 0) && cpu.isa != Isa::Portable) {
    // Loaded only by us and not yet used, so it can be unloaded and initialised again.
    const char* fix = cpu.isa == Isa::Avx512 ? "SkylakeX" : "Haswell";
    unload();
    setenv("OPENBLAS_CORETYPE", fix, 0);
    if (load(&path)) {
      core = call_str("openblas_get_corename");
      g_state.note = "OpenBLAS detected " + g_state.openblas_core_detected + "; OPENBLAS_CORETYPE=" + fix + " set by lets";
    } else {
      g_state.note = "OpenBLAS did not reload";
    }
    unsetenv("OPENBLAS_CORETYPE");  // child processes make their own choice
  }
  if (!g_handle) return;
  g_state.openblas = true;
  g_state.openblas_path = path;
  g_state.openblas_core = core;
  g_state.openblas_config = call_str("openblas_get_config");
  auto parallel = reinterpret_cast<IntFn>(dlsym(g_handle, "openblas_get_parallel"));
  g_state.openblas_omp = parallel ? parallel() == 2 : g_state.openblas_config.find("USE_OPENMP") != std::string::npos;
  g_state.openblas_at_isa = int(core_isa(core)) >= int(cpu.isa);
  if (!g_state.openblas_at_isa) g_state.note += (g_state.note.empty() ? "" : "; ") + std::string("OpenBLAS core ") + core + " is below the CPU's ISA: not used";
  if (g_set_threads) g_set_threads(g_threads);
}

}  // namespace

void blas_init() {
  static std::once_flag once;
  std::call_once(once, init_once);
}

const BlasState& blas_state() {
  blas_init();
  return g_state;
}

void blas_set_threads(int n) {
  blas_init();
  g_threads = n < 1 ? 1 : n;
  if (g_set_threads) g_set_threads(g_threads);
}

bool sgemm_uses_openblas(int64_t M, int64_t N, int64_t K) {
  const BlasState& s = blas_state();
  if (!s.openblas || !g_sgemm) return false;
  // Inside an OpenMP region only the OpenMP build of OpenBLAS runs single-threaded.
  if (omp_in_parallel() && !s.openblas_omp) return false;
  if (s.mode == BlasMode::OpenBlas) return true;
  if (!s.openblas_at_isa) return false;
  // auto: OpenBLAS at the CPU's own core measured faster only on square-ish products with at
  // least 64 columns (the MLP's layers); the built-in kernel is faster on the skinny products
  // of the convolutions (<= 32 columns, or K <= 32). See docs/native.md.
  return N > 32 && M >= 64 && K > 32;
}

void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
           int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K > 0 && sgemm_uses_openblas(M, N, K) && M < (int64_t(1) << 31) && N < (int64_t(1) << 31) &&
      K < (int64_t(1) << 31)) {
    g_sgemm(kRowMajor, ta ? kTrans : kNoTrans, tb ? kTrans : kNoTrans, int(M), int(N), int(K), 1.f, A,
            int(lda < 1 ? 1 : lda), B, int(ldb < 1 ? 1 : ldb), beta, C, int(ldc < 1 ? 1 : ldc));
    return;
  }
  gemm_builtin(blas_state().isa, ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc, g_threads);
}

std::string gemm_path() {
  const BlasState& s = blas_state();
  std::string builtin = std::string("builtin ") + isa_name(s.isa) + " (" + gemm_tile(s.isa) + " micro-kernel)";
  if (!s.openblas) return builtin;
  const std::string ob = "OpenBLAS " + s.openblas_core + (s.openblas_omp ? " (OpenMP)" : " (pthreads)");
  if (s.mode == BlasMode::OpenBlas) return ob;
  if (!s.openblas_at_isa) return builtin;
  return "auto: " + ob + " for products with > 32 columns, M >= 64, K > 32; " + builtin + " otherwise";
}

}  // namespace lets
