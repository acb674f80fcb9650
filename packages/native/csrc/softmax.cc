// Softmax over the last axis of a float32 tensor seen as rows [R, C], the steps of
// tfjs-backend-cpu's Softmax (max, subtract, exp, sum, divide) in one pass per row instead of
// six kernels with broadcast index arithmetic:
//   m = max_k x_k (a NaN makes the row NaN, as the cpu Max kernel), e_k = exp(x_k − m),
//   s = Σ_k e_k in double, rounded to float32, y_k = e_k / s in float32.
// The loops are written lane-wise (kLanes independent maxima and double partial sums, combined
// in a fixed order) so the compiler vectorises them, and exp is a vectorisable polynomial
// (< 1 ulp against exp in double on [−104, 0]; the cpu kernel's Math.exp rounded to float32 is
// within 0.5 ulp), so the output matches the cpu kernel to a few float32 ulps. Each row is one
// thread's loop whose order depends only on the row length, so results are bit-identical
// across runs and thread counts.
#include <omp.h>

#include <cstdint>
#include <cstring>

#include "kernels.h"

namespace lets {

namespace {
// exp costs more than the memory-bound ops, so fewer elements pay for the second thread's
// wake-up (2^15 floats ≈ 0.1 ms on one core).
constexpr int64_t kParallelMin = int64_t(1) << 15;
constexpr int kLanes = 16;

// exp(x) for x <= 0, −∞ or NaN (what x − max x can be): 2^n · p(r), r = x − n·ln 2 in two parts,
// p Cephes' degree-6 expf polynomial; the scale 2^n is applied in two halves so results below
// 2^−126 come out as denormals; exactly 0 below −104 (where exp underflows float32).
inline float exp_nonpositive(float x) {
  const float xc = x < -104.f ? -104.f : x;        // NaN compares false and passes through
  const float t = xc * 1.44269504088896341f;
  const float n = (t + 12582912.f) - 12582912.f;   // round to nearest: |t| < 2^22
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.f;
  const int32_t ni = int32_t(n), h = ni >> 1;
  const uint32_t u1 = uint32_t(h + 127) << 23, u2 = uint32_t(ni - h + 127) << 23;
  float s1, s2;
  std::memcpy(&s1, &u1, sizeof s1);
  std::memcpy(&s2, &u2, sizeof s2);
  const float out = (p * s1) * s2;
  return x < -104.f ? 0.f : out;
}

// tfjs's Max: a NaN, once seen, stays.
inline float max_nan(float m, float v) { return (v > m || v != v) ? v : m; }

void softmax_row(const float* x, float* y, int64_t C) {
  float m = x[0];
  int64_t k = 0;
  if (C >= kLanes) {
    float ml[kLanes];
    for (int l = 0; l < kLanes; l++) ml[l] = x[l];
    for (k = kLanes; k + kLanes <= C; k += kLanes) {
      for (int l = 0; l < kLanes; l++) ml[l] = max_nan(ml[l], x[k + l]);
    }
    for (int l = 0; l < kLanes; l++) m = max_nan(m, ml[l]);
  }
  for (; k < C; k++) m = max_nan(m, x[k]);
  for (int64_t j = 0; j < C; j++) y[j] = exp_nonpositive(x[j] - m);
  double sl[kLanes] = {};
  k = 0;
  for (; k + kLanes <= C; k += kLanes) {
    for (int l = 0; l < kLanes; l++) sl[l] += double(y[k + l]);
  }
  double s = 0.0;
  for (int l = 0; l < kLanes; l++) s += sl[l];
  for (; k < C; k++) s += double(y[k]);
  const float sf = float(s);
  for (int64_t j = 0; j < C; j++) y[j] = y[j] / sf;
}
}  // namespace

void softmax_rows(const float* x, float* y, int64_t R, int64_t C) {
  if (C <= 0) return;
#pragma omp parallel for schedule(static) if (R * C >= kParallelMin)
  for (int64_t r = 0; r < R; r++) softmax_row(x + r * C, y + r * C, C);
}

}  // namespace lets
