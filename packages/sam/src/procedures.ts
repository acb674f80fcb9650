import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import type { Combiner, Procedure, ProcedureResult } from './types';
import { perturbedGradient } from './combiners';
import { NORM_EPS, checkInteger, checkNumber, unit } from './numerics';

const EMPTY = {} as Record<string, never>;

/** w + ρ n, new tensors. */
export const perturbed = (params: Params, rho: number, n: Params): Params => T.addScaled(params, rho, n);

/**
 * The two-pass skeleton: g_p = ∇L(w + ρn) (one gradient evaluation), d = combiner(g, g_p).
 * SAM and most variants; the combiner is `perturbedGradient()` (d = g_p) by default.
 */
export const twoPass = (combiner: Combiner = perturbedGradient()): Procedure<Record<string, never>> => ({
  name: `twoPass(${combiner.name})`,
  init: () => EMPTY,
  run: (n, _state, ctx) => {
    const w = perturbed(ctx.params, ctx.rho, n);
    let r: { loss: tf.Scalar; grads: Params };
    try {
      r = ctx.gradAt(w);
    } finally {
      T.dispose(w);
    }
    const { loss, grads: gp } = r;
    // The combiner is user code: a tidy scope releases whatever it allocates and does not return.
    const combine = (p: Params): Params => tf.tidy(() => combiner.combine(ctx.grads, p));
    return { direction: combine(gp), perturbedGrads: gp, perturbedLoss: loss, state: EMPTY, combine };
  },
});

/** State of {@link lookAhead}: LookSAM's stored orthogonal component g_v (zeros at first). */
export interface LookAheadState {
  readonly gv: Params;
}

/**
 * LookSAM (Liu et al. 2022, "Towards Efficient and Scalable Sharpness-Aware Minimization", CVPR).
 * Every k-th step (counting from the first): the SAM pass, d = g_p, and it stores the component of
 * g_p orthogonal to g,
 *
 *   g_v = g_p − ⟨g_p, ĝ⟩ ĝ,   ĝ = g/(‖g‖ + 1e-12);
 *
 * the other steps take no extra pass: d = g + α (‖g‖/(‖g_v‖ + 1e-12)) g_v.
 * k = 1 is SAM exactly. On reuse steps `perturbedGrads` is that estimate and the loss NaN.
 */
export const lookAhead = (options: { readonly k?: number; readonly alpha?: number } = {}): Procedure<LookAheadState> => {
  const k = checkInteger('lookAhead: k', options.k ?? 5, 1);
  const alpha = checkNumber('lookAhead: alpha', options.alpha ?? 0.7);
  const sam = twoPass();
  return {
    name: 'lookAhead',
    // One pass on most steps, a SAM step every k-th: no single perturbed point to linearize at.
    capabilities: { tangent: 'wholeStep' },
    init: (params) => ({ gv: T.zerosLike(params) }),
    run: (n, state, ctx) => {
      if (ctx.count % k === 0) {
        const r = sam.run(n, EMPTY, ctx);
        const gv = tf.tidy(() => {
          const gh = unit(ctx.grads);
          const along = T.vdot(r.perturbedGrads, gh);
          return T.zipWith((p, u) => tf.sub(p, tf.mul(u, along)))(r.perturbedGrads, gh);
        });
        return { ...r, state: { gv } };
      }
      const d = tf.tidy(() => {
        const ratio = tf.div(T.norm(ctx.grads), tf.add(T.norm(state.gv), NORM_EPS));
        const c = tf.mul(ratio, alpha);
        return T.zipWith((gi, v) => tf.add(gi, tf.mul(v, c)))(ctx.grads, state.gv);
      });
      return {
        direction: d,
        perturbedGrads: T.clone(d),
        perturbedLoss: tf.scalar(NaN),
        state: { gv: T.clone(state.gv) },
      };
    },
  };
};

/**
 * m-sharpness / mSAM (Foret et al. 2021 §4; Behdin et al. 2023, "mSAM: Micro-Batch-Averaged
 * Sharpness-Aware Minimization"): the batch is split into M micro-batches, each takes its own
 * ascent ε_m = ρ g_m/‖g_m‖ from its own clean gradient g_m, and the outer optimizer receives the
 * average of the perturbed gradients,
 *
 *   d = (1/M) Σ_m ∇L_{B_m}(w + ε_m).
 *
 * Needs `extra.microGradFns` (one GradFn per micro-batch, M of them) when M > 1: 2M micro-batch
 * evaluations on top of the caller's clean pass. With M = 1 it is SAM (no micro-batch functions
 * needed: the clean gradient and `extra.gradFn` are used). Reports the first micro-batch's
 * direction n_0 and, as `perturbedGrads`, the averaged d.
 */
export const microBatches = (options: { readonly microBatches?: number } = {}): Procedure<Record<string, never>> => {
  const m = checkInteger('microBatches: microBatches', options.microBatches ?? 1, 1);
  const sam = twoPass();
  return {
    name: 'microBatches',
    // M perturbed points: the tangent in ρ is taken over the whole step.
    capabilities: { tangent: 'wholeStep', extras: m > 1 ? ['microGradFns'] : [], gradEvals: m > 1 ? 1 + 2 * m : 2 },
    init: () => EMPTY,
    run: (n, state, ctx) => {
      if (m === 1) return sam.run(n, state, ctx);
      const fns = ctx.extra.microGradFns;
      if (fns === undefined || fns.length !== m) {
        throw new Error(
          `msam: expected extra.microGradFns with ${m} GradFn (one per micro-batch), got ${fns === undefined ? 'none' : `${fns.length}`}`,
        );
      }
      let sum: Params | undefined;
      let first: { n: Params; loss: tf.Scalar } | undefined;
      for (const fn of fns) {
        const clean = fn(ctx.params);
        ctx.countEval();
        if (clean.state !== undefined) T.dispose(clean.state);
        clean.loss.dispose();
        const nm = unit(clean.grads);
        T.dispose(clean.grads);
        const w = perturbed(ctx.params, ctx.rho, nm);
        const r = fn(w);
        ctx.countEval();
        T.dispose(w);
        if (r.state !== undefined) T.dispose(r.state);
        if (first === undefined) first = { n: nm, loss: r.loss };
        else {
          T.dispose(nm);
          r.loss.dispose();
        }
        const next = sum === undefined ? T.clone(r.grads) : T.add(sum, r.grads);
        if (sum !== undefined) T.dispose(sum);
        T.dispose(r.grads);
        sum = next;
      }
      const avg = T.scale(sum as Params, 1 / m);
      T.dispose(sum as Params);
      const f = first as { n: Params; loss: tf.Scalar };
      const out: ProcedureResult<Record<string, never>> = {
        direction: avg,
        perturbedGrads: T.clone(avg),
        perturbedLoss: f.loss,
        state: EMPTY,
        primaryDirection: f.n,
      };
      return out;
    },
  };
};

/** Options of {@link gradientNormAware}. */
export interface GamOptions {
  /** ρ' of the gradient-norm ascent (the official code's grad_norm_rho; default 0.2). */
  readonly normRho?: number;
  /** β0, β1 of the official code (defaults 0.1, 0.1: its CIFAR-10 ResNet setting); β2 = 1 − β0, β3 = 1 − β1. */
  readonly beta0?: number;
  readonly beta1?: number;
  /** γ of the final decomposition (grad_gamma; default 0.05). */
  readonly gamma?: number;
}

/**
 * GAM, gradient-norm aware minimization (Zhang et al. 2023, "Gradient Norm Aware Minimization
 * Seeks First-Order Flatness and Improves Generalization", CVPR), as its official code does
 * with SAM (4 gradient evaluations a step, counting the clean one):
 *
 *   g0 = g,  e0 = ρ n (n = g0/‖g0‖),                   g1 = ∇L(w + e0)
 *   e12 = ρ' (g1 − g0)/‖g1 − g0‖,                       g2 = ∇L(w + e12)
 *   e2 = ρ g2/‖g2‖,                                    g3 = ∇L(w + e12 + e2)
 *   m = β0 g0 + β2 g2,  a = β1 g1 + β3 g3,
 *   d = a − γ (m − cos(m, a) ‖m‖ a/‖a‖)                (the GSAM-style decomposition)
 *
 * with 1e-12 added to every norm divided by. Reports n and g1 as the primary direction and g_p.
 */
export const gradientNormAware = (options: GamOptions = {}): Procedure<Record<string, never>> => {
  const normRho = checkNumber('gam: normRho', options.normRho ?? 0.2, 0);
  const b0 = checkNumber('gam: beta0', options.beta0 ?? 0.1);
  const b1 = checkNumber('gam: beta1', options.beta1 ?? 0.1);
  const b2 = 1 - b0;
  const b3 = 1 - b1;
  const gamma = checkNumber('gam: gamma', options.gamma ?? 0.05);
  return {
    name: 'gradientNormAware',
    // Several perturbed points (GAM's first-order flatness): whole-step tangent.
    capabilities: { tangent: 'wholeStep', gradEvals: 4 },
    init: () => EMPTY,
    run: (n, _state, ctx) => {
      const g0 = ctx.grads;
      const w1 = perturbed(ctx.params, ctx.rho, n);
      const r1 = ctx.gradAt(w1);
      T.dispose(w1);
      const diff = T.sub(r1.grads, g0);
      const u12 = unit(diff);
      T.dispose(diff);
      const w2 = perturbed(ctx.params, normRho, u12);
      T.dispose(u12);
      const r2 = ctx.gradAt(w2);
      r2.loss.dispose();
      const u2 = unit(r2.grads);
      const w3 = perturbed(w2, ctx.rho, u2);
      T.dispose(w2);
      T.dispose(u2);
      const r3 = ctx.gradAt(w3);
      r3.loss.dispose();
      T.dispose(w3);
      const d = tf.tidy(() => {
        const m = T.zipWith((a, b) => tf.add(tf.mul(a, b0), tf.mul(b, b2)))(g0, r2.grads);
        const a = T.zipWith((x, y) => tf.add(tf.mul(x, b1), tf.mul(y, b3)))(r1.grads, r3.grads);
        const nm = T.norm(m);
        const na = T.norm(a);
        const cos = tf.div(T.vdot(m, a), tf.add(tf.mul(nm, na), NORM_EPS));
        const c = tf.div(tf.mul(cos, nm), tf.add(na, NORM_EPS));
        return T.zipWith((ai, mi) => tf.sub(ai, tf.mul(tf.sub(mi, tf.mul(ai, c)), gamma)))(a, m);
      });
      T.dispose(r2.grads);
      T.dispose(r3.grads);
      return { direction: d, perturbedGrads: r1.grads, perturbedLoss: r1.loss, state: EMPTY };
    },
  };
};

/**
 * ESAM's sharpness-sensitive data selection (Du et al. 2022, "Efficient Sharpness-aware
 * Minimization for Improved Training of Neural Networks", ICLR): the perturbed pass runs only on
 * the ⌊γB⌋ samples (at least one) whose loss rises most under the perturbation,
 *
 *   s_i = ℓ_i(w + ε) − ℓ_i(w),   B' = top-⌊γB⌋ of s,   g_p = ∇L_{B'}(w + ε).
 *
 * Needs `extra.sampleLossFn` (per-sample losses: two forward passes) and `extra.subsetGradFn`
 * (one gradient evaluation on B') when γ < 1; γ = 1 is the plain perturbed pass (SAM).
 */
export const sharpnessSensitiveData = (
  options: { readonly gamma?: number; readonly combiner?: Combiner } = {},
): Procedure<Record<string, never>> => {
  const gamma = checkNumber('sharpnessSensitiveData: gamma', options.gamma ?? 0.5, Number.MIN_VALUE, 1);
  const combiner = options.combiner ?? perturbedGradient();
  const plain = twoPass(combiner);
  return {
    name: 'sharpnessSensitiveData',
    // With γ < 1, g_p is the gradient of a subset of the batch, not the batch's gradient at w + ε.
    capabilities: gamma >= 1 ? {} : { perturbedGradsAtPoint: false, extras: ['sampleLossFn', 'subsetGradFn'] },
    init: () => EMPTY,
    run: (n, state, ctx) => {
      if (gamma >= 1) return plain.run(n, state, ctx);
      const { sampleLossFn, subsetGradFn } = ctx.extra;
      if (sampleLossFn === undefined || subsetGradFn === undefined) {
        throw new Error(
          `esam: gamma = ${gamma} < 1 selects samples, which needs extra.sampleLossFn (per-sample losses) and ` +
            `extra.subsetGradFn (gradient on a subset); got ${sampleLossFn === undefined ? 'no sampleLossFn' : 'no subsetGradFn'}`,
        );
      }
      const w = perturbed(ctx.params, ctx.rho, n);
      const l0 = sampleLossFn(ctx.params);
      const l1 = sampleLossFn(w);
      if (l0.rank !== 1 || l1.shape[0] !== l0.shape[0]) {
        throw new Error(`esam: extra.sampleLossFn must return a vector of per-sample losses, got shape [${l0.shape.join(', ')}]`);
      }
      const b = l0.shape[0] as number;
      const keep = Math.max(1, Math.floor(gamma * b));
      const indices = tf.tidy(() => tf.topk(tf.sub(l1, l0), keep).indices as tf.Tensor1D);
      l0.dispose();
      l1.dispose();
      const r = subsetGradFn(w, indices);
      ctx.countEval();
      indices.dispose();
      T.dispose(w);
      if (r.state !== undefined) T.dispose(r.state);
      const combine = (p: Params): Params => tf.tidy(() => combiner.combine(ctx.grads, p));
      return { direction: combine(r.grads), perturbedGrads: r.grads, perturbedLoss: r.loss, state: EMPTY, combine };
    },
  };
};

