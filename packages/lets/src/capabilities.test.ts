/**
 * LETS reads what a variant and an estimator declare, never their names. Both are defined here,
 * outside the packages, as a user would:
 *
 * - `twoPointSam`: a SAM variant whose procedure evaluates two perturbed points, w + ρn and
 *   w + ρn/2, and averages their gradients (so no single g_p at θ + ρn exists). It declares
 *   `tangent: 'wholeStep'`; LETS's dF/dρ must then match a central difference of the one-step
 *   objective F(ρ), as for the built-in whole-step variants. The same procedure declared
 *   'linearized' gives a different (wrong) number, so the declaration is what LETS acts on.
 * - `halfIdentity`: H ≈ ½I, a user estimator with its own name and cost. LETS must use it
 *   (report.estimator, the count of gradient evaluations) and its hypergradient must be half
 *   that of the built-in 'identity' (dF/dρ is linear in H̃n).
 * - `perturbedGradsAtPoint`: a user variant declaring it false (its g_p is not the batch's
 *   gradient at θ + ρn, as ESAM's data selection) must not have its g_p handed to the estimator,
 *   and LETS must charge the estimator's cost without it; declared true, the estimator reuses g_p.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import { applyUpdates, chain, sgd } from '@lets/optim';
import { sharpnessAware, normalize, withRho, type Procedure, type SamTransformation } from '@lets/sam';
import type { HvpEstimator } from '@lets/bilevel';
import { lets, type LetsOptions, type LetsState } from './lets';
import { type Batch, disposeBatch, lossOf, makeBatch, mlpInit, num, setupCpu, stepInputs } from './test-util';

beforeAll(setupCpu);

const twoPoint = (declared: 'wholeStep' | 'linearized'): Procedure<Record<string, never>> => ({
  name: 'twoPoint',
  capabilities: { tangent: declared, gradEvals: 3 },
  init: () => ({}),
  run: (n, state, ctx) => {
    const at = (s: number) => {
      const p = T.addScaled(ctx.params, s * ctx.rho, n);
      const r = ctx.gradAt(p);
      T.dispose(p);
      return r;
    };
    const a = at(1);
    const b = at(0.5);
    const direction = tf.tidy(() => T.scaleBy(T.add(a.grads, b.grads), 0.5));
    T.dispose(b.grads);
    b.loss.dispose();
    return { direction, perturbedGrads: a.grads, perturbedLoss: a.loss, state };
  },
});

const twoPointSam = (declared: 'wholeStep' | 'linearized', rho: number): SamTransformation<any> =>
  sharpnessAware(sgd(0.5, { momentum: 0.9 }), { name: 'twoPointSam', rho, ascent: chain(normalize()), procedure: twoPoint(declared) });

const halfIdentity: HvpEstimator = {
  name: 'halfIdentity',
  gradEvals: 0,
  hvp: (_problem, v) => T.scaleBy(v, 0.5),
};

/** Three steps from the same start; the hypergradient step C reports (of step B), and F(ρ) of B. */
const probe = (variant: SamTransformation<any>, o: LetsOptions) => {
  const before = tf.memory().numTensors;
  const batches = [makeBatch(48, 5, 3, 1), makeBatch(48, 5, 3, 2), makeBatch(48, 5, 3, 3)];
  const val: Batch = makeBatch(48, 5, 3, 4, 1);
  const opt = lets(variant, { every: 1, rhoOptimizer: sgd(0), objective: 'val', stallGuard: false, tangentProjection: 'none', ...o });
  let params: Params = mlpInit(5, 8, 3, 10);
  let state: LetsState<any> = opt.init(params);
  const kept: { variant?: LetsState<any>['variant']; params?: Params; grads?: Params; extra?: any; loss?: tf.Scalar } = {};
  let reported = NaN;
  let estimator = '';
  let evals = 0;
  for (let t = 0; t < 3; t++) {
    const inp = stepInputs(params, batches[t]!, val);
    if (t === 1) Object.assign(kept, { variant: cloneVariant(state.variant), params: T.clone(params), grads: T.clone(inp.grads), extra: inp.extra, loss: inp.loss });
    const [u, next] = opt.update(inp.grads, state, params, inp.extra);
    if (t === 2) {
      reported = next.report!.hypergradient!;
      estimator = next.report!.estimator;
      evals = next.report!.gradEvals;
    }
    const p2 = applyUpdates(params, u);
    T.dispose(u);
    T.dispose(inp.grads);
    if (t !== 1) inp.loss.dispose();
    T.dispose(params);
    T.disposeState(state);
    params = p2;
    state = next;
  }
  const F = (rho: number): number => {
    const s = variant.step(kept.grads!, withRho(kept.variant!, rho), kept.params!, kept.extra);
    const p1 = applyUpdates(kept.params!, s.updates);
    const lv = lossOf(val)(p1);
    const out = num(lv);
    [s.updates, s.direction, s.perturbedGrads, p1].forEach(T.dispose);
    T.disposeState(s.state);
    lv.dispose();
    return out;
  };
  const rho0 = kept.variant!.rho;
  const D = (h: number) => (F(rho0 + h) - F(rho0 - h)) / (2 * h);
  const reference = (4 * D(0.02) - D(0.04)) / 3;
  T.disposeState(kept.variant);
  T.dispose(kept.params!);
  T.dispose(kept.grads!);
  kept.loss!.dispose();
  T.dispose(params);
  T.disposeState(state);
  [...batches, val].forEach(disposeBatch);
  expect(tf.memory().numTensors).toBe(before);
  return { reported, reference, estimator, evals };
};

const cloneVariant = <X>(v: X): X => {
  const { tensors, skeleton } = T.flattenState(v);
  return T.unflattenState(T.clone(tensors), skeleton) as X;
};

describe('a whole-step variant defined outside the packages', () => {
  it("declared 'wholeStep': LETS differences the whole step, and dF/dρ matches F(ρ)'s central difference", () => {
    const r = probe(twoPointSam('wholeStep', 0.2), {});
    expect(r.estimator).toBe('wholeStep');
    expect(Math.abs(r.reference)).toBeGreaterThan(1e-4);
    expect(Math.abs(r.reported - r.reference) / Math.abs(r.reference)).toBeLessThan(0.05);
  });

  it("the same procedure declared 'linearized' is linearized at its first point (a different number): LETS acts on the declaration", () => {
    const whole = probe(twoPointSam('wholeStep', 0.2), {});
    const lin = probe(twoPointSam('linearized', 0.2), {});
    expect(lin.estimator).toBe('fd');
    expect(Math.abs(lin.reported - whole.reported) / Math.abs(whole.reported)).toBeGreaterThan(0.05);
  });
});

describe('an estimator defined outside the packages', () => {
  it('is used as given: its name in the report, its cost in the count, its product in dF/dρ', () => {
    const mine = probe(twoPointSam('linearized', 0.2), { estimator: halfIdentity });
    const identity = probe(twoPointSam('linearized', 0.2), { estimator: 'identity' });
    expect(mine.estimator).toBe('halfIdentity');
    // Step C: the variant's 3 evaluations + 1 validation gradient + the estimator's 0.
    expect(mine.evals).toBe(identity.evals);
    expect(mine.evals).toBe(3 + 1);
    expect(mine.reported).toBeCloseTo(0.5 * identity.reported, 6);
  });

  it("gets the perturbed gradient only from a variant that declares it the batch's gradient at θ + ρn (perturbedGradsAtPoint), and is charged its cost without it", () => {
    // A user estimator that records what it was handed; its cost is 0 given ∇L(x), 1 without.
    const seen: boolean[] = [];
    const spy: HvpEstimator = {
      name: 'spy',
      gradEvals: 0,
      gradEvalsWithoutGrads: 1,
      hvp: (problem, v) => {
        seen.push(problem.grads !== undefined);
        return T.scaleBy(v, 0.5);
      },
    };
    // The same SAM step, declared two ways through the wrapper's capabilities option.
    const declared = (atPoint: boolean) =>
      sharpnessAware(sgd(0.5, { momentum: 0.9 }), { name: 'mySam', rho: 0.2, capabilities: { perturbedGradsAtPoint: atPoint } });
    const atPoint = probe(declared(true), { estimator: spy });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((x) => x)).toBe(true);
    seen.length = 0;
    const notAtPoint = probe(declared(false), { estimator: spy });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.some((x) => x)).toBe(false);
    // Step C: the variant's 2 evaluations + 1 validation gradient + the estimator's 0 or 1.
    expect(atPoint.evals).toBe(2 + 1 + 0);
    expect(notAtPoint.evals).toBe(2 + 1 + 1);
    expect(notAtPoint.estimator).toBe('spy');
  });

  it("one that declares it needs lossFn is refused without it, naming it", () => {
    const needy: HvpEstimator = { ...halfIdentity, name: 'needy', needs: ['lossFn'] };
    const opt = lets(twoPointSam('linearized', 0.2), { estimator: needy, every: 1 });
    const params = mlpInit(5, 8, 3, 10);
    const state = opt.init(params);
    const b = makeBatch(16, 5, 3, 1);
    const inp = stepInputs(params, b);
    const { lossFn: _drop, ...extra } = inp.extra as Record<string, unknown>;
    expect(() => opt.update(inp.grads, state, params, extra)).toThrow(/'needy' estimator needs extra.lossFn/);
    [params, inp.grads].forEach(T.dispose);
    inp.loss.dispose();
    T.disposeState(state);
    disposeBatch(b);
  });
});
