// Fused kernels of @lets/tree's leaf math, so a SAM or LETS step pays one kernel per leaf where it
// paid two:
//   axpy(x, y, s)   out = x + s·y                 (tf.add(x, tf.mul(y, s)))
//   dot(a, b)       Σ a·b, one float32 scalar      (tf.sum(tf.mul(a, b)))
//   div_axpy(g, w, d, s, n, p)  n = g / d, p = w + s·n   (tf.div(g, d), then axpy(w, n, s))
//   sub_scale(a, b, s)  out = (a − b)·s           (tf.mul(tf.sub(a, b), s))
//   dots([a0, b0, a1, b1, …])  each pair's dot as dot() gives it, several pairs over the threads
// Each gives bit for bit what the two kernels it replaces give on the 'native' backend (and on
// 'cpu'): s·y is rounded to float32 before the add, and the dot accumulates the float32-rounded
// products in order in double and rounds once, as the native (and cpu) Sum over all axes does.
// Contracting a·b + c into one fused multiply-add would skip the first rounding, so contraction
// is off for this file (GCC's default for C++ is 'fast' outside ISO C mode, and -march=native
// enables FMA instructions; with the pragma the object has no vfmadd, without it 17).
#if defined(__clang__)
#pragma clang fp contract(off)
#else
#pragma GCC optimize("fp-contract=off")
#endif

#include <node_api.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "napi_util.h"
#include "sum.h"

namespace lets {

namespace {
// Same threshold as the broadcasting binary ops (elementwise.cc): below it one thread is faster.
constexpr int64_t kParallelMin = int64_t(1) << 18;

void axpy(const float* x, const float* y, float s, float* out, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; i++) {
    const float sy = y[i] * s;  // rounded to float32, as tf.mul's output
    out[i] = x[i] + sy;
  }
}

// SAM's ascent for one leaf in one pass: n = g / d (rounded to float32, as tf.div's output), and
// from that n, p = w + s·n exactly as axpy computes it. The same three rounded operations per
// element as RealDiv then LetsAxpy, so the same bits; one pass over g and w instead of two (g
// read for the division, n read again for the axpy).
void div_axpy(const float* g, const float* w, float d, float s, float* n, float* p, int64_t len) {
#pragma omp parallel for simd schedule(static) if (len >= kParallelMin)
  for (int64_t i = 0; i < len; i++) {
    const float ni = g[i] / d;
    n[i] = ni;
    const float sn = ni * s;
    p[i] = w[i] + sn;
  }
}

// The chain: each product rounded to float32 (tf.mul's output), the products of a block taken
// first (vectorised), then added in order in double and rounded once, as Sum adds them. The loop
// this kernel always ran before the lanes below.
__attribute__((noinline)) float sequential_dot(const float* __restrict a, const float* __restrict b, int64_t n) {
  constexpr int64_t kBlock = 512;
  float p[kBlock];
  double s = 0.0;
  for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
    const int64_t m = std::min(kBlock, n - i0);
#pragma omp simd
    for (int64_t i = 0; i < m; i++) p[i] = a[i0 + i] * b[i0 + i];
    for (int64_t i = 0; i < m; i++) s += double(p[i]);
  }
  return float(s);
}

// Σ a·b exactly as Sum gives it over the products (sequential_dot's bits). sum.h's lanes add the
// same float32 products and decide the chain's float32 in all but rare cases (a sum next to a
// float32 rounding boundary, inf, NaN), where sequential_dot runs. The chain is one add every 3-4
// cycles; the lanes run at load speed.
__attribute__((noinline)) float dot(const float* __restrict a, const float* __restrict b, int64_t n) {
  if (n < 64) return sequential_dot(a, b, n);
  constexpr int64_t kBlock = LaneSum::kBlock;
  float p[kBlock];
  LaneSum acc;
  for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
    const int64_t m = std::min(kBlock, n - i0);
#pragma omp simd
    for (int64_t i = 0; i < m; i++) p[i] = a[i0 + i] * b[i0 + i];
    acc.add(p, m);
  }
  float out;
  return acc.decided(&out) ? out : sequential_dot(a, b, n);
}

// (a − b)·s for one leaf: the difference rounded to float32 (tf.sub's output), then the product
// rounded to float32 (tf.mul's): the same two rounded operations as Sub then Multiply.
void sub_scale(const float* a, const float* b, float s, float* out, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; i++) {
    const float d = a[i] - b[i];
    out[i] = d * s;
  }
}

// Every pair's dot, out[j] = dot(a_j, b_j) bit for bit, the pairs (largest first) spread over
// the threads, one pair per thread at a time; no chain is split, so no sum changes order.
void dots(const std::vector<const float*>& a, const std::vector<const float*>& b, const std::vector<int64_t>& len,
          float* out) {
  const int64_t k = int64_t(len.size());
  std::vector<int64_t> order(k);
  for (int64_t j = 0; j < k; j++) order[j] = j;
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return len[x] > len[y]; });
  int64_t total = 0;
  for (int64_t j = 0; j < k; j++) total += len[j];
#pragma omp parallel for schedule(dynamic, 1) if (total >= kParallelMin && k > 1)
  for (int64_t i = 0; i < k; i++) {
    const int64_t x = order[i];
    out[x] = dot(a[x], b[x], len[x]);
  }
}

template <typename F>
napi_value guarded(napi_env env, F&& f) {
  try {
    return f();
  } catch (const ArgError& e) {
    napi_throw_error(env, "LETS_NATIVE_ARG", e.message.c_str());
  }
  return nullptr;
}

void args(napi_env env, napi_callback_info info, size_t need, napi_value* v, const char* fn) {
  size_t n = need;
  check(env, napi_get_cb_info(env, info, &n, v, nullptr, nullptr), "get_cb_info");
  if (n < need) throw ArgError{std::string(fn) + ": expected " + std::to_string(need) + " arguments"};
}

void same_length(size_t have, size_t want, const char* fn, const char* name) {
  if (have != want) {
    throw ArgError{std::string(fn) + ": " + name + " has " + std::to_string(have) + " floats, expected " +
                   std::to_string(want)};
  }
}

// The N-API side of a leaf kernel k(x, y, s, out, n) of two inputs of one length and a number,
// out of their length: fn(x, y, s, out), with the inputs' names for the errors.
using PairScalarKernel = void (*)(const float*, const float*, float, float*, int64_t);
napi_value pair_scalar(napi_env env, napi_callback_info info, const char* fn, const char* xname, const char* yname,
                       PairScalarKernel kernel) {
  return guarded(env, [&]() -> napi_value {
    napi_value v[4];
    args(env, info, 4, v, fn);
    size_t nx, ny, no;
    const float* x = f32(env, v[0], &nx, xname);
    const float* y = f32(env, v[1], &ny, yname);
    const double s = number(env, v[2], "s");
    float* out = f32(env, v[3], &no, "out");
    same_length(ny, nx, fn, yname);
    same_length(no, nx, fn, "out");
    kernel(x, y, float(s), out, int64_t(nx));
    napi_value u;
    napi_get_undefined(env, &u);
    return u;
  });
}

// axpy(x, y, s, out): out = x + float32(s)·y.
napi_value Axpy(napi_env env, napi_callback_info info) { return pair_scalar(env, info, "axpy", "x", "y", axpy); }

// dot(a, b): Σ a·b as a float32 value.
napi_value Dot(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value v[2];
    args(env, info, 2, v, "dot");
    size_t na, nb;
    const float* a = f32(env, v[0], &na, "a");
    const float* b = f32(env, v[1], &nb, "b");
    same_length(nb, na, "dot", "b");
    napi_value out;
    check(env, napi_create_double(env, double(dot(a, b, int64_t(na))), &out), "create_double");
    return out;
  });
}
// div_axpy(g, w, d, s, n, p): n = g / float32(d), p = w + float32(s)·n.
napi_value DivAxpy(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value v[6];
    args(env, info, 6, v, "div_axpy");
    size_t ng, nw, nn, np;
    const float* g = f32(env, v[0], &ng, "g");
    const float* w = f32(env, v[1], &nw, "w");
    const double d = number(env, v[2], "d");
    const double s = number(env, v[3], "s");
    float* n = f32(env, v[4], &nn, "n");
    float* p = f32(env, v[5], &np, "p");
    same_length(nw, ng, "div_axpy", "w");
    same_length(nn, ng, "div_axpy", "n");
    same_length(np, ng, "div_axpy", "p");
    div_axpy(g, w, float(d), float(s), n, p, int64_t(ng));
    napi_value u;
    napi_get_undefined(env, &u);
    return u;
  });
}
// sub_scale(a, b, s, out): out = (a − b)·float32(s).
napi_value SubScale(napi_env env, napi_callback_info info) { return pair_scalar(env, info, "sub_scale", "a", "b", sub_scale); }

// dots(pairs, out): pairs = [a0, b0, a1, b1, …] (Float32Arrays, each pair of one length), out a
// Float32Array with one entry per pair: out[j] = Σ a_j·b_j as dot() gives it.
napi_value Dots(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value v[2];
    args(env, info, 2, v, "dots");
    bool is_array = false;
    check(env, napi_is_array(env, v[0], &is_array), "is_array");
    if (!is_array) throw ArgError{"dots: pairs: expected an array of Float32Arrays"};
    uint32_t n = 0;
    check(env, napi_get_array_length(env, v[0], &n), "array_length");
    if (n % 2 != 0) throw ArgError{"dots: pairs: expected an even number of Float32Arrays (a0, b0, a1, b1, ...), got " + std::to_string(n)};
    size_t no;
    float* out = f32(env, v[1], &no, "out");
    same_length(no, n / 2, "dots", "out");
    std::vector<const float*> a(n / 2), b(n / 2);
    std::vector<int64_t> len(n / 2);
    for (uint32_t j = 0; j < n / 2; j++) {
      napi_value x, y;
      check(env, napi_get_element(env, v[0], 2 * j, &x), "get_element");
      check(env, napi_get_element(env, v[0], 2 * j + 1, &y), "get_element");
      size_t nx, ny;
      const std::string an = "a" + std::to_string(j), bn = "b" + std::to_string(j);
      a[j] = f32(env, x, &nx, an.c_str());
      b[j] = f32(env, y, &ny, bn.c_str());
      same_length(ny, nx, "dots", bn.c_str());
      len[j] = int64_t(nx);
    }
    dots(a, b, len, out);
    napi_value u;
    napi_get_undefined(env, &u);
    return u;
  });
}
}  // namespace

// Adds axpy, dot, div_axpy, sub_scale and dots to the addon's exports (called from addon.cc's Init).
void define_tree_ops(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"axpy", nullptr, Axpy, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"dot", nullptr, Dot, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"divAxpy", nullptr, DivAxpy, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"subScale", nullptr, SubScale, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"dots", nullptr, Dots, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}

}  // namespace lets
