/**
 * The upper objectives' partials ∂F/∂δ and ∂F/∂L_vl (F as a function of δ and L_vl) against
 * central differences of their own values, the hypergradient's assembly (objectiveHypergradient,
 * upperHypergradient by hand), and the whole-step tangent's forward difference.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gapPlusValidation, gapSquared, objectiveHypergradient, upperHypergradient, upperObjective, validationLoss, UPPER_OBJECTIVES } from './objectives';
import { wholeStepTangent } from './tangents';
import { differenceStepOf } from './hvp_difference';
import { setupCpu } from './test-util';

const cases = [gapSquared, validationLoss, gapPlusValidation(0.7)];
const points: [number, number][] = [[1.3, 0.4], [0.2, 0.9], [2.302, 2.302]];

describe.each(cases.map((o) => [o.name, o] as const))('objective %s', (_n, o) => {
  it.each(points)('partials at L_vl = %p, L_tr = %p match central differences in (δ, L_vl)', (v, t) => {
    const h = 1e-5;
    // F(δ, L_vl) with L_tr = L_vl − δ.
    const F = (d: number, lv: number) => o.at(lv, lv - d).value;
    const d = v - t;
    const dGap = (F(d + h, v) - F(d - h, v)) / (2 * h);
    const dVal = (F(d, v + h) - F(d, v - h)) / (2 * h);
    const got = o.at(v, t);
    expect(got.dGap).toBeCloseTo(dGap, 6);
    expect(got.dVal).toBeCloseTo(dVal, 6);
  });
});

it('values by hand, names, and the hypergradient assembly', () => {
  expect(gapSquared.at(1.5, 0.5).value).toBe(0.5);
  expect(validationLoss.at(1.5, 0.5).value).toBe(1.5);
  expect(gapPlusValidation(2).at(1.5, 0.5).value).toBe(0.5 + 3);
  expect(UPPER_OBJECTIVES).toEqual(['gap', 'val', 'gapVal']);
  expect(upperObjective('gapVal', { lambda: 2 }).at(1.5, 0.5).dVal).toBe(2);
  expect(upperObjective(validationLoss)).toBe(validationLoss);
  // dF/dρ = ∂F/∂δ ⟨u, τ⟩ + ∂F/∂L_vl ⟨∇L_vl, τ⟩
  expect(objectiveHypergradient({ value: 0, dGap: 2, dVal: 3 }, 5, 7)).toBe(2 * 5 + 3 * 7);
  // the paper's: exactly δ·⟨u, τ⟩, whatever ⟨∇L_vl, τ⟩ is
  expect(objectiveHypergradient(gapSquared.at(1.5, 0.5), 0.25, Number.NaN)).toBe(0.25);
  expect(() => upperObjective('nope' as never)).toThrow(/unknown objective 'nope'; expected one of gap, val, gapVal/);
  expect(() => gapPlusValidation(-1)).toThrow(/lambda must be a finite number ≥ 0/);
  expect(() => upperObjective({} as never)).toThrow(/needs a name and an at/);
});

describe('upperHypergradient: F, δ and dF/dλ at θ′ along a tangent', () => {
  beforeAll(setupCpu);
  const tree = (a: number[], b: number[]) => ({ w: tf.tensor1d(a), b: tf.tensor1d(b) });
  it.each([['gap', gapSquared], ['val', validationLoss], ['gapVal', gapPlusValidation(0.7)]] as const)('%s, by hand in float64', (_n, o) => {
    const before = tf.memory().numTensors;
    const valGrads = tree([0.5, -1.25], [2]);
    const trainGrads = tree([0.25, 0.5], [-1]);
    const tau = tree([1, 2], [0.5]);
    const [lv, lt] = [1.3, 0.4];
    const r = upperHypergradient(o, { valLoss: lv, trainLoss: lt, valGrads, trainGrads }, tau);
    // ⟨∇L_vl − ∇L_tr, τ⟩ = 0.25·1 − 1.75·2 + 3·0.5 = −1.75;  ⟨∇L_vl, τ⟩ = 0.5 − 2.5 + 1 = −1
    const p = o.at(lv, lt);
    expect(r.gap).toBeCloseTo(0.9, 12);
    expect(r.value).toBe(p.value);
    expect(r.hypergradient).toBeCloseTo(p.dGap * -1.75 + p.dVal * -1, 6);
    [valGrads, trainGrads, tau].forEach((t) => Object.values(t).forEach((x) => x.dispose()));
    expect(tf.memory().numTensors).toBe(before);
  });
  it('the validation-loss objective never reads the training gradient', () => {
    const valGrads = tree([1, 1], [1]);
    const tau = tree([1, 0], [2]);
    const r = upperHypergradient(validationLoss, { valLoss: 1, trainLoss: 0, valGrads, trainGrads: {} }, tau);
    expect(r.hypergradient).toBeCloseTo(3, 6);
    [valGrads, tau].forEach((t) => Object.values(t).forEach((x) => x.dispose()));
  });
});

describe('wholeStepTangent and the one step rule', () => {
  beforeAll(setupCpu);
  it('forward difference of a whole step: exact for a step linear in λ, O(h) for a quadratic one; disposes only what it made', () => {
    const v = { a: tf.tensor1d([1, -2, 0.5]) };
    const at = (c: (l: number) => number) => (l: number) => ({ a: tf.mul(v.a, c(l)) });
    const lambda = 0.3;
    const h = 1e-2;
    const base = at((l) => l)(lambda);
    const before = tf.memory().numTensors;
    const linear = wholeStepTangent(at((l) => l), base, lambda, h);
    expect(Array.from(linear.a!.dataSync()).map((x, i) => x - [1, -2, 0.5][i]!).every((e) => Math.abs(e) < 1e-4)).toBe(true);
    const baseQ = at((l) => l * l)(lambda);
    const quad = wholeStepTangent(at((l) => l * l), baseQ, lambda, h);
    // (λ+h)² − λ² over h = 2λ + h: the forward difference's O(h) error, by hand
    Array.from(quad.a!.dataSync()).forEach((x, i) => expect(x).toBeCloseTo((2 * lambda + h) * [1, -2, 0.5][i]!, 4));
    expect(tf.memory().numTensors - before).toBe(3); // the two tangents and baseQ: the shifted updates are disposed
    expect(base.a.isDisposed).toBe(false);
    expect(() => wholeStepTangent(at((l) => l), base, lambda, 0)).toThrow(/wholeStepTangent: h must be a finite number > 0, got 0/);
    [v, base, linear, baseQ, quad].forEach((t) => Object.values(t).forEach((x) => x.dispose()));
  });
  it('differenceStepOf: h = relStep·max(1, ‖x‖)/‖v‖ (relStep when v = 0), the rule gradientTangent and the estimators share', () => {
    expect(differenceStepOf(4, 2, 1e-3)).toBeCloseTo(2e-3, 15);
    expect(differenceStepOf(0.25, 2, 1e-3)).toBeCloseTo(5e-4, 15);
    expect(differenceStepOf(3, 0, 1e-2)).toBeCloseTo(3e-2, 15);
  });
});
