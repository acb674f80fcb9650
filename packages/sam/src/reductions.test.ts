/**
 * The reductions ALGORITHMS.md lists, bit for bit (float32 equality at every step):
 * each variant with its identity setting is SAM, and every variant with ρ = 0 is its outer
 * optimizer (100 steps).
 */
import { sgd } from '@lets/optim';
import { expectSameRun, quadratic, runSteps, setup } from './test-util';
import {
  asam, esam, fisherSam, friendlySam, gam, gsam, lookSam, msam, randomSam, sam, samOn, stableSam, vasso,
} from './presets';
import type { SamTransformation } from './types';

beforeAll(setup);

// momentum and coupled weight decay make the outer map stateful, so a difference at any step would propagate
const outer = () => sgd(0.05, { momentum: 0.9, weightDecay: 1e-3 });
const STEPS = 12;

const run = (opt: SamTransformation<any>, steps = STEPS, extra: Record<string, unknown> = {}) => {
  const q = quadratic();
  const out = runSteps(opt, steps, q.gradFn, extra);
  q.dispose();
  return out;
};

describe('each variant reduces to SAM exactly', () => {
  const rho = 0.07;
  let reference: Float32Array[][];
  beforeAll(() => {
    reference = run(sam(outer(), { rho }));
  });
  const cases: [string, () => SamTransformation<any>][] = [
    ['ASAM with T ≡ 1 (no leaf scaled)', () => asam(outer(), { rho, filter: () => false })],
    ['Fisher SAM with η = 0 and γ = ρ', () => fisherSam(outer(), { rho, eta: 0 })],
    ['GSAM with α = 0 and a constant ρ', () => gsam(outer(), { rho, alpha: 0 })],
    ['VaSSO with θ = 1', () => vasso(outer(), { rho, theta: 1 })],
    ['Friendly SAM with σ = 0', () => friendlySam(outer(), { rho, sigma: 0 })],
    ['ESAM with β = γ = 1', () => esam(outer(), { rho, beta: 1, gamma: 1 })],
    ['mSAM with M = 1', () => msam(outer(), { rho, microBatches: 1 })],
    ['LookSAM with k = 1', () => lookSam(outer(), { rho, k: 1 })],
    ['SAM-ON selecting every leaf', () => samOn(outer(), { rho, filter: () => true })],
    ['Random SAM with σ = 0', () => randomSam(outer(), { rho, sigma: 0 })],
  ];
  it.each(cases)('%s', (_name, make) => {
    expectSameRun(run(make()), reference);
  });

  it('and SAM itself is not its outer optimizer (the comparison can fail)', () => {
    const plain = run(outer() as unknown as SamTransformation<any>);
    expect(() => expectSameRun(plain, reference)).toThrow(/bit-for-bit/);
  });
});

describe('every variant with ρ = 0 is its outer optimizer, 100 steps', () => {
  let reference: Float32Array[][];
  beforeAll(() => {
    reference = run(outer() as unknown as SamTransformation<any>, 100);
  });
  const presets = { sam, asam, fisherSam, gsam, esam, samOn, vasso, friendlySam, lookSam, msam, gam, randomSam, stableSam };
  it.each(Object.entries(presets))('%s', (_name, preset) => {
    // msam with M = 2 and ESAM with γ < 1 would need micro-batch / per-sample functions if they ran
    const options = { rho: 0, microBatches: 2 };
    expectSameRun(run((preset as any)(outer(), options), 100), reference);
  });
});
