// A fast float32 result of a sequential double sum, bit for bit.
//
// tfjs's Sum over all axes (and @lets/native's, and the tree kernels' dots, which must give Sum's
// bits) adds float32 values in order into one double and rounds once to float32. That chain is
// latency-bound: one add every 3-4 cycles, 0.29 ms for the 270K weights of a small MLP on a Zen 3
// core, on every SAM step's ‖g‖ and in every LETS update's dots. Here the same values are first
// added into 8 independent double lanes (vectorised: 0.09 ms there), and the lanes' result is
// accepted only where it provably rounds to the chain's float32:
//
//   each double add fl(x + y) errs by at most u·|fl(x + y)|, u = 2^-53, so a recursive sum errs by
//   at most about u·Σ_k |running sum_k|. Cut the values into blocks of 512: inside block j every
//   running sum, the chain's and each lane's, is at most Λ_j + A_j in magnitude, where Λ_j is
//   Σ_l |lane_l| at the block's start (≥ |the exact sum before the block|, up to the lanes' own
//   error so far) and A_j is Σ|pᵢ| over the block. So with B = Σ_j m_j·(Λ_j + A_j) (m_j the
//   block's length) both the chain and the lanes are within u·B·(1 + n·u) of the exact sum, and
//   the lanes' final 3 levels of pairwise adds within 3u·Σ_l |lane_l| more: |S_chain − S_lanes| ≤
//   2u·(B + 8·L) with L = Σ_l |lane_l| at the end, to first order. The check widens that 4-fold,
//   E = 2^-50·(B + 8·L), and accepts when S_lanes − E and S_lanes + E round to one float32 (bit
//   for bit, so −0 and +0 differ): rounding is monotone, so S_chain, between them, rounds to it too.
//
// Otherwise (a sum within E of a float32 rounding boundary: measured over 20,000 random sums of
// 10^5 terms, 0.08 % of sums of squares and 3 % of dots of independent random vectors, whose
// running sums are random walks; any inf or NaN) the chain itself runs, so the result is always
// the chain's bits. The lanes' order is fixed (no threads, no data-dependent order), so the kernel
// is deterministic.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace lets {

struct LaneSum {
  static constexpr int kLanes = 8;
  static constexpr int64_t kBlock = 512;  // the bound's granularity; a multiple of kLanes
  typedef double v4d __attribute__((vector_size(32)));
  typedef float v4f __attribute__((vector_size(16)));
  typedef long long v4i __attribute__((vector_size(32)));

  v4d s0 = {0, 0, 0, 0}, s1 = {0, 0, 0, 0};  // the lanes: element i of a whole 8 into lane i mod 8
  double tail = 0.0;                            // the last block's elements past its whole 8s
  double bound = 0.0;                           // Σ over blocks of m·(Σ_l |lane_l| at its start + Σ|p| in it)
  int64_t n = 0;

  static inline v4d widen(const float* p) {
    v4f f;
    std::memcpy(&f, p, sizeof f);
    return __builtin_convertvector(f, v4d);
  }
  static inline v4d vabs(v4d v) {
    const v4i m = {0x7fffffffffffffffLL, 0x7fffffffffffffffLL, 0x7fffffffffffffffLL, 0x7fffffffffffffffLL};
    return (v4d)((v4i)v & m);
  }
  static inline double hsum(v4d v) { return (v[0] + v[1]) + (v[2] + v[3]); }

  // Adds p[0..m): blocks of kBlock, each whole 8 into the lanes, a last block's rest into `tail`
  // (so only the last call may have m not a multiple of kLanes).
  inline void add(const float* __restrict p, int64_t m) {
    for (int64_t b0 = 0; b0 < m; b0 += kBlock) {
      const int64_t len = std::min(kBlock, m - b0);
      const double start = hsum(vabs(s0) + vabs(s1)) + std::fabs(tail);
      v4d a0 = {0, 0, 0, 0}, a1 = {0, 0, 0, 0};
      const float* q = p + b0;
      int64_t i = 0;
      for (; i + kLanes <= len; i += kLanes) {
        const v4d x = widen(q + i), y = widen(q + i + 4);
        s0 += x;
        s1 += y;
        a0 += vabs(x);
        a1 += vabs(y);
      }
      double at = 0.0;
      for (; i < len; i++) {
        const double v = double(q[i]);
        tail += v;
        at += std::fabs(v);
      }
      bound += double(len) * (start + hsum(a0 + a1) + at);
    }
    n += m;
  }

  // float32 of the sequential chain over the values added, when the lanes decide it (above).
  inline bool decided(float* out) const {
    const double S = (hsum(s0) + hsum(s1)) + tail;
    const double L = hsum(vabs(s0) + vabs(s1)) + std::fabs(tail);
    if (!std::isfinite(S) || !std::isfinite(bound)) return false;
    const double e = 0x1p-50 * (bound + 8.0 * L);
    const float lo = float(S - e), hi = float(S + e);
    uint32_t bl, bh;
    std::memcpy(&bl, &lo, 4);
    std::memcpy(&bh, &hi, 4);
    if (bl != bh) return false;
    *out = lo;
    return true;
  }
};

// The chain itself: Σ p[0..n) in order in double, rounded once.
inline float sequential_sum(const float* p, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; i++) s += double(p[i]);
  return float(s);
}

// float(Σ p[0..n) in order in double), bit for bit, fast where the lanes decide it.
inline float chain_sum(const float* p, int64_t n) {
  if (n < 64) return sequential_sum(p, n);
  LaneSum acc;
  acc.add(p, n);
  float out;
  return acc.decided(&out) ? out : sequential_sum(p, n);
}

}  // namespace lets
