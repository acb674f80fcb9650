// N-API entry points of the lets_native addon. Every function takes Float32Array views of the
// tensors (read and written in place, no copy) and an Int32Array of geometry where needed.
#include <node_api.h>

#include <algorithm>
#include <string>

#include "blas.h"
#include "cpu.h"
#include "gemm.h"
#include "kernels.h"
#include "napi_util.h"

namespace lets {

void define_tree_ops(napi_env env, napi_value exports);  // tree_ops.cc

namespace {

constexpr size_t kMaxArgs = 16;

struct Args {
  napi_value v[kMaxArgs];
  size_t n = kMaxArgs;
};

Args get_args(napi_env env, napi_callback_info info, size_t need, const char* fn) {
  Args a;
  check(env, napi_get_cb_info(env, info, &a.n, a.v, nullptr, nullptr), "get_cb_info");
  if (a.n < need) throw ArgError{std::string(fn) + ": expected " + std::to_string(need) + " arguments"};
  return a;
}

void need(bool ok, const std::string& msg) {
  if (!ok) throw ArgError{msg};
}

// Geometry array layout shared with src/addon.ts:
// [B, H, W, Ci, OH, OW, Co, fh, fw, sh, sw, dh, dw, padTop, padLeft, cm]
ConvGeom geom(napi_env env, napi_value v) {
  size_t n = 0;
  const int32_t* p = i32(env, v, &n, "geometry");
  need(n == 16, "geometry: expected 16 entries");
  ConvGeom g{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15]};
  need(g.B >= 0 && g.H > 0 && g.W > 0 && g.Ci > 0 && g.OH >= 0 && g.OW >= 0 && g.Co > 0 && g.fh > 0 &&
           g.fw > 0 && g.sh > 0 && g.sw > 0 && g.dh > 0 && g.dw > 0 && g.cm > 0,
       "geometry: sizes must be positive");
  return g;
}

void need_len(size_t have, int64_t want, const char* name) {
  if (int64_t(have) != want)
    throw ArgError{std::string(name) + ": expected " + std::to_string(want) + " floats, got " + std::to_string(have)};
}

template <typename F>
napi_value guard(napi_env env, F&& f) {
  try {
    return f();
  } catch (const ArgError& e) {
    napi_throw_error(env, "LETS_NATIVE_ARG", e.message.c_str());
  } catch (const std::bad_alloc&) {
    napi_throw_error(env, "LETS_NATIVE_OOM", "lets_native: out of memory");
  }
  return nullptr;
}

napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

// gemm(a, b, c, batch, batchA, batchB, M, N, K, transA, transB)
napi_value Gemm(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a = get_args(env, info, 11, "gemm");
    size_t na, nb, nc;
    const float* A = f32(env, a.v[0], &na, "a");
    const float* B = f32(env, a.v[1], &nb, "b");
    float* C = f32(env, a.v[2], &nc, "c");
    const int64_t batch = integer(env, a.v[3], "batch"), bA = integer(env, a.v[4], "batchA"),
                  bB = integer(env, a.v[5], "batchB"), M = integer(env, a.v[6], "M"),
                  N = integer(env, a.v[7], "N"), K = integer(env, a.v[8], "K");
    const bool tA = boolean(env, a.v[9], "transA"), tB = boolean(env, a.v[10], "transB");
    need(batch >= 0 && bA > 0 && bB > 0 && M >= 0 && N >= 0 && K >= 0, "gemm: negative size");
    need(batch == 0 || (batch % bA == 0 && batch % bB == 0), "gemm: batch must be a multiple of batchA and batchB");
    need_len(na, bA * M * K, "a");
    need_len(nb, bB * K * N, "b");
    need_len(nc, batch * M * N, "c");
    gemm_batched(A, B, C, batch, bA, bB, M, N, K, tA, tB);
    return undefined(env);
  });
}

// gemmBuiltin(a, b, c, M, N, K, lda, ldb, ldc, transA, transB, beta, isa, threads): the built-in
// GEMM on one micro-kernel level (0 portable, 1 avx2+fma, 2 avx512; lowered to what the CPU
// has) and thread count, with explicit row strides. For tests and benchmarks.
napi_value GemmBuiltin(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a = get_args(env, info, 14, "gemmBuiltin");
    size_t na, nb, nc;
    const float* A = f32(env, a.v[0], &na, "a");
    const float* B = f32(env, a.v[1], &nb, "b");
    float* C = f32(env, a.v[2], &nc, "c");
    const int64_t M = integer(env, a.v[3], "M"), N = integer(env, a.v[4], "N"), K = integer(env, a.v[5], "K");
    const int64_t lda = integer(env, a.v[6], "lda"), ldb = integer(env, a.v[7], "ldb"), ldc = integer(env, a.v[8], "ldc");
    const bool tA = boolean(env, a.v[9], "transA"), tB = boolean(env, a.v[10], "transB");
    const double beta = number(env, a.v[11], "beta");
    const int64_t isa = integer(env, a.v[12], "isa"), threads = integer(env, a.v[13], "threads");
    need(M >= 0 && N >= 0 && K >= 0 && threads >= 1 && threads <= 1024 && isa >= 0 && isa <= 2, "gemmBuiltin: bad size");
    // Row r of op(A) spans (rows, cols) of the stored matrix; the last element read must be inside.
    const int64_t aRows = tA ? K : M, aCols = tA ? M : K, bRows = tB ? N : K, bCols = tB ? K : N;
    need(lda >= aCols && ldb >= bCols && ldc >= N, "gemmBuiltin: a leading dimension is below the row length");
    if (M > 0 && N > 0 && K > 0) {
      need(int64_t(na) >= (aRows - 1) * lda + aCols && int64_t(nb) >= (bRows - 1) * ldb + bCols, "gemmBuiltin: operand too short");
    }
    if (M > 0 && N > 0) need(int64_t(nc) >= (M - 1) * ldc + N, "gemmBuiltin: c too short");
    const Isa path = Isa(std::min<int64_t>(isa, int64_t(cpu_info().isa)));
    gemm_builtin(path, tA, tB, M, N, K, A, lda, B, ldb, float(beta), C, ldc, int(threads));
    return undefined(env);
  });
}

// denseForward(x, w, b|null, y, M, K, N, act): y = act(x·w + b).
napi_value DenseForward(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a = get_args(env, info, 8, "denseForward");
    size_t nx, nw, nb = 0, ny;
    const float* x = f32(env, a.v[0], &nx, "x");
    const float* w = f32(env, a.v[1], &nw, "w");
    const float* b = f32_opt(env, a.v[2], &nb, "b");
    float* y = f32(env, a.v[3], &ny, "y");
    const int64_t M = integer(env, a.v[4], "M"), K = integer(env, a.v[5], "K"), N = integer(env, a.v[6], "N");
    const int64_t act = integer(env, a.v[7], "act");
    need(M >= 0 && K >= 0 && N >= 0 && (act == 0 || act == 1), "denseForward: bad size or activation");
    need_len(nx, M * K, "x"); need_len(nw, K * N, "w"); need_len(ny, M * N, "y");
    if (b) need_len(nb, N, "b");
    dense_forward(x, w, b, int(act), y, M, K, N);
    return undefined(env);
  });
}

// denseBackpropInput(dy, w, y, dx, M, K, N, act): dx = (dy ⊙ act'(y))·wᵀ.
napi_value DenseBackpropInput(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a = get_args(env, info, 8, "denseBackpropInput");
    size_t ndy, nw, ny, ndx;
    const float* dy = f32(env, a.v[0], &ndy, "dy");
    const float* w = f32(env, a.v[1], &nw, "w");
    const float* y = f32(env, a.v[2], &ny, "y");
    float* dx = f32(env, a.v[3], &ndx, "dx");
    const int64_t M = integer(env, a.v[4], "M"), K = integer(env, a.v[5], "K"), N = integer(env, a.v[6], "N");
    const int64_t act = integer(env, a.v[7], "act");
    need(M >= 0 && K >= 0 && N >= 0 && (act == 0 || act == 1), "denseBackpropInput: bad size or activation");
    need_len(ndy, M * N, "dy"); need_len(nw, K * N, "w"); need_len(ny, M * N, "y"); need_len(ndx, M * K, "dx");
    dense_backprop_input(dy, w, y, int(act), dx, M, K, N);
    return undefined(env);
  });
}

// denseBackpropParams(dy, x, y, dw, db|null, M, K, N, act): dw = xᵀ·g, db = Σ_rows g.
napi_value DenseBackpropParams(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a = get_args(env, info, 9, "denseBackpropParams");
    size_t ndy, nx, ny, ndw, ndb = 0;
    const float* dy = f32(env, a.v[0], &ndy, "dy");
    const float* x = f32(env, a.v[1], &nx, "x");
    const float* y = f32(env, a.v[2], &ny, "y");
    float* dw = f32(env, a.v[3], &ndw, "dw");
    float* db = const_cast<float*>(f32_opt(env, a.v[4], &ndb, "db"));
    const int64_t M = integer(env, a.v[5], "M"), K = integer(env, a.v[6], "K"), N = integer(env, a.v[7], "N");
    const int64_t act = integer(env, a.v[8], "act");
    need(M >= 0 && K >= 0 && N >= 0 && (act == 0 || act == 1), "denseBackpropParams: bad size or activation");
    need_len(ndy, M * N, "dy"); need_len(nx, M * K, "x"); need_len(ny, M * N, "y"); need_len(ndw, K * N, "dw");
    if (db) need_len(ndb, N, "db");
    dense_backprop_params(dy, x, y, int(act), dw, db, M, K, N);
    return undefined(env);
  });
}

// softmaxXent(z, y, B, C) → mean_b(logΣexp(z_b) − Σ_k y_bk z_bk)
napi_value SoftmaxXent(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a = get_args(env, info, 4, "softmaxXent");
    size_t nz, ny;
    const float* z = f32(env, a.v[0], &nz, "logits");
    const float* y = f32(env, a.v[1], &ny, "labels");
    const int64_t B = integer(env, a.v[2], "B"), C = integer(env, a.v[3], "C");
    need(B >= 0 && C > 0, "softmaxXent: bad size");
    need_len(nz, B * C, "logits"); need_len(ny, B * C, "labels");
    napi_value out;
    check(env, napi_create_double(env, double(softmax_xent(z, y, B, C)), &out), "create_double");
    return out;
  });
}

// softmaxXentGrad(dl, z, y, dz, B, C): dz = dl · (softmax(z) − y) / B.
napi_value SoftmaxXentGrad(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a = get_args(env, info, 6, "softmaxXentGrad");
    size_t nz, ny, nd;
    const double dl = number(env, a.v[0], "dl");
    const float* z = f32(env, a.v[1], &nz, "logits");
    const float* y = f32(env, a.v[2], &ny, "labels");
    float* dz = f32(env, a.v[3], &nd, "dz");
    const int64_t B = integer(env, a.v[4], "B"), C = integer(env, a.v[5], "C");
    need(B >= 0 && C > 0, "softmaxXentGrad: bad size");
    need_len(nz, B * C, "logits"); need_len(ny, B * C, "labels"); need_len(nd, B * C, "dz");
    softmax_xent_grad(float(dl), z, y, dz, B, C);
    return undefined(env);
  });
}

enum class Op { Conv, ConvInput, ConvFilter, Dw, DwInput, DwFilter };

// (in0, in1, out, geometry) for the six convolution kernels.
napi_value ConvCommon(napi_env env, napi_callback_info info, Op op, const char* fn) {
  return guard(env, [&] {
    Args a = get_args(env, info, 4, fn);
    size_t n0, n1, n2;
    const float* p0 = f32(env, a.v[0], &n0, "input 0");
    const float* p1 = f32(env, a.v[1], &n1, "input 1");
    float* out = f32(env, a.v[2], &n2, "output");
    const ConvGeom g = geom(env, a.v[3]);
    const int64_t xs = g.B * g.H * g.W * g.Ci, ys = g.B * g.OH * g.OW * g.Co;
    const bool dw = op == Op::Dw || op == Op::DwInput || op == Op::DwFilter;
    if (dw) need(g.Co == g.Ci * g.cm, "depthwise: Co must equal Ci * channelMultiplier");
    const int64_t ws = dw ? g.fh * g.fw * g.Ci * g.cm : g.fh * g.fw * g.Ci * g.Co;
    switch (op) {
      case Op::Conv: case Op::Dw:
        need_len(n0, xs, "x"); need_len(n1, ws, "filter"); need_len(n2, ys, "y");
        (op == Op::Conv ? conv2d : depthwise_conv2d)(p0, p1, out, g);
        break;
      case Op::ConvInput: case Op::DwInput:
        need_len(n0, ys, "dy"); need_len(n1, ws, "filter"); need_len(n2, xs, "dx");
        (op == Op::ConvInput ? conv2d_backprop_input : depthwise_backprop_input)(p0, p1, out, g);
        break;
      case Op::ConvFilter: case Op::DwFilter:
        need_len(n0, xs, "x"); need_len(n1, ys, "dy"); need_len(n2, ws, "dfilter");
        (op == Op::ConvFilter ? conv2d_backprop_filter : depthwise_backprop_filter)(p0, p1, out, g);
        break;
    }
    return undefined(env);
  });
}

napi_value Conv2D(napi_env e, napi_callback_info i) { return ConvCommon(e, i, Op::Conv, "conv2d"); }
napi_value Conv2DInput(napi_env e, napi_callback_info i) { return ConvCommon(e, i, Op::ConvInput, "conv2dBackpropInput"); }
napi_value Conv2DFilter(napi_env e, napi_callback_info i) { return ConvCommon(e, i, Op::ConvFilter, "conv2dBackpropFilter"); }
napi_value Depthwise(napi_env e, napi_callback_info i) { return ConvCommon(e, i, Op::Dw, "depthwiseConv2d"); }
napi_value DepthwiseInput(napi_env e, napi_callback_info i) { return ConvCommon(e, i, Op::DwInput, "depthwiseBackpropInput"); }
napi_value DepthwiseFilter(napi_env e, napi_callback_info i) { return ConvCommon(e, i, Op::DwFilter, "depthwiseBackpropFilter"); }

// pool(x, y, geometry, isMax)
napi_value Pool(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a = get_args(env, info, 4, "pool");
    size_t nx, ny;
    const float* x = f32(env, a.v[0], &nx, "x");
    float* y = f32(env, a.v[1], &ny, "y");
    const ConvGeom g = geom(env, a.v[2]);
    need(g.Co == g.Ci, "pool: Co must equal Ci");
    need_len(nx, g.B * g.H * g.W * g.Ci, "x");
    need_len(ny, g.B * g.OH * g.OW * g.Ci, "y");
    (boolean(env, a.v[3], "isMax") ? max_pool : avg_pool)(x, y, g);
    return undefined(env);
  });
}

// avgPoolGrad(dy, dx, geometry)
napi_value AvgPoolGrad(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a = get_args(env, info, 3, "avgPoolGrad");
    size_t ny, nx;
    const float* dy = f32(env, a.v[0], &ny, "dy");
    float* dx = f32(env, a.v[1], &nx, "dx");
    const ConvGeom g = geom(env, a.v[2]);
    need(g.Co == g.Ci && g.dh == 1 && g.dw == 1, "avgPoolGrad: Co must equal Ci, dilation 1");
    need_len(nx, g.B * g.H * g.W * g.Ci, "dx");
    need_len(ny, g.B * g.OH * g.OW * g.Ci, "dy");
    avg_pool_grad(dy, dx, g);
    return undefined(env);
  });
}

// maxPoolGrad(dy, x, dx, geometry)
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a = get_args(env, info, 4, "maxPoolGrad");
    size_t ny, nx, nd;
    const float* dy = f32(env, a.v[0], &ny, "dy");
    const float* x = f32(env, a.v[1], &nx, "x");
    float* dx = f32(env, a.v[2], &nd, "dx");
    const ConvGeom g = geom(env, a.v[3]);
    need(g.Co == g.Ci && g.dh == 1 && g.dw == 1, "maxPoolGrad: Co must equal Ci, dilation 1");
    need_len(nx, g.B * g.H * g.W * g.Ci, "x");
    need_len(nd, g.B * g.H * g.W * g.Ci, "dx");
    need_len(ny, g.B * g.OH * g.OW * g.Ci, "dy");
    max_pool_grad(dy, x, dx, g);
    return undefined(env);
  });
}

// batchNorm(x, mean, variance, offset|null, scale|null, eps, y)
napi_value BatchNorm(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a = get_args(env, info, 7, "batchNorm");
    size_t nx, nm, nv, no, ns, ny;
    const float* x = f32(env, a.v[0], &nx, "x");
    const float* m = f32(env, a.v[1], &nm, "mean");
    const float* v = f32(env, a.v[2], &nv, "variance");
    const float* o = f32_opt(env, a.v[3], &no, "offset");
    const float* s = f32_opt(env, a.v[4], &ns, "scale");
    const double eps = number(env, a.v[5], "varianceEpsilon");
    float* y = f32(env, a.v[6], &ny, "y");
    need(nm > 0 && nv > 0 && (!o || no > 0) && (!s || ns > 0), "batchNorm: empty parameter");
    need_len(ny, int64_t(nx), "y");
    batch_norm(x, int64_t(nx), m, int64_t(nm), v, int64_t(nv), o, int64_t(no), s, int64_t(ns), float(eps), y);
    return undefined(env);
  });
}

// biasAct(y, rows, C, bias|null, act)
napi_value BiasAct(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a = get_args(env, info, 5, "biasAct");
    size_t ny, nb;
    float* y = f32(env, a.v[0], &ny, "y");
    const int64_t rows = integer(env, a.v[1], "rows"), C = integer(env, a.v[2], "C");
    const float* b = f32_opt(env, a.v[3], &nb, "bias");
    const int64_t act = integer(env, a.v[4], "act");
    need_len(ny, rows * C, "y");
    if (b) need_len(nb, C, "bias");
    need(act == 0 || act == 1, "biasAct: act must be 0 (linear) or 1 (relu)");
    bias_act(y, rows, C, b, int(act));
    return undefined(env);
  });
}

// binary(op, a, b, out, layout) with layout Int32Array [d0,d1,d2, sa0,sa1,sa2, sb0,sb1,sb2]
napi_value Binary(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a = get_args(env, info, 5, "binary");
    const int64_t op = integer(env, a.v[0], "op");
    size_t na, nb, no, nl;
    const float* A = f32(env, a.v[1], &na, "a");
    const float* B = f32(env, a.v[2], &nb, "b");
    float* O = f32(env, a.v[3], &no, "out");
    const int32_t* l = i32(env, a.v[4], &nl, "layout");
    need(op >= 0 && op <= 4, "binary: op must be 0..4");
    need(nl == 9, "binary: layout must have 9 entries");
    int64_t d[3], sa[3], sb[3];
    for (int i = 0; i < 3; i++) { d[i] = l[i]; sa[i] = l[3 + i]; sb[i] = l[6 + i]; }
    need(d[0] >= 0 && d[1] >= 0 && d[2] >= 0, "binary: negative size");
    need_len(no, d[0] * d[1] * d[2], "out");
    if (no > 0) {
      // The last element each operand reads must lie inside it.
      const int64_t lastA = (d[0] - 1) * sa[0] + (d[1] - 1) * sa[1] + (d[2] - 1) * sa[2];
      const int64_t lastB = (d[0] - 1) * sb[0] + (d[1] - 1) * sb[1] + (d[2] - 1) * sb[2];
      need(lastA < int64_t(na) && lastB < int64_t(nb), "binary: layout reads past an operand");
      need(sa[2] <= 1 && sb[2] <= 1 && sa[0] >= 0 && sa[1] >= 0 && sb[0] >= 0 && sb[1] >= 0 && sa[2] >= 0 && sb[2] >= 0,
           "binary: innermost strides must be 0 or 1");
      binary(int(op), A, B, O, d, sa, sb);
    }
    return undefined(env);
  });
}

// unary(op, x, y, alpha)
napi_value Unary(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a = get_args(env, info, 4, "unary");
    const int64_t op = integer(env, a.v[0], "op");
    size_t nx, ny;
    const float* x = f32(env, a.v[1], &nx, "x");
    float* y = f32(env, a.v[2], &ny, "y");
    const double alpha = number(env, a.v[3], "alpha");
    need(op == 0 || op == 1, "unary: op must be 0 (relu) or 1 (step)");
    need_len(ny, int64_t(nx), "y");
    unary(int(op), x, y, int64_t(nx), float(alpha));
    return undefined(env);
  });
}

// sum(x, out, R, C, leading)
napi_value Sum(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a = get_args(env, info, 5, "sum");
    size_t nx, no;
    const float* x = f32(env, a.v[0], &nx, "x");
    float* out = f32(env, a.v[1], &no, "out");
    const int64_t R = integer(env, a.v[2], "R"), C = integer(env, a.v[3], "C");
    const bool leading = boolean(env, a.v[4], "leading");
    need(R >= 0 && C >= 0, "sum: negative size");
    need_len(nx, R * C, "x");
    need_len(no, leading ? C : R, "out");
    (leading ? sum_leading : sum_trailing)(x, out, R, C);
    return undefined(env);
  });
}

// biasRelu(x, b, y, R, C): y = relu(x + b), x and y [R, C], b [C].
napi_value BiasRelu(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a = get_args(env, info, 5, "biasRelu");
    size_t nx, nb, ny;
    const float* x = f32(env, a.v[0], &nx, "x");
    const float* b = f32(env, a.v[1], &nb, "b");
    float* y = f32(env, a.v[2], &ny, "y");
    const int64_t R = integer(env, a.v[3], "R"), C = integer(env, a.v[4], "C");
    need(R >= 0 && C >= 0, "biasRelu: negative size");
    need_len(nx, R * C, "x");
    need_len(nb, C, "b");
    need_len(ny, R * C, "y");
    bias_relu(x, b, y, R, C);
    return undefined(env);
  });
}

// biasReluGrad(dy, y, dx, db, R, C): dx = dy · step(y), db = Σ_r dx; dy, y, dx [R, C], db [C].
napi_value BiasReluGrad(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a = get_args(env, info, 6, "biasReluGrad");
    size_t ndy, ny, ndx, ndb;
    const float* dy = f32(env, a.v[0], &ndy, "dy");
    const float* y = f32(env, a.v[1], &ny, "y");
    float* dx = f32(env, a.v[2], &ndx, "dx");
    float* db = f32(env, a.v[3], &ndb, "db");
    const int64_t R = integer(env, a.v[4], "R"), C = integer(env, a.v[5], "C");
    need(R >= 0 && C >= 0, "biasReluGrad: negative size");
    need_len(ndy, R * C, "dy");
    need_len(ny, R * C, "y");
    need_len(ndx, R * C, "dx");
    need_len(ndb, C, "db");
    bias_relu_grad(dy, y, dx, db, R, C);
    return undefined(env);
  });
}

// softmax(x, y, R, C): y = softmax over the rows of x [R, C].
napi_value Softmax(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a = get_args(env, info, 4, "softmax");
    size_t nx, ny;
    const float* x = f32(env, a.v[0], &nx, "x");
    float* y = f32(env, a.v[1], &ny, "y");
    const int64_t R = integer(env, a.v[2], "R"), C = integer(env, a.v[3], "C");
    need(R >= 0 && C > 0, "softmax: rows must be >= 0 and the row length > 0");
    need_len(nx, R * C, "x");
    need_len(ny, R * C, "y");
    need(x != y || R == 0, "softmax: x and y must not be the same buffer");
    softmax_rows(x, y, R, C);
    return undefined(env);
  });
}

// transpose(x, y, shape, perm): y = x with its axes permuted (y's axis i is x's axis perm[i]);
// x and y both Float32Array or both Int32Array, shape and perm Int32Array of the same length.
napi_value Transpose(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a = get_args(env, info, 4, "transpose");
    size_t nx, ny, ns, np;
    napi_typedarray_type tx, ty;
    const uint32_t* x = words32(env, a.v[0], &nx, &tx, "x");
    uint32_t* y = words32(env, a.v[1], &ny, &ty, "y");
    const int32_t* shape = i32(env, a.v[2], &ns, "shape");
    const int32_t* perm = i32(env, a.v[3], &np, "perm");
    need(tx == ty, "transpose: x and y must have the same element type");
    need(ns == np, "transpose: shape and perm must have the same length");
    need(ns <= size_t(kTransposeMaxRank), "transpose: rank must be at most " + std::to_string(kTransposeMaxRank));
    const int rank = int(ns);
    int64_t sh[kTransposeMaxRank];
    bool seen[kTransposeMaxRank] = {};
    int64_t total = 1;
    for (int k = 0; k < rank; k++) {
      need(shape[k] >= 0, "transpose: negative size in shape");
      sh[k] = shape[k];
      total *= sh[k];
      need(perm[k] >= 0 && perm[k] < rank && !seen[perm[k]], "transpose: perm must be a permutation of 0..rank-1");
      seen[perm[k]] = true;
    }
    need_len(nx, total, "x");
    need_len(ny, total, "y");
    need(x != y || total <= 1, "transpose: x and y must not be the same buffer");
    transpose32(x, y, rank, sh, perm);
    return undefined(env);
  });
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a = get_args(env, info, 1, "setThreads");
    const int64_t n = integer(env, a.v[0], "threads");
    need(n >= 1 && n <= 1024, "setThreads: expected 1..1024");
    set_threads(int(n));
    return undefined(env);
  });
}

napi_value SetChunkFloats(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a = get_args(env, info, 1, "setChunkFloats");
    const int64_t n = integer(env, a.v[0], "floats");
    need(n >= 0, "setChunkFloats: expected a count >= 0");
    set_chunk_floats(n);
    return undefined(env);
  });
}

void set_str(napi_env env, napi_value obj, const char* key, const std::string& v) {
  napi_value s;
  check(env, napi_create_string_utf8(env, v.c_str(), v.size(), &s), "create_string");
  check(env, napi_set_named_property(env, obj, key, s), "set");
}

void set_bool(napi_env env, napi_value obj, const char* key, bool v) {
  napi_value b;
  check(env, napi_get_boolean(env, v, &b), "get_boolean");
  check(env, napi_set_named_property(env, obj, key, b), "set");
}

// info(): threads, BLAS configuration, the CPU as cpuid reports it and the GEMM path in use.
napi_value Info(napi_env env, napi_callback_info) {
  return guard(env, [&] {
    napi_value obj, threads;
    check(env, napi_create_object(env, &obj), "create_object");
    check(env, napi_create_int32(env, get_threads(), &threads), "create_int32");
    check(env, napi_set_named_property(env, obj, "threads", threads), "set");
    const CpuInfo& cpu = cpu_info();
    const BlasState& b = blas_state();
    set_str(env, obj, "blas", blas_config());
    set_str(env, obj, "cpu", cpu.model + " (" + cpu.vendor + " family " + std::to_string(cpu.family) + " model " +
                                 std::to_string(cpu.model_id) + ")");
    set_str(env, obj, "isa", isa_name(cpu.isa));
    set_str(env, obj, "kernelIsa", isa_name(b.isa));
    set_str(env, obj, "gemm", gemm_path());
    set_str(env, obj, "blasMode", b.mode == BlasMode::Builtin ? "builtin" : b.mode == BlasMode::OpenBlas ? "openblas" : "auto");
    set_bool(env, obj, "openblas", b.openblas);
    set_str(env, obj, "openblasCore", b.openblas_core);
    set_str(env, obj, "openblasCoreDetected", b.openblas_core_detected);
    set_str(env, obj, "note", b.note);
    return obj;
  });
}

napi_value Init(napi_env env, napi_value exports) {
  blas_init();
  const napi_property_descriptor props[] = {
      {"gemm", nullptr, Gemm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gemmBuiltin", nullptr, GemmBuiltin, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"denseForward", nullptr, DenseForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"denseBackpropInput", nullptr, DenseBackpropInput, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"denseBackpropParams", nullptr, DenseBackpropParams, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"softmaxXent", nullptr, SoftmaxXent, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"softmaxXentGrad", nullptr, SoftmaxXentGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2d", nullptr, Conv2D, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropInput", nullptr, Conv2DInput, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropFilter", nullptr, Conv2DFilter, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"depthwiseConv2d", nullptr, Depthwise, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"depthwiseBackpropInput", nullptr, DepthwiseInput, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"depthwiseBackpropFilter", nullptr, DepthwiseFilter, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"pool", nullptr, Pool, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"avgPoolGrad", nullptr, AvgPoolGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolGrad", nullptr, MaxPoolGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNorm", nullptr, BatchNorm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"biasAct", nullptr, BiasAct, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"binary", nullptr, Binary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"unary", nullptr, Unary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sum", nullptr, Sum, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"biasRelu", nullptr, BiasRelu, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"biasReluGrad", nullptr, BiasReluGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"softmax", nullptr, Softmax, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"transpose", nullptr, Transpose, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setChunkFloats", nullptr, SetChunkFloats, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  define_tree_ops(env, exports);
  return exports;
}

}  // namespace
}  // namespace lets

NAPI_MODULE(NODE_GYP_MODULE_NAME, lets::Init)
