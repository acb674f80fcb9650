// The benchmark MLP (784-256-256-10 ReLU, He init, seed 1) with one training and one validation
// batch of 128, shared by tools/lets-bench.mjs and tools/sam-profile.mjs so both time the same
// step. `fused` uses @lets/native's dense and softmax cross-entropy kernels.
export function benchMlp(b, tf, fused) {
  const rng = new b.runtime.Rng(1);
  const dims = [784, 256, 256, 10];
  const params0 = {};
  for (let i = 0; i < 3; i++) {
    params0[`l${i}/w`] = rng.normal([dims[i], dims[i + 1]], 0, Math.sqrt(2 / dims[i]));
    params0[`l${i}/b`] = tf.zeros([dims[i + 1]]);
  }
  const model = {
    init: () => ({ params: b.tree.clone(params0), state: {} }),
    apply: (p, s, x) => tf.tidy(() => {
      let h = x;
      for (let i = 0; i < 3; i++) {
        if (fused) {
          h = b.native.fusedDense(h, p[`l${i}/w`], p[`l${i}/b`], i < 2 ? 'relu' : 'linear');
          continue;
        }
        h = tf.add(tf.matMul(h, p[`l${i}/w`]), p[`l${i}/b`]);
        if (i < 2) h = tf.relu(h);
      }
      return { logits: h, state: {} };
    }),
  };
  const loss = fused ? (logits, y) => b.native.fusedSoftmaxCrossEntropy(logits, y) : undefined;
  const batchOf = () => ({ x: rng.normal([128, 784]), y: tf.cast(tf.oneHot(rng.randint([128], 10), 10), 'float32') });
  const train = batchOf();
  const val = batchOf();
  return { params0, model, loss, train, val };
}
