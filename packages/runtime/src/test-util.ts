// Finite-difference helpers shared by this package's tests (not part of the build).
import * as tf from '@tensorflow/tfjs-core';
import type { TensorTree } from './hvp';

export function mapTree(t: TensorTree, f: (x: tf.Tensor, k: string) => tf.Tensor): TensorTree {
  const out: Record<string, tf.Tensor> = {};
  for (const k of Object.keys(t)) out[k] = f(t[k]!, k);
  return out;
}

export function gradTree(f: (p: TensorTree) => tf.Scalar, p: TensorTree): TensorTree {
  const keys = Object.keys(p);
  const gs = tf.grads((...ws: tf.Tensor[]) => {
    const q: Record<string, tf.Tensor> = {};
    keys.forEach((k, i) => (q[k] = ws[i]!));
    return f(q);
  })(keys.map((k) => p[k]!));
  const out: Record<string, tf.Tensor> = {};
  keys.forEach((k, i) => (out[k] = gs[i]!));
  return out;
}

/** Central difference of the gradient along v: (∇L(θ+hv) − ∇L(θ−hv)) / 2h. */
export function fdHvp(f: (p: TensorTree) => tf.Scalar, p: TensorTree, v: TensorTree, h: number): TensorTree {
  return tf.tidy(() => {
    const gp = gradTree(f, mapTree(p, (x, k) => tf.add(x, tf.mul(v[k]!, h))));
    const gm = gradTree(f, mapTree(p, (x, k) => tf.sub(x, tf.mul(v[k]!, h))));
    return mapTree(gp, (g, k) => tf.div(tf.sub(g, gm[k]!), 2 * h));
  });
}

/** Central difference of L along v: (L(θ+hv) − L(θ−hv)) / 2h. */
export function fdDirectional(f: (p: TensorTree) => tf.Scalar, p: TensorTree, v: TensorTree, h: number): number {
  return tf.tidy(() => {
    const lp = f(mapTree(p, (x, k) => tf.add(x, tf.mul(v[k]!, h)))).dataSync()[0]!;
    const lm = f(mapTree(p, (x, k) => tf.sub(x, tf.mul(v[k]!, h)))).dataSync()[0]!;
    return (lp - lm) / (2 * h);
  });
}

/** ⟨a, b⟩ over a tree, in float64 on the host. */
export function vdot(a: TensorTree, b: TensorTree): number {
  let s = 0;
  for (const k of Object.keys(a)) {
    const x = a[k]!.dataSync();
    const y = b[k]!.dataSync();
    for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
  }
  return s;
}

/** ‖a − b‖ / ‖b‖ over a tree, in float64 on the host. */
export function relErr(a: TensorTree, b: TensorTree): number {
  let num = 0;
  let den = 0;
  for (const k of Object.keys(b)) {
    const x = a[k]!.dataSync();
    const y = b[k]!.dataSync();
    for (let i = 0; i < y.length; i++) {
      num += (x[i]! - y[i]!) ** 2;
      den += y[i]! ** 2;
    }
  }
  return Math.sqrt(num / Math.max(den, 1e-300));
}

/** Relative error of two arrays, ‖a − b‖ / max(‖b‖, tiny). */
export function relErrArrays(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-300));
}

/** A random direction of unit norm over the whole tree (seeded). */
export function unitDirection(p: TensorTree, seed: number): TensorTree {
  return tf.tidy(() => {
    let i = 0;
    const raw = mapTree(p, (x) => tf.randomNormal(x.shape, 0, 1, 'float32', seed + i++));
    const n = Math.sqrt(vdot(raw, raw));
    return mapTree(raw, (x) => tf.div(x, n));
  });
}

export function disposeTree(t: TensorTree): void {
  for (const x of Object.values(t)) x.dispose();
}

/**
 * Backends the backend-parameterized suites run on: cpu and wasm always, and the native
 * backend when its addon is built here (otherwise the reason is printed once).
 */
export const TEST_BACKENDS: readonly ('cpu' | 'wasm' | 'native')[] = (() => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const native = require('@lets/native') as typeof import('@lets/native');
  if (native.isNativeAvailable()) return ['cpu', 'wasm', 'native'];
  console.log(`native backend tests skipped: ${native.nativeInfo().reason ?? 'addon not built'}`);
  return ['cpu', 'wasm'];
})();
