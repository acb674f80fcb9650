import type { GradientTransformation } from './types';
import { identity } from './identity';
import { chain } from './chain';
import { namedChain } from './namedChain';
import { masked } from './masked';
import { partition } from './partition';
import { multiSteps } from './multiSteps';
import { applyIfFinite } from './applyIfFinite';
import { injectHyperparams } from './injectHyperparams';
import { scale, scaleByLearningRate, scaleBySchedule } from './scale';
import { trace } from './trace';
import { ema } from './ema';
import { scaleByAdam } from './scaleByAdam';
import { scaleByRms } from './scaleByRms';
import { addDecayedWeights } from './addDecayedWeights';
import { clip, clipByGlobalNorm } from './clip';
import { adam, adamw, sgd } from './alias';
import { cosineDecay } from './schedules';

/** Every transform of the package, with representative options, by name (for contract and law tests). */
export const pool = (): Record<string, GradientTransformation<any>> => ({
  identity: identity(),
  scale: scale(-0.5),
  scaleBySchedule: scaleBySchedule((c) => 1 / (1 + c)),
  scaleByLearningRate: scaleByLearningRate(cosineDecay(0.1, 10)),
  trace: trace({ decay: 0.9 }),
  traceNesterov: trace({ decay: 0.9, nesterov: true }),
  ema: ema(0.9),
  scaleByAdam: scaleByAdam(),
  scaleByAdamNesterov: scaleByAdam({ nesterov: true, epsRoot: 1e-8 }),
  scaleByRms: scaleByRms(),
  addDecayedWeights: addDecayedWeights(0.1),
  addDecayedWeightsMasked: addDecayedWeights(0.1, { mask: (p) => p.endsWith('0') }),
  clipByGlobalNorm: clipByGlobalNorm(0.5),
  clip: clip(0.3),
  sgd: sgd(0.1, { momentum: 0.9, nesterov: true, weightDecay: 1e-2 }),
  adam: adam(1e-2),
  adamw: adamw(1e-2, { weightDecay: 0.1 }),
  chain: chain(clipByGlobalNorm(1), addDecayedWeights(1e-4), adam(1e-3)),
  namedChain: namedChain({ clip: clip(1), adam: scaleByAdam() }),
  masked: masked(trace({ decay: 0.5 }), (p) => p.endsWith('1')),
  partition: partition({ a: scaleByAdam(), b: trace({ decay: 0.5 }) }, (p) => (p.endsWith('0') ? 'a' : 'b')),
  multiSteps: multiSteps(adam(1e-2), 2),
  applyIfFinite: applyIfFinite(adam(1e-2)),
  injectHyperparams: injectHyperparams((h: { lr: number; wd: number }) => adamw(h.lr, { weightDecay: h.wd }), {
    lr: cosineDecay(1e-2, 10),
    wd: 1e-3,
  }),
});
