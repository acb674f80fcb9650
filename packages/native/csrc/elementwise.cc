// Elementwise float32 kernels the training step spends its time in once matmul and convolution
// are native: broadcasting binary ops, ReLU, Step, and sums over leading or trailing axes.
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels.h"
#include "sum.h"

namespace lets {

namespace {
// Below this many elements one thread is faster than waking the others (measured: a 200K
// add took the same time on 1 and 2 threads, a 1M add 30% less on 2; the ops are memory-bound).
constexpr int64_t kParallelMin = int64_t(1) << 18;

template <int OP>
inline float apply(float x, float y) {
  if (OP == 0) return x + y;
  if (OP == 1) return x - y;
  if (OP == 2) return x * y;
  if (OP == 3) return x / y;
  return (x - y) * (x - y);
}

template <int OP>
void binary_impl(const float* a, const float* b, float* out, const int64_t* d, const int64_t* sa,
                 const int64_t* sb) {
  const int64_t rows = d[0] * d[1], n = d[2];
  // Work is split into tiles of at most kTile elements of one row, so that same-shape
  // operands (one long row) are spread over the threads too.
  constexpr int64_t kTile = int64_t(1) << 14;
  const int64_t per_row = (n + kTile - 1) / kTile;
  const int64_t tiles = rows * per_row;
#pragma omp parallel for schedule(static) if (rows * n >= kParallelMin)
  for (int64_t t = 0; t < tiles; t++) {
    const int64_t r = t / per_row, k0 = (t % per_row) * kTile, k1 = std::min(n, k0 + kTile);
    const int64_t i0 = r / d[1], i1 = r % d[1];
    const float* ap = a + i0 * sa[0] + i1 * sa[1];
    const float* bp = b + i0 * sb[0] + i1 * sb[1];
    float* o = out + r * n;
    if (sa[2] == 1 && sb[2] == 1) {
      for (int64_t k = k0; k < k1; k++) o[k] = apply<OP>(ap[k], bp[k]);
    } else if (sa[2] == 1 && sb[2] == 0) {
      const float y = bp[0];
      for (int64_t k = k0; k < k1; k++) o[k] = apply<OP>(ap[k], y);
    } else if (sa[2] == 0 && sb[2] == 1) {
      const float x = ap[0];
      for (int64_t k = k0; k < k1; k++) o[k] = apply<OP>(x, bp[k]);
    } else {
      const float v = apply<OP>(ap[0], bp[0]);
      for (int64_t k = k0; k < k1; k++) o[k] = v;
    }
  }
}
}  // namespace

void binary(int op, const float* a, const float* b, float* out, const int64_t* dims,
            const int64_t* strideA, const int64_t* strideB) {
  switch (op) {
    case 0: binary_impl<0>(a, b, out, dims, strideA, strideB); break;
    case 1: binary_impl<1>(a, b, out, dims, strideA, strideB); break;
    case 2: binary_impl<2>(a, b, out, dims, strideA, strideB); break;
    case 3: binary_impl<3>(a, b, out, dims, strideA, strideB); break;
    default: binary_impl<4>(a, b, out, dims, strideA, strideB); break;
  }
}

void unary(int op, const float* x, float* y, int64_t n, float alpha) {
  // Branch-free selects so the loops vectorise (a data-dependent branch mispredicts on half of
  // a ReLU net's pre-activations).
  if (op == 0) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; i++) {
      const float v = x[i];
      y[i] = v < 0.f ? 0.f : v;  // Relu; NaN stays NaN, as in tfjs
    }
  } else {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; i++) {
      const float v = x[i];
      const float r = v > 0.f ? 1.f : alpha;
      y[i] = v != v ? v : r;  // Step: 1 above 0, else alpha; NaN kept
    }
  }
}

// out[c] = Σ_r of what row(r, acc) adds into acc[c], in double: the rows split statically over
// the threads when R·C ≥ kParallelMin, each thread's sums added in thread order. One partition
// and one order for the Sum kernel and for the fused ReLU-and-bias gradient below, so the
// gradient's bias sum has the Sum kernel's bits.
template <typename Row>
void leading_sum(int64_t R, int64_t C, float* out, Row row) {
  std::vector<double> total(C, 0.0);
  const bool par = R * C >= kParallelMin;
#pragma omp parallel if (par)
  {
    std::vector<double> acc(C, 0.0);
#pragma omp for schedule(static) nowait
    for (int64_t r = 0; r < R; r++) row(r, acc.data());
    const int nt = omp_get_num_threads();
#pragma omp for ordered schedule(static, 1)
    for (int t = 0; t < nt; t++) {
#pragma omp ordered
      for (int64_t c = 0; c < C; c++) total[c] += acc[c];
    }
  }
  for (int64_t c = 0; c < C; c++) out[c] = float(total[c]);
}

void sum_leading(const float* x, float* out, int64_t R, int64_t C) {
  // out[c] = Σ_r x[r, c], accumulated in double per thread (tfjs accumulates in double too).
  leading_sum(R, C, out, [&](int64_t r, double* acc) {
    const float* p = x + r * C;
    for (int64_t c = 0; c < C; c++) acc[c] += p[c];
  });
}

void bias_relu(const float* x, const float* b, float* y, int64_t R, int64_t C) {
  // The same two rounded operations per element as Add (x + b, b broadcast over the rows) then
  // Relu (v < 0 ? 0 : v, NaN kept), in one pass.
#pragma omp parallel for schedule(static) if (R * C >= kParallelMin)
  for (int64_t r = 0; r < R; r++) {
    const float* p = x + r * C;
    float* q = y + r * C;
#pragma omp simd
    for (int64_t c = 0; c < C; c++) {
      const float v = p[c] + b[c];
      q[c] = v < 0.f ? 0.f : v;
    }
  }
}

void bias_relu_grad(const float* dy, const float* y, float* dx, float* db, int64_t R, int64_t C) {
  // dx = dy · step(y) as Step then Multiply compute it (step: 1 above 0, else 0, NaN kept; y > 0
  // exactly where the ReLU's input is), and db = Σ_r dx[r, ·] in the Sum kernel's order, in one pass.
  leading_sum(R, C, db, [&](int64_t r, double* acc) {
    const float* d = dy + r * C;
    const float* v = y + r * C;
    float* g = dx + r * C;
    for (int64_t c = 0; c < C; c++) {
      const float yv = v[c];
      const float s = yv > 0.f ? 1.f : 0.f;
      const float gc = d[c] * (yv != yv ? yv : s);
      g[c] = gc;
      acc[c] += gc;
    }
  });
}

void sum_trailing(const float* x, float* out, int64_t R, int64_t C) {
#pragma omp parallel for schedule(static) if (R * C >= kParallelMin)
  for (int64_t r = 0; r < R; r++) {
    // The row's values in order in double, rounded once (tfjs's Sum), by sum.h's lanes where they
    // decide it.
    out[r] = chain_sum(x + r * C, C);
  }
}

}  // namespace lets
