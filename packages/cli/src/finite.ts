/**
 * Finite-state checks. A checkpoint is written only of a state whose every float tensor is
 * finite (checked on the device: one multiply-by-zero and sum per tensor, one read of the
 * results), and the loader refuses a file with NaN or ±Inf in it, so a diverged step can never
 * become the starting point of a resume.
 */
import * as tf from '@tensorflow/tfjs-core';
import { flattenState } from '@lets/tree';
import type { Tree } from '@lets/tree';

/**
 * Diagnostic reports inside optimizer state (`…/report/…`: SAM's ε norm and cosine, LETS's gap)
 * are not state the next step computes with, and use NaN for "not computed": not checked.
 */
const isReport = (path: string): boolean => /(^|\/)report(\/|$)/.test(path);

const floats = (tree: Tree): [string, tf.Tensor][] =>
  Object.entries(tree).filter(
    (e): e is [string, tf.Tensor] => e[1] instanceof tf.Tensor && e[1].dtype === 'float32' && !e[1].isDisposed && !isReport(e[0]),
  );

/**
 * The path of the first non-finite tensor among `parts` (named state trees, e.g.
 * `{params, optState}`), or undefined when all are finite. Runs on the tensors' backend.
 */
export function nonFiniteDevice(parts: Readonly<Record<string, unknown>>): string | undefined {
  const named: [string, tf.Tensor][] = [];
  for (const [part, state] of Object.entries(parts)) {
    for (const [path, t] of floats(flattenState(state).tensors)) named.push([`${part}/${path}`, t]);
  }
  if (named.length === 0) return undefined;
  // x·0 is 0 for finite x and NaN for NaN/±Inf: one NaN in a tensor's sum marks it.
  const sums = tf.tidy(() => tf.stack(named.map(([, t]) => tf.sum(tf.mul(t, 0)))));
  const v = sums.dataSync();
  sums.dispose();
  const i = v.findIndex((x) => !Number.isFinite(x));
  return i < 0 ? undefined : (named[i] as [string, tf.Tensor])[0];
}

/** The first non-finite value among the float tensors of `tree` (read on the host), as "path (value)". */
export function nonFiniteHost(tree: Tree): string | undefined {
  for (const [path, t] of floats(tree)) {
    const d = t.dataSync() as Float32Array;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i] as number)) return `${path}: ${d[i]}`;
    }
  }
  return undefined;
}
