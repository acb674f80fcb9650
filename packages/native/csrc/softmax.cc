// Softmax over the last axis of a float32 tensor seen as rows [R, C], the same steps as
// tfjs-backend-cpu's Softmax (max, subtract, exp, sum, divide) in one pass per row instead of
// six kernels with broadcast index arithmetic:
//   m = max_k x_k (NaN wins, as the cpu Max kernel), e_k = exp(x_k − m) rounded to float32,
//   s = Σ_k e_k in double in index order, rounded to float32, y_k = e_k / s in float32.
// exp is taken in double and rounded, as the cpu kernel's Math.exp into a Float32Array; the
// subtraction and division are single float32 roundings (bit-identical to the cpu kernel's
// double-then-round, since double has more than 2·24+2 bits). Each row is one thread's
// sequential loop, so the result does not depend on the thread count.
#include <omp.h>

#include <cmath>
#include <cstdint>

#include "kernels.h"

namespace lets {

namespace {
// exp costs several ns per element, so fewer elements than the memory-bound ops pay for the
// second thread's wake-up (2^15 floats ≈ 0.1 ms of exp on one core).
constexpr int64_t kParallelMin = int64_t(1) << 15;
}  // namespace

void softmax_rows(const float* x, float* y, int64_t R, int64_t C) {
  if (C <= 0) return;
#pragma omp parallel for schedule(static) if (R * C >= kParallelMin)
  for (int64_t r = 0; r < R; r++) {
    const float* xr = x + r * C;
    float* yr = y + r * C;
    float m = xr[0];
    for (int64_t k = 1; k < C; k++) {
      const float v = xr[k];
      if (v != v || v > m) m = v;  // tfjs's Max: a NaN sticks
    }
    double s = 0.0;
    for (int64_t k = 0; k < C; k++) {
      const float e = float(std::exp(double(xr[k] - m)));
      yr[k] = e;
      s += double(e);
    }
    const float sf = float(s);
    for (int64_t k = 0; k < C; k++) yr[k] = yr[k] / sf;
  }
}

}  // namespace lets
