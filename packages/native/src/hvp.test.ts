import * as tf from '@tensorflow/tfjs-core';
import { randomValues, setupNative } from './test-util';

// Second derivatives on 'native': the gradients of the native kernels are tfjs's gradient
// functions over ops that run on 'native' too, so double back-propagation gives the exact
// Hessian-vector product. Checked against central finite differences of the gradient,
// Hv ≈ (∇L(w + εv) − ∇L(w − εv)) / 2ε, on a smooth MLP (softplus, squared error) whose stock
// tfjs gradients are twice differentiable.
// Tolerance: with ε = 1e-2 the FD truncation error is O(ε²·|∇³L|) ≈ 1e-4 relative and the float32
// roundoff 2^-24·|∇L|/ε ≈ 1e-5 relative; 3e-3 on the relative L2 error leaves margin, while a
// missing or wrong second-order term gives O(0.1–1).
const TOL = 3e-3;

let skip: string | undefined;
beforeAll(() => {
  skip = setupNative();
});

function tensors(shapes: number[][], seed: number, scale: number): tf.Tensor[] {
  return shapes.map((s, i) => tf.tensor(randomValues(s.reduce((a, b) => a * b, 1), seed + i).map((v) => v * scale), s));
}

const shapes = [[6, 8], [8], [8, 3], [3]];

function loss(w: tf.Tensor[], x: tf.Tensor, t: tf.Tensor): tf.Scalar {
  const h = tf.softplus(tf.add(tf.matMul(x, w[0]!), w[1]!));
  const out = tf.add(tf.matMul(h, w[2]!), w[3]!);
  return tf.mul(0.5, tf.mean(tf.square(tf.sub(out, t)))) as tf.Scalar;
}

function relL2(a: Float32Array, b: Float32Array): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num += (a[i]! - b[i]!) ** 2; den += b[i]! ** 2; }
  return Math.sqrt(num / den);
}

async function hvpAndFd(backend: string): Promise<{ hv: Float32Array; fd: Float32Array }> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const w = tensors(shapes, 1, 0.8), v = tensors(shapes, 20, 1);
    const x = tensors([[5, 6]], 40, 1)[0]!, t = tensors([[5, 3]], 50, 1)[0]!;
    const grad = tf.grads((...ws: tf.Tensor[]) => loss(ws, x, t));
    // Hv = ∇_w ⟨∇_w L(w), v⟩ by double back-propagation.
    const hvFn = tf.grads((...ws: tf.Tensor[]) => tf.addN(grad(ws).map((g, i) => tf.sum(tf.mul(g, v[i]!)))) as tf.Scalar);
    const hv = tf.concat(hvFn(w).map((h) => tf.reshape(h, [-1])));
    const eps = 1e-2;
    const gp = grad(w.map((wi, i) => tf.add(wi, tf.mul(eps, v[i]!))));
    const gm = grad(w.map((wi, i) => tf.sub(wi, tf.mul(eps, v[i]!))));
    const fd = tf.concat(gp.map((g, i) => tf.reshape(tf.div(tf.sub(g, gm[i]!), 2 * eps), [-1])));
    return { hv: hv.dataSync() as Float32Array, fd: fd.dataSync() as Float32Array };
  });
}

describe('Hessian-vector products on native', () => {
  test('double back-propagation matches finite differences of gradients, and cpu', async () => {
    if (skip) return;
    const before = tf.memory().numTensors;
    const n = await hvpAndFd('native');
    const c = await hvpAndFd('cpu');
    expect(relL2(n.hv, n.fd)).toBeLessThan(TOL);
    // Same functions of the same ops: native and cpu agree to float32 roundoff.
    expect(relL2(n.hv, c.hv)).toBeLessThan(1e-5);
    // The check has teeth: the Hessian term is not negligible against the gradient scale.
    expect(Math.sqrt(n.hv.reduce((s, h) => s + h * h, 0))).toBeGreaterThan(1e-2);
    expect(tf.memory().numTensors).toBe(before);
  });
});
