// Fused kernels of a dense layer and of softmax cross-entropy: one call from JavaScript instead
// of three to six tfjs kernels (each with its own output buffer and pass over memory).
//   dense:          y = act(x·w + b)                       x [M,K], w [K,N], b [N]
//   backprop input: dx = g·wᵀ                              g = dy ⊙ act'(y)
//   backprop params: dw = xᵀ·g, db = Σ_rows g
//   softmax CE:     L = mean_b( logΣexp(z_b) − Σ_k y_bk z_bk )
//   its gradient:   dz = dL · (softmax(z) − y) / B
// act is 0 (linear) or 1 (relu); relu's derivative is step(y) (y > 0 ⟺ x·w + b > 0), with NaN
// kept as tfjs's Step does.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "blas.h"
#include "kernels.h"

namespace lets {

namespace {
constexpr int64_t kParallelMin = int64_t(1) << 16;

// g = dy ⊙ act'(y) into out (out may be dy's own storage only when act is linear: then dy is used).
const float* masked(const float* dy, const float* y, int act, int64_t n, std::vector<float>& out) {
  if (act == 0) return dy;
  out.resize(size_t(n));
  float* g = out.data();
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; i++) {
    const float v = y[i];
    const float s = v > 0.f ? 1.f : 0.f;
    g[i] = dy[i] * (v != v ? v : s);
  }
  return g;
}

std::vector<float>& mask_buffer() {
  thread_local std::vector<float> buf;
  return buf;
}
}  // namespace

void dense_forward(const float* x, const float* w, const float* b, int act, float* y, int64_t M, int64_t K, int64_t N) {
  sgemm(false, false, M, N, K, x, K, w, N, 0.f, y, N);
  if (b != nullptr || act != 0) bias_act(y, M, N, b, act);
}

void dense_backprop_input(const float* dy, const float* w, const float* y, int act, float* dx, int64_t M, int64_t K,
                          int64_t N) {
  const float* g = masked(dy, y, act, M * N, mask_buffer());
  sgemm(false, true, M, K, N, g, N, w, N, 0.f, dx, K);
}

void dense_backprop_params(const float* dy, const float* x, const float* y, int act, float* dw, float* db, int64_t M,
                           int64_t K, int64_t N) {
  const float* g = masked(dy, y, act, M * N, mask_buffer());
  sgemm(true, false, K, N, M, x, K, g, N, 0.f, dw, N);
  if (db != nullptr) sum_leading(g, db, M, N);
}

float softmax_xent(const float* z, const float* y, int64_t B, int64_t C) {
  double total = 0.0;
  // Rows in order (a sum in double over at most a few thousand rows): deterministic.
  for (int64_t b = 0; b < B; b++) {
    const float* zr = z + b * C;
    const float* yr = y + b * C;
    float m = -INFINITY;
    for (int64_t k = 0; k < C; k++) m = std::max(m, zr[k]);
    double s = 0.0, yz = 0.0;
    for (int64_t k = 0; k < C; k++) {
      s += std::exp(double(zr[k] - m));
      yz += double(yr[k]) * double(zr[k]);
    }
    total += double(m) + std::log(s) - yz;
  }
  return B > 0 ? float(total / double(B)) : NAN;
}

void softmax_xent_grad(float dl, const float* z, const float* y, float* dz, int64_t B, int64_t C) {
  const float scale = dl / float(B);
#pragma omp parallel for schedule(static) if (B * C >= kParallelMin)
  for (int64_t b = 0; b < B; b++) {
    const float* zr = z + b * C;
    const float* yr = y + b * C;
    float* d = dz + b * C;
    float m = -INFINITY;
    for (int64_t k = 0; k < C; k++) m = std::max(m, zr[k]);
    double s = 0.0;
    for (int64_t k = 0; k < C; k++) {
      const float e = std::exp(zr[k] - m);
      d[k] = e;
      s += e;
    }
    const float inv = float(1.0 / s);
    for (int64_t k = 0; k < C; k++) d[k] = (d[k] * inv - yr[k]) * scale;
  }
}

}  // namespace lets
