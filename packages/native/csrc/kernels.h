// NHWC float32 kernels for the tfjs 'native' backend. All tensors are dense row-major buffers
// owned by JavaScript; every function writes its whole output.
#pragma once
#include <cstdint>

namespace lets {

// Geometry of a 2-D convolution or pooling window, NHWC, as tfjs's computeConv2DInfo gives it.
struct ConvGeom {
  int64_t B, H, W, Ci;     // input
  int64_t OH, OW, Co;      // output (Co: output channels; for pooling Co == Ci)
  int64_t fh, fw;          // filter size
  int64_t sh, sw;          // strides
  int64_t dh, dw;          // dilations
  int64_t pad_top, pad_left;
  int64_t cm;              // depthwise channel multiplier (1 otherwise)
};

void set_threads(int n);
// Column-buffer floats per convolution chunk (0: LETS_NATIVE_CHUNK_FLOATS or 2^17).
void set_chunk_floats(int64_t n);
int get_threads();
const char* blas_config();

// c[i] = op(a[i % batchA]) @ op(b[i % batchB]) for i < batch; a is [M,K] (or [K,M] when
// transA), b is [K,N] (or [N,K] when transB), c is [M,N].
void gemm_batched(const float* a, const float* b, float* c, int64_t batch, int64_t batchA,
                  int64_t batchB, int64_t M, int64_t N, int64_t K, bool transA, bool transB);

// y[B,OH,OW,Co] = conv(x[B,H,W,Ci], w[fh,fw,Ci,Co]).
void conv2d(const float* x, const float* w, float* y, const ConvGeom& g);
// dx[B,H,W,Ci] from dy[B,OH,OW,Co] and w.
void conv2d_backprop_input(const float* dy, const float* w, float* dx, const ConvGeom& g);
// dw[fh,fw,Ci,Co] from x and dy.
void conv2d_backprop_filter(const float* x, const float* dy, float* dw, const ConvGeom& g);

// Depthwise: w[fh,fw,Ci,cm], y[B,OH,OW,Ci*cm], output channel c*cm+q.
void depthwise_conv2d(const float* x, const float* w, float* y, const ConvGeom& g);
void depthwise_backprop_input(const float* dy, const float* w, float* dx, const ConvGeom& g);
void depthwise_backprop_filter(const float* x, const float* dy, float* dw, const ConvGeom& g);

// Pooling (Co == Ci). avg divides by the number of in-bounds inputs and its gradient is its
// exact adjoint (tfjs's cpu AvgPoolGrad divides by fh*fw instead, which is wrong where 'same'
// padding cuts a window). max takes the first maximum in window order.
void avg_pool(const float* x, float* y, const ConvGeom& g);
void max_pool(const float* x, float* y, const ConvGeom& g);
void avg_pool_grad(const float* dy, float* dx, const ConvGeom& g);
void max_pool_grad(const float* dy, const float* x, float* dx, const ConvGeom& g);

// y[i] = offset[i % nO] + (x[i] - mean[i % nM]) * scale[i % nS] / sqrt(var[i % nV] + eps);
// offset/scale may be null (0 and 1).
void batch_norm(const float* x, int64_t n, const float* mean, int64_t nM, const float* var,
                int64_t nV, const float* offset, int64_t nO, const float* scale, int64_t nS,
                float eps, float* y);

// y[r, c] = act(y[r, c] + bias[c]) over rows of length C, act 0 = linear, 1 = relu.
void bias_act(float* y, int64_t rows, int64_t C, const float* bias, int act);

}  // namespace lets

namespace lets {
// out = a (op) b over merged dims d[3] with element strides sa, sb (0 = broadcast);
// op 0 add, 1 sub, 2 mul, 3 div, 4 squared difference.
void binary(int op, const float* a, const float* b, float* out, const int64_t* dims,
            const int64_t* strideA, const int64_t* strideB);
// op 0: relu, op 1: step (x > 0 ? 1 : alpha, NaN kept).
void unary(int op, const float* x, float* y, int64_t n, float alpha);
// out[c] = Σ_r x[r, c] and out[r] = Σ_c x[r, c] for x [R, C].
void sum_leading(const float* x, float* out, int64_t R, int64_t C);
void sum_trailing(const float* x, float* out, int64_t R, int64_t C);
// y = relu(x + b) for x [R, C], b [C] (Add then Relu, one pass); and its gradient from the
// output: dx = dy · step(y), db = Σ_r dx (Step, Multiply, then Sum's bits).
void bias_relu(const float* x, const float* b, float* y, int64_t R, int64_t C);
void bias_relu_grad(const float* dy, const float* y, float* dx, float* db, int64_t R, int64_t C);
}  // namespace lets

namespace lets {
// Fused dense layer and softmax cross-entropy (fused.cc); act 0 linear, 1 relu.
void dense_forward(const float* x, const float* w, const float* b, int act, float* y, int64_t M, int64_t K, int64_t N);
void dense_backprop_input(const float* dy, const float* w, const float* y, int act, float* dx, int64_t M, int64_t K,
                          int64_t N);
void dense_backprop_params(const float* dy, const float* x, const float* y, int act, float* dw, float* db, int64_t M,
                           int64_t K, int64_t N);
float softmax_xent(const float* z, const float* y, int64_t B, int64_t C);
void softmax_xent_grad(float dl, const float* z, const float* y, float* dz, int64_t B, int64_t C);
}  // namespace lets

namespace lets {
// Softmax over rows of length C of x [R, C] (softmax.cc), as tfjs-backend-cpu computes it.
void softmax_rows(const float* x, float* y, int64_t R, int64_t C);
// Most axes transpose32 takes (tfjs's kernels go to 6).
constexpr int kTransposeMaxRank = 16;
// y = transpose(x, perm) for a row-major tensor of 32-bit elements (transpose.cc); y has
// shape[perm[i]] on axis i. perm must be a permutation of 0..rank-1, rank <= kTransposeMaxRank.
void transpose32(const uint32_t* x, uint32_t* y, int rank, const int64_t* shape, const int32_t* perm);
}  // namespace lets
