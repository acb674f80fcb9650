// Transpose of a dense row-major tensor of 32-bit elements (float32 or int32: the bits are
// copied, never converted). The permutation is first simplified: axes of size 1 are dropped
// and input axes that stay adjacent in the output are merged, so [B,S,H,D] → [B,H,S,D] becomes
// copies of contiguous runs of D elements and a 2-D transpose becomes one tiled loop. Where the
// output's last axis is strided in the input, the copy goes in square tiles (the input axis of
// stride 1 against the output's last axis) so both sides touch whole cache lines. A pure copy:
// the result is exact and independent of the thread count.
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels.h"

namespace lets {

namespace {
constexpr int64_t kParallelMin = int64_t(1) << 16;  // memory-bound, like the elementwise ops
constexpr int64_t kTile = 16;                        // 16 x 4 bytes: one cache line
constexpr int64_t kChunk = int64_t(1) << 12;         // elements per work item of the run copy

// Output rows (all axes but the last) as runs of d[r-1] elements read with input stride s[r-1].
void copy_runs(const uint32_t* x, uint32_t* y, int r, const int64_t* d, const int64_t* s) {
  const int64_t n = d[r - 1], sl = s[r - 1];
  int64_t rows = 1;
  for (int k = 0; k < r - 1; k++) rows *= d[k];
  const int64_t per = std::max<int64_t>(1, kChunk / n);
  const int64_t items = (rows + per - 1) / per;
#pragma omp parallel for schedule(static) if (rows * n >= kParallelMin)
  for (int64_t it = 0; it < items; it++) {
    const int64_t r0 = it * per, r1 = std::min(rows, r0 + per);
    int64_t c[kTransposeMaxRank];
    int64_t off = 0, rem = r0;
    for (int k = r - 2; k >= 0; k--) {
      c[k] = rem % d[k];
      rem /= d[k];
      off += c[k] * s[k];
    }
    for (int64_t row = r0; row < r1; row++) {
      uint32_t* o = y + row * n;
      const uint32_t* p = x + off;
      if (sl == 1) {
        std::memcpy(o, p, sizeof(uint32_t) * size_t(n));
      } else {
        for (int64_t a = 0; a < n; a++) o[a] = p[a * sl];
      }
      for (int k = r - 2; k >= 0; k--) {  // next row: odometer over the output's leading axes
        off += s[k];
        if (++c[k] < d[k]) break;
        off -= c[k] * s[k];
        c[k] = 0;
      }
    }
  }
}

// Output axis q has input stride 1 and the last output axis A has input stride sA > 1: copy
// kTile x kTile tiles of (q, A) for every index of the other axes.
void copy_tiled(const uint32_t* x, uint32_t* y, int r, const int64_t* d, const int64_t* s, int q) {
  const int64_t nA = d[r - 1], sA = s[r - 1], nB = d[q];
  int64_t os[kTransposeMaxRank];  // output strides
  os[r - 1] = 1;
  for (int k = r - 2; k >= 0; k--) os[k] = os[k + 1] * d[k + 1];
  const int64_t oB = os[q];
  int od[kTransposeMaxRank];
  int no = 0;
  int64_t outer = 1;
  for (int k = 0; k < r - 1; k++) {
    if (k == q) continue;
    od[no++] = k;
    outer *= d[k];
  }
  const int64_t nbB = (nB + kTile - 1) / kTile;
  const int64_t items = outer * nbB;
#pragma omp parallel for schedule(static) if (outer * nA * nB >= kParallelMin)
  for (int64_t it = 0; it < items; it++) {
    int64_t o = it / nbB, in_off = 0, out_off = 0;
    const int64_t b0 = (it % nbB) * kTile, b1 = std::min(nB, b0 + kTile);
    for (int i = no - 1; i >= 0; i--) {
      const int k = od[i];
      const int64_t ck = o % d[k];
      o /= d[k];
      in_off += ck * s[k];
      out_off += ck * os[k];
    }
    for (int64_t a0 = 0; a0 < nA; a0 += kTile) {
      const int64_t a1 = std::min(nA, a0 + kTile);
      for (int64_t b = b0; b < b1; b++) {
        uint32_t* yo = y + out_off + b * oB;
        const uint32_t* xi = x + in_off + b;
        for (int64_t a = a0; a < a1; a++) yo[a] = xi[a * sA];
      }
    }
  }
}
}  // namespace

void transpose32(const uint32_t* x, uint32_t* y, int rank, const int64_t* shape, const int32_t* perm) {
  int64_t total = 1;
  for (int k = 0; k < rank; k++) total *= shape[k];
  if (total == 0) return;
  int64_t is[kTransposeMaxRank];  // input strides
  int64_t acc = 1;
  for (int k = rank - 1; k >= 0; k--) {
    is[k] = acc;
    acc *= shape[k];
  }
  // Output axes as (size, input stride), size-1 axes dropped, mergeable neighbours merged.
  int64_t d[kTransposeMaxRank], s[kTransposeMaxRank];
  int r = 0;
  for (int i = 0; i < rank; i++) {
    const int64_t n = shape[perm[i]], st = is[perm[i]];
    if (n == 1) continue;
    if (r > 0 && s[r - 1] == st * n) {
      d[r - 1] *= n;
      s[r - 1] = st;
    } else {
      d[r] = n;
      s[r] = st;
      r++;
    }
  }
  if (r == 0) {  // one element
    y[0] = x[0];
    return;
  }
  int q = -1;
  if (s[r - 1] != 1) {
    for (int k = 0; k < r - 1; k++) {
      if (s[k] == 1) q = k;
    }
  }
  // The input's innermost axis (size > 1) has stride 1 and lies somewhere in the output, so q
  // is found whenever the last output axis is strided; copy_runs covers any layout regardless.
  if (q >= 0)
    copy_tiled(x, y, r, d, s, q);
  else
    copy_runs(x, y, r, d, s);
}

}  // namespace lets
