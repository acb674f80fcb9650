// NHWC float32 kernels: matmul through sgemm (blas.cc: the built-in GEMM or OpenBLAS), convolutions as im2col + sgemm
// (chunked over the batch so the column buffer stays in cache), depthwise convolution, pooling
// and batch norm as direct loops parallelised with OpenMP.
#include "kernels.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "blas.h"

namespace lets {

namespace {
// Column buffer budget per chunk, in floats (default 2^17 = 512 KiB, LETS_NATIVE_CHUNK_FLOATS):
// the chunk's im2col columns stay in L2 while sgemm reads them (measured 45 -> 65 GFLOP/s on
// one core against 8 MiB chunks).
int64_t g_chunk_override = 0;  // set_chunk_floats; 0 = environment or default

int64_t chunk_floats() {
  if (g_chunk_override > 0) return g_chunk_override;
  static const int64_t from_env = [] {
    const char* e = std::getenv("LETS_NATIVE_CHUNK_FLOATS");
    const long long n = e ? std::atoll(e) : 0;
    return n > 0 ? int64_t(n) : int64_t(1) << 17;
  }();
  return from_env;
}

int g_threads = 1;

// Per-thread scratch buffer, grown on demand and never zero-initialised.
float* scratch(int64_t n) {
  thread_local std::unique_ptr<float[]> buf;
  thread_local int64_t cap = 0;
  if (n > cap) {
    buf.reset(new float[n]);
    cap = n;
  }
  return buf.get();
}

bool is_pointwise(const ConvGeom& g) {
  return g.fh == 1 && g.fw == 1 && g.sh == 1 && g.sw == 1 && g.pad_top == 0 && g.pad_left == 0 &&
         g.OH == g.H && g.OW == g.W;
}

// Images per chunk so that the column buffer holds at most kChunkFloats.
int64_t images_per_chunk(const ConvGeom& g) {
  const int64_t per = std::max<int64_t>(1, g.OH * g.OW * g.fh * g.fw * g.Ci);
  return std::max<int64_t>(1, std::min<int64_t>(g.B, chunk_floats() / per));
}

// n floats from s to d (no overlap). Fixed-size pieces, so that the short runs of a small
// convolution (3 or 9 floats for 1 or 3 input channels) are a few moves, not a library call each.
inline void copy_floats(float* d, const float* s, int64_t n) {
  for (; n >= 8; n -= 8, d += 8, s += 8) std::memcpy(d, s, 8 * sizeof(float));
  if (n >= 4) {
    std::memcpy(d, s, 4 * sizeof(float));
    n -= 4, d += 4, s += 4;
  }
  for (; n > 0; n--) *d++ = *s++;
}

inline void zero_floats(float* d, int64_t n) {
  for (; n > 0; n--) *d++ = 0.f;
}

// Output columns [lo, hi) whose window rows lie wholly inside the image (dilation 1 only; an
// empty range otherwise): their f_w·Cᵢ floats are one contiguous run of x.
struct Columns {
  int64_t lo, hi;
};
Columns interior_columns(const ConvGeom& g) {
  if (g.dw != 1) return {g.OW, g.OW};
  const int64_t lo = std::min<int64_t>(g.OW, (g.pad_left + g.sw - 1) / g.sw);
  const int64_t last = g.W - g.fw + g.pad_left;  // ox * sw <= last
  return {lo, last < 0 ? lo : std::max<int64_t>(lo, std::min<int64_t>(g.OW, last / g.sw + 1))};
}

// col[(n*OH+oy)*OW+ox, (kh*fw+kw)*Ci + c] = x[b0+n, oy*sh-pt+kh*dh, ox*sw-pl+kw*dw, c] (0 outside).
// Where a window row lies inside the image and dw == 1, its fw*Ci floats are one contiguous run
// of x and are copied as one; RUN > 0 is that length known at compile time (the short runs of a
// convolution with 1 to 5 input channels), 0 a length read at run time.
template <int RUN>
void im2col_rows(const float* x, float* col, int64_t b0, int64_t r0, int64_t r1, const ConvGeom& geom) {
  // A local copy: the stores into col could alias a referenced geometry, which would make the
  // compiler reload every field in the inner loops.
  const ConvGeom g = geom;
  const int64_t K = g.fh * g.fw * g.Ci, run = RUN > 0 ? RUN : g.fw * g.Ci, Ci = g.Ci;
  const auto [lo, hi] = interior_columns(g);
  auto edge = [&](float* dst, const float* xrow, int64_t ox) {
    const int64_t ix0 = ox * g.sw - g.pad_left;
    for (int64_t kw = 0; kw < g.fw; kw++) {
      const int64_t ix = ix0 + kw * g.dw;
      if (ix < 0 || ix >= g.W)
        zero_floats(dst + kw * Ci, Ci);
      else
        copy_floats(dst + kw * Ci, xrow + ix * Ci, Ci);
    }
  };
  for (int64_t r = r0; r < r1; r++) {
    const int64_t n = r / g.OH, oy = r % g.OH;
    const float* xb = x + (b0 + n) * g.H * g.W * Ci;
    float* rowdst = col + r * g.OW * K;
    for (int64_t kh = 0; kh < g.fh; kh++) {
      const int64_t iy = oy * g.sh - g.pad_top + kh * g.dh;
      float* dst = rowdst + kh * run;
      if (iy < 0 || iy >= g.H) {
        for (int64_t ox = 0; ox < g.OW; ox++, dst += K) zero_floats(dst, run);
        continue;
      }
      const float* xrow = xb + iy * g.W * Ci;
      int64_t ox = 0;
      for (; ox < lo; ox++, dst += K) edge(dst, xrow, ox);
      const float* src = xrow + (lo * g.sw - g.pad_left) * Ci;
      for (; ox < hi; ox++, dst += K, src += g.sw * Ci) copy_floats(dst, src, run);  // run: a constant if RUN > 0
      for (; ox < g.OW; ox++, dst += K) edge(dst, xrow, ox);
    }
  }
}

void im2col(const float* x, float* col, int64_t b0, int64_t nb, const ConvGeom& g) {
  const int64_t rows = nb * g.OH;
  const int64_t run = g.fw * g.Ci;
  using Fn = void (*)(const float*, float*, int64_t, int64_t, int64_t, const ConvGeom&);
  static constexpr Fn fixed[] = {im2col_rows<0>, im2col_rows<1>, im2col_rows<2>, im2col_rows<3>, im2col_rows<4>,
                                 im2col_rows<5>, im2col_rows<6>, im2col_rows<7>, im2col_rows<8>, im2col_rows<9>,
                                 im2col_rows<10>, im2col_rows<11>, im2col_rows<12>, im2col_rows<13>, im2col_rows<14>,
                                 im2col_rows<15>, im2col_rows<16>};
  const Fn f = run <= 16 ? fixed[run] : im2col_rows<0>;
  // Rows in contiguous runs per thread (one run when called inside a parallel region).
#pragma omp parallel
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    f(x, col, b0, rows * t / nt, rows * (t + 1) / nt, g);
  }
}

// dx[b0+n] = sum of the column rows scattered back (dx images are zeroed first).
void col2im(const float* col, float* dx, int64_t b0, int64_t nb, const ConvGeom& geom) {
  const ConvGeom g = geom;  // as in im2col_rows: no reloads through a reference the adds could alias
  const int64_t K = g.fh * g.fw * g.Ci;
  const int64_t C = g.Ci;
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < nb; n++) {
    float* dxb = dx + (b0 + n) * g.H * g.W * C;
    std::memset(dxb, 0, sizeof(float) * g.H * g.W * C);
    const float* src = col + n * g.OH * g.OW * K;
    const int64_t run = g.fw * C;
    const auto [lo, hi] = interior_columns(g);
    for (int64_t oy = 0; oy < g.OH; oy++) {
      for (int64_t ox = 0; ox < g.OW; ox++) {
        const int64_t ix0 = ox * g.sw - g.pad_left;
        const bool inside = ox >= lo && ox < hi;
        for (int64_t kh = 0; kh < g.fh; kh++, src += run) {
          const int64_t iy = oy * g.sh - g.pad_top + kh * g.dh;
          if (iy < 0 || iy >= g.H) continue;
          if (inside) {
            // One contiguous run of dx; each of its elements gets one term here, as before.
            float* d = dxb + (iy * g.W + ix0) * C;
            for (int64_t j = 0; j < run; j++) d[j] += src[j];
            continue;
          }
          for (int64_t kw = 0; kw < g.fw; kw++) {
            const int64_t ix = ix0 + kw * g.dw;
            if (ix < 0 || ix >= g.W) continue;
            float* d = dxb + (iy * g.W + ix) * C;
            const float* s = src + kw * C;
            for (int64_t c = 0; c < C; c++) d[c] += s[c];
          }
        }
      }
    }
  }
}
}  // namespace

void set_threads(int n) {
  g_threads = std::max(1, n);
  omp_set_num_threads(g_threads);
  blas_set_threads(g_threads);
}

int get_threads() { return g_threads; }

void set_chunk_floats(int64_t n) { g_chunk_override = n > 0 ? n : 0; }

const char* blas_config() {
  const BlasState& s = blas_state();
  return s.openblas ? s.openblas_config.c_str() : "builtin";
}

void gemm_batched(const float* a, const float* b, float* c, int64_t batch, int64_t batchA,
                  int64_t batchB, int64_t M, int64_t N, int64_t K, bool transA, bool transB) {
  const int64_t lda = transA ? M : K, ldb = transB ? K : N;
  if (batch > 1 && batchB == 1 && batchA == batch && !transA) {
    // [batch*M, K] @ [K, N]: one large product.
    sgemm(false, transB, batch * M, N, K, a, lda, b, ldb, 0.f, c, N);
    return;
  }
  for (int64_t i = 0; i < batch; i++) {
    sgemm(transA, transB, M, N, K, a + (i % batchA) * M * K, lda, b + (i % batchB) * K * N, ldb,
          0.f, c + i * M * N, N);
  }
}

// Chunks run one per thread (each im2col + a single-threaded sgemm: inside an OpenMP region
// sgemm runs on one thread, and never on pthreads OpenBLAS) when there are enough of them;
// otherwise one after another with a multi-threaded sgemm.
bool chunks_in_parallel(int64_t nchunks) { return g_threads > 1 && nchunks >= g_threads; }

void conv2d(const float* x, const float* w, float* y, const ConvGeom& g) {
  const int64_t K = g.fh * g.fw * g.Ci, P = g.OH * g.OW;
  if (is_pointwise(g)) {
    sgemm(false, false, g.B * P, g.Co, g.Ci, x, g.Ci, w, g.Co, 0.f, y, g.Co);
    return;
  }
  const int64_t per = images_per_chunk(g), nchunks = (g.B + per - 1) / per;
#pragma omp parallel for schedule(static) if (chunks_in_parallel(nchunks))
  for (int64_t ch = 0; ch < nchunks; ch++) {
    const int64_t b0 = ch * per, nb = std::min(per, g.B - b0);
    float* col = scratch(per * P * K);
    im2col(x, col, b0, nb, g);
    sgemm(false, false, nb * P, g.Co, K, col, K, w, g.Co, 0.f, y + b0 * P * g.Co, g.Co);
  }
}

void conv2d_backprop_filter(const float* x, const float* dy, float* dw, const ConvGeom& g) {
  const int64_t K = g.fh * g.fw * g.Ci, P = g.OH * g.OW;
  if (is_pointwise(g)) {
    sgemm(true, false, g.Ci, g.Co, g.B * P, x, g.Ci, dy, g.Co, 0.f, dw, g.Co);
    return;
  }
  std::memset(dw, 0, sizeof(float) * K * g.Co);
  const int64_t per = images_per_chunk(g), nchunks = (g.B + per - 1) / per;
  const bool par = chunks_in_parallel(nchunks);
#pragma omp parallel if (par)
  {
    // Each thread accumulates col^T·dy over its chunks, then adds its sum into dw.
    std::vector<float> acc(size_t(K * g.Co));
    bool any = false;
#pragma omp for schedule(static)
    for (int64_t ch = 0; ch < nchunks; ch++) {
      const int64_t b0 = ch * per, nb = std::min(per, g.B - b0);
      float* col = scratch(per * P * K);
      im2col(x, col, b0, nb, g);
      sgemm(true, false, K, g.Co, nb * P, col, K, dy + b0 * P * g.Co, g.Co, any ? 1.f : 0.f, acc.data(), g.Co);
      any = true;
    }
    // Added in thread order (not first come), so the result is the same on every run.
    const int nt = omp_get_num_threads();
#pragma omp for ordered schedule(static, 1)
    for (int t = 0; t < nt; t++) {
#pragma omp ordered
      if (any)
        for (int64_t i = 0; i < K * g.Co; i++) dw[i] += acc[size_t(i)];
    }
  }
}

void conv2d_backprop_input(const float* dy, const float* w, float* dx, const ConvGeom& g) {
  const int64_t K = g.fh * g.fw * g.Ci, P = g.OH * g.OW;
  if (is_pointwise(g)) {
    sgemm(false, true, g.B * P, g.Ci, g.Co, dy, g.Co, w, g.Co, 0.f, dx, g.Ci);
    return;
  }
  const int64_t per = images_per_chunk(g), nchunks = (g.B + per - 1) / per;
#pragma omp parallel for schedule(static) if (chunks_in_parallel(nchunks))
  for (int64_t ch = 0; ch < nchunks; ch++) {
    const int64_t b0 = ch * per, nb = std::min(per, g.B - b0);
    float* col = scratch(per * P * K);
    sgemm(false, true, nb * P, K, g.Co, dy + b0 * P * g.Co, g.Co, w, g.Co, 0.f, col, K);
    col2im(col, dx, b0, nb, g);
  }
}

void depthwise_conv2d(const float* x, const float* w, float* y, const ConvGeom& g) {
  const int64_t C = g.Ci, cm = g.cm, Co = C * cm;
  const int64_t rows = g.B * g.OH;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const int64_t b = r / g.OH, oy = r % g.OH;
    const float* xb = x + b * g.H * g.W * C;
    for (int64_t ox = 0; ox < g.OW; ox++) {
      float* out = y + ((b * g.OH + oy) * g.OW + ox) * Co;
      std::fill(out, out + Co, 0.f);
      for (int64_t kh = 0; kh < g.fh; kh++) {
        const int64_t iy = oy * g.sh - g.pad_top + kh * g.dh;
        if (iy < 0 || iy >= g.H) continue;
        for (int64_t kw = 0; kw < g.fw; kw++) {
          const int64_t ix = ox * g.sw - g.pad_left + kw * g.dw;
          if (ix < 0 || ix >= g.W) continue;
          const float* xp = xb + (iy * g.W + ix) * C;
          const float* wp = w + (kh * g.fw + kw) * Co;
          if (cm == 1) {
            for (int64_t c = 0; c < C; c++) out[c] += xp[c] * wp[c];
          } else {
            for (int64_t c = 0; c < C; c++)
              for (int64_t q = 0; q < cm; q++) out[c * cm + q] += xp[c] * wp[c * cm + q];
          }
        }
      }
    }
  }
}

void depthwise_backprop_input(const float* dy, const float* w, float* dx, const ConvGeom& g) {
  const int64_t C = g.Ci, cm = g.cm, Co = C * cm;
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < g.B; b++) {
    float* dxb = dx + b * g.H * g.W * C;
    std::memset(dxb, 0, sizeof(float) * g.H * g.W * C);
    for (int64_t oy = 0; oy < g.OH; oy++) {
      for (int64_t ox = 0; ox < g.OW; ox++) {
        const float* dyp = dy + ((b * g.OH + oy) * g.OW + ox) * Co;
        for (int64_t kh = 0; kh < g.fh; kh++) {
          const int64_t iy = oy * g.sh - g.pad_top + kh * g.dh;
          if (iy < 0 || iy >= g.H) continue;
          for (int64_t kw = 0; kw < g.fw; kw++) {
            const int64_t ix = ox * g.sw - g.pad_left + kw * g.dw;
            if (ix < 0 || ix >= g.W) continue;
            float* d = dxb + (iy * g.W + ix) * C;
            const float* wp = w + (kh * g.fw + kw) * Co;
            if (cm == 1) {
              for (int64_t c = 0; c < C; c++) d[c] += dyp[c] * wp[c];
            } else {
              for (int64_t c = 0; c < C; c++) {
                float s = 0.f;
                for (int64_t q = 0; q < cm; q++) s += dyp[c * cm + q] * wp[c * cm + q];
                d[c] += s;
              }
            }
          }
        }
      }
    }
  }
}

void depthwise_backprop_filter(const float* x, const float* dy, float* dw, const ConvGeom& g) {
  const int64_t C = g.Ci, cm = g.cm, Co = C * cm;
  const int64_t size = g.fh * g.fw * Co;
  std::memset(dw, 0, sizeof(float) * size);
#pragma omp parallel
  {
    std::vector<float> acc(size, 0.f);
#pragma omp for schedule(static) nowait
    for (int64_t r = 0; r < g.B * g.OH; r++) {
      const int64_t b = r / g.OH, oy = r % g.OH;
      const float* xb = x + b * g.H * g.W * C;
      for (int64_t ox = 0; ox < g.OW; ox++) {
        const float* dyp = dy + ((b * g.OH + oy) * g.OW + ox) * Co;
        for (int64_t kh = 0; kh < g.fh; kh++) {
          const int64_t iy = oy * g.sh - g.pad_top + kh * g.dh;
          if (iy < 0 || iy >= g.H) continue;
          for (int64_t kw = 0; kw < g.fw; kw++) {
            const int64_t ix = ox * g.sw - g.pad_left + kw * g.dw;
            if (ix < 0 || ix >= g.W) continue;
            const float* xp = xb + (iy * g.W + ix) * C;
            float* a = acc.data() + (kh * g.fw + kw) * Co;
            if (cm == 1) {
              for (int64_t c = 0; c < C; c++) a[c] += xp[c] * dyp[c];
            } else {
              for (int64_t c = 0; c < C; c++)
                for (int64_t q = 0; q < cm; q++) a[c * cm + q] += xp[c] * dyp[c * cm + q];
            }
          }
        }
      }
    }
    const int nt = omp_get_num_threads();
#pragma omp for ordered schedule(static, 1)
    for (int t = 0; t < nt; t++) {
#pragma omp ordered
      for (int64_t i = 0; i < size; i++) dw[i] += acc[i];
    }
  }
}

void avg_pool(const float* x, float* y, const ConvGeom& g) {
  const int64_t C = g.Ci;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < g.B * g.OH; r++) {
    const int64_t b = r / g.OH, oy = r % g.OH;
    const float* xb = x + b * g.H * g.W * C;
    const int64_t y0 = oy * g.sh - g.pad_top;
    const int64_t ylo = std::max<int64_t>(0, y0), yhi = std::min(g.H, y0 + (g.fh - 1) * g.dh + 1);
    for (int64_t ox = 0; ox < g.OW; ox++) {
      float* out = y + ((b * g.OH + oy) * g.OW + ox) * C;
      std::fill(out, out + C, 0.f);
      const int64_t x0 = ox * g.sw - g.pad_left;
      const int64_t xlo = std::max<int64_t>(0, x0), xhi = std::min(g.W, x0 + (g.fw - 1) * g.dw + 1);
      int64_t count = 0;
      for (int64_t iy = ylo; iy < yhi; iy += g.dh)
        for (int64_t ix = xlo; ix < xhi; ix += g.dw, count++) {
          const float* xp = xb + (iy * g.W + ix) * C;
          for (int64_t c = 0; c < C; c++) out[c] += xp[c];
        }
      const float inv = 1.f / float(count);
      for (int64_t c = 0; c < C; c++) out[c] = count ? out[c] * inv : NAN;
    }
  }
}

void max_pool(const float* x, float* y, const ConvGeom& g) {
  const int64_t C = g.Ci;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < g.B * g.OH; r++) {
    const int64_t b = r / g.OH, oy = r % g.OH;
    const float* xb = x + b * g.H * g.W * C;
    const int64_t y0 = oy * g.sh - g.pad_top;
    const int64_t ylo = std::max<int64_t>(0, y0), yhi = std::min(g.H, y0 + (g.fh - 1) * g.dh + 1);
    for (int64_t ox = 0; ox < g.OW; ox++) {
      float* out = y + ((b * g.OH + oy) * g.OW + ox) * C;
      std::fill(out, out + C, -std::numeric_limits<float>::infinity());
      const int64_t x0 = ox * g.sw - g.pad_left;
      const int64_t xlo = std::max<int64_t>(0, x0), xhi = std::min(g.W, x0 + (g.fw - 1) * g.dw + 1);
      for (int64_t iy = ylo; iy < yhi; iy += g.dh)
        for (int64_t ix = xlo; ix < xhi; ix += g.dw) {
          const float* xp = xb + (iy * g.W + ix) * C;
          for (int64_t c = 0; c < C; c++) out[c] = xp[c] > out[c] ? xp[c] : out[c];  // select: vectorises
        }
    }
  }
}

void avg_pool_grad(const float* dy, float* dx, const ConvGeom& g) {
  // The adjoint of avg_pool: each window spreads dy/n over its n in-image cells (padding
  // excluded, as in the forward pass).
  const int64_t C = g.Ci;
  if (g.pad_top == 0 && g.pad_left == 0 && g.sh == g.fh && g.sw == g.fw && g.OH * g.fh == g.H &&
      g.OW * g.fw == g.W) {
    // The windows tile the image (2x2 stride 2 on an even image, say): every cell lies in exactly
    // one window, so its value is written once, 0 + dy/n as the general loop computes it (the 0 is
    // kept: it turns a -0 into +0 there too), with no zeroing pass and no read of dx.
    const float mult = 1.f / float(g.fh * g.fw);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < g.B * g.OH; r++) {
      const int64_t b = r / g.OH, oy = r % g.OH;
      for (int64_t kh = 0; kh < g.fh; kh++) {
        float* d = dx + ((b * g.H + oy * g.fh + kh) * g.W) * C;
        const float* dyp = dy + (b * g.OH + oy) * g.OW * C;
        for (int64_t ox = 0; ox < g.OW; ox++, dyp += C)
          for (int64_t kw = 0; kw < g.fw; kw++, d += C)
            for (int64_t c = 0; c < C; c++) d[c] = 0.f + dyp[c] * mult;
      }
    }
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < g.B; b++) {
    float* dxb = dx + b * g.H * g.W * C;
    std::memset(dxb, 0, sizeof(float) * g.H * g.W * C);
    for (int64_t oy = 0; oy < g.OH; oy++) {
      const int64_t y0 = oy * g.sh - g.pad_top;
      const int64_t ylo = std::max<int64_t>(0, y0), yhi = std::min(g.H, y0 + g.fh);
      for (int64_t ox = 0; ox < g.OW; ox++) {
        const int64_t x0 = ox * g.sw - g.pad_left;
        const int64_t xlo = std::max<int64_t>(0, x0), xhi = std::min(g.W, x0 + g.fw);
        const int64_t n = (yhi - ylo) * (xhi - xlo);
        if (n <= 0) continue;
        const float mult = 1.f / float(n);
        const float* dyp = dy + ((b * g.OH + oy) * g.OW + ox) * C;
        for (int64_t iy = ylo; iy < yhi; iy++)
          for (int64_t ix = xlo; ix < xhi; ix++) {
            float* d = dxb + (iy * g.W + ix) * C;
            for (int64_t c = 0; c < C; c++) d[c] += dyp[c] * mult;
          }
      }
    }
  }
}

void max_pool_grad(const float* dy, const float* x, float* dx, const ConvGeom& g) {
  const int64_t C = g.Ci;
#pragma omp parallel
  {
    std::vector<float> best(C);
    std::vector<int64_t> pos(C);
#pragma omp for schedule(static)
    for (int64_t b = 0; b < g.B; b++) {
      const float* xb = x + b * g.H * g.W * C;
      float* dxb = dx + b * g.H * g.W * C;
      std::memset(dxb, 0, sizeof(float) * g.H * g.W * C);
      for (int64_t oy = 0; oy < g.OH; oy++) {
        const int64_t y0 = oy * g.sh - g.pad_top;
        const int64_t ylo = std::max<int64_t>(0, y0), yhi = std::min(g.H, y0 + g.fh);
        for (int64_t ox = 0; ox < g.OW; ox++) {
          const int64_t x0 = ox * g.sw - g.pad_left;
          const int64_t xlo = std::max<int64_t>(0, x0), xhi = std::min(g.W, x0 + g.fw);
          std::fill(best.begin(), best.end(), -std::numeric_limits<float>::infinity());
          std::fill(pos.begin(), pos.end(), int64_t(-1));
          for (int64_t iy = ylo; iy < yhi; iy++)
            for (int64_t ix = xlo; ix < xhi; ix++) {
              const int64_t off = (iy * g.W + ix) * C;
              for (int64_t c = 0; c < C; c++)
                if (xb[off + c] > best[c]) {
                  best[c] = xb[off + c];
                  pos[c] = off + c;
                }
            }
          const float* dyp = dy + ((b * g.OH + oy) * g.OW + ox) * C;
          for (int64_t c = 0; c < C; c++)
            if (pos[c] >= 0) dxb[pos[c]] += dyp[c];
        }
      }
    }
  }
}

void batch_norm(const float* x, int64_t n, const float* mean, int64_t nM, const float* var,
                int64_t nV, const float* offset, int64_t nO, const float* scale, int64_t nS,
                float eps, float* y) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    const float o = offset ? offset[i % nO] : 0.f;
    const float s = scale ? scale[i % nS] : 1.f;
    y[i] = o + (x[i] - mean[i % nM]) * s / std::sqrt(var[i % nV] + eps);
  }
}

void bias_act(float* y, int64_t rows, int64_t C, const float* bias, int act) {
  // Small outputs (a dense layer's [128, 256]) on one thread: waking the other costs more, and
  // on a busy machine a parallel region waits for its slowest thread to be scheduled.
#pragma omp parallel for schedule(static) if (rows * C >= (int64_t(1) << 18))
  for (int64_t r = 0; r < rows; r++) {
    float* p = y + r * C;
    if (bias)
      for (int64_t c = 0; c < C; c++) p[c] += bias[c];
    if (act == 1)
      for (int64_t c = 0; c < C; c++) p[c] = p[c] < 0.f ? 0.f : p[c];  // NaN stays NaN, as in tfjs
  }
}

}  // namespace lets
