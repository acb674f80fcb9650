// lets_spin.node: how long one iteration of OpenMP's spin-wait takes on this CPU, measured before
// the main addon (and with it libgomp) is loaded, so that the addon can ask libgomp to spin for a
// fixed time rather than a fixed count. Built without OpenMP; it links nothing but libc.
//
// libgomp's waiting threads spin `GOMP_SPINCOUNT` times (a relaxed load of the word they wait on,
// then the CPU's relax instruction: `pause` on x86, `yield` on AArch64) before they sleep on a
// futex. The instruction's latency differs by a factor of ten between CPUs (about 10 ns on recent
// Intel Xeons and AMD EPYCs, 40-50 ns on Skylake-SP), so a count alone is not a time.
//
//   spinNs() -> number   nanoseconds per iteration of that loop, best of 3 runs of 10,000
#include <node_api.h>

#include <algorithm>
#include <atomic>
#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
static inline void relax() { _mm_pause(); }
#elif defined(__aarch64__)
static inline void relax() { __asm__ __volatile__("yield" ::: "memory"); }
#else
static inline void relax() { __asm__ __volatile__("" ::: "memory"); }
#endif

namespace {

std::atomic<int> g_word{0};

double spin_ns() {
  constexpr int kIters = 10000;
  double best = 1e300;
  for (int r = 0; r < 3; r++) {
    const auto t0 = std::chrono::steady_clock::now();
    int i = 0;
    for (; i < kIters; i++) {
      if (g_word.load(std::memory_order_relaxed) != 0) break;
      relax();
    }
    const auto t1 = std::chrono::steady_clock::now();
    const double ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
    best = std::min(best, ns / double(i > 0 ? i : 1));
  }
  return best;
}

napi_value SpinNs(napi_env env, napi_callback_info) {
  napi_value out;
  if (napi_create_double(env, spin_ns(), &out) != napi_ok) return nullptr;
  return out;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "spinNs", NAPI_AUTO_LENGTH, SpinNs, nullptr, &fn) != napi_ok) return nullptr;
  if (napi_set_named_property(env, exports, "spinNs", fn) != napi_ok) return nullptr;
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
