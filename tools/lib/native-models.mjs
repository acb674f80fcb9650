// The MLP and CNN of tools/native-bench.mjs and tools/native-profile.mjs, built on a given tfjs
// and @lets/native module: same parameters and data on every backend (xorshift32 values).
//   MLP: 784-256-256-10, ReLU, batch 128. CNN: conv3x3(3→16, same)+bias, ReLU, conv3x3(16→32,
//   same)+bias, ReLU, avgPool 2x2/2, dense 8192→10; input 128×32×32×3. Loss: softmax
//   cross-entropy, mean over the batch.
// With `fused`, the dense layers and the loss are @lets/native's dense / softmaxCrossEntropy
// (one kernel each on 'native'; the same tfjs ops as the unfused model on other backends), and
// each convolution's bias and ReLU @lets/native's fusedBiasRelu (LetsBiasRelu: one pass forward,
// one backward, the bits of Add and Relu; until 2026-12-01 tfjs's tf.fused.conv2d with bias and
// ReLU, whose gradient is a customGrad of Step, Multiply and Sum).

export function uniform(n, seed) {
  let s = (seed * 2654435761) >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
  return out;
}
const scaled = (n, seed, scale) => uniform(n, seed).map((v) => v * scale);
const size = (shape) => shape.reduce((a, b) => a * b, 1);

export function makeParams(kind) {
  const spec = kind === 'mlp'
    ? [['w1', [784, 256]], ['b1', [256]], ['w2', [256, 256]], ['b2', [256]], ['w3', [256, 10]], ['b3', [10]]]
    : [['k1', [3, 3, 3, 16]], ['c1', [16]], ['k2', [3, 3, 16, 32]], ['c2', [32]], ['w', [8192, 10]], ['b', [10]]];
  return spec.map(([name, shape], i) => {
    const fanIn = shape.length === 1 ? 1 : size(shape.slice(0, -1));
    // Uniform(-a, a) with a = sqrt(6 / fanIn) (He-uniform); biases start at 0.
    const values = shape.length === 1 ? new Float32Array(size(shape)) : scaled(size(shape), 100 + i, Math.sqrt(6 / fanIn));
    return [name, values, shape];
  });
}

export function makeData(kind) {
  const B = 128;
  const xShape = kind === 'mlp' ? [B, 784] : [B, 32, 32, 3];
  const labels = uniform(B, 7).map((v) => Math.floor((v + 1) * 5) % 10);
  const y = new Float32Array(B * 10);
  labels.forEach((l, i) => { y[i * 10 + l] = 1; });
  return { x: uniform(size(xShape), 5), xShape, y, yShape: [B, 10] };
}

/** { loss(params, x, y) } for a model kind; params is { name: tensor }. */
export function makeModel(tf, native, kind, fused) {
  const dense = fused ? (x, w, b, act) => native.fusedDense(x, w, b, act) : (x, w, b, act) => {
    const z = tf.add(tf.matMul(x, w), b);
    return act === 'relu' ? tf.relu(z) : z;
  };
  // Softmax cross-entropy, mean over the batch: mean(logSumExp(z) − Σ y·z).
  const crossEntropy = fused ? (z, y) => native.fusedSoftmaxCrossEntropy(z, y)
    : (z, y) => tf.mean(tf.sub(tf.logSumExp(z, 1), tf.sum(tf.mul(y, z), 1)));
  const forward = (p, x) => {
    if (kind === 'mlp') return dense(dense(dense(x, p.w1, p.b1, 'relu'), p.w2, p.b2, 'relu'), p.w3, p.b3, 'linear');
    const conv = fused
      ? (h, k, c) => native.fusedBiasRelu(tf.conv2d(h, k, 1, 'same'), c)
      : (h, k, c) => tf.relu(tf.add(tf.conv2d(h, k, 1, 'same'), c));
    const a1 = conv(x, p.k1, p.c1);
    const a2 = conv(a1, p.k2, p.c2);
    const pooled = tf.avgPool(a2, 2, 2, 'valid');
    return dense(tf.reshape(pooled, [pooled.shape[0], 8192]), p.w, p.b, 'linear');
  };
  return { loss: (p, x, y) => crossEntropy(forward(p, x), y) };
}
