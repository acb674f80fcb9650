import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { LeafPredicate } from '@lets/tree';
import type { GradientTransformation } from '@lets/optim';

/**
 * Normalization-layer parameters, by path: a segment containing 'norm', or named bn, ln or gn
 * (optionally followed by digits or `_...`: `bn2`, `ln_f`), or a leaf named gamma/beta
 * (`block1/bn/gamma`, `encoder/layer_norm/scale`, `ln_f/bias`).
 */
export const isNormalizationParam: LeafPredicate = (path) => {
  const parts = path.toLowerCase().split('/');
  const leaf = parts[parts.length - 1] ?? '';
  return (
    leaf === 'gamma' ||
    leaf === 'beta' ||
    parts.slice(0, -1).some((s) => /norm/.test(s) || /^(bn|ln|gn)(\d+|_.*)?$/.test(s))
  );
};

/**
 * Restricts the perturbation to a subset of leaves: d ← d on selected leaves, 0 elsewhere.
 * Put it before `normalize()` so the norm runs over the subset only (SAM-ON: Mueller et al.
 * 2023, "Normalization Layers Are All That Sharpness-Aware Minimization Needs", NeurIPS).
 */
export const selectSubset = (filter: LeafPredicate = isNormalizationParam): GradientTransformation<Record<string, never>> => ({
  init: () => ({}),
  update: (d, state) => [T.map((x, k) => (filter(k, x) ? tf.clone(x) : tf.zerosLike(x)))(d), state],
});
