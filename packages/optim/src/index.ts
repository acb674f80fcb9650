/**
 * @lets/optim — optax-style gradient transformations and schedules for tfjs.
 * @packageDocumentation
 */
export * from './types';
export { identity, type EmptyState } from './identity';
export { chain, type StateOf } from './chain';
export { masked, type Mask, type MaskedState } from './masked';
export { scale, scaleBySchedule, scaleByLearningRate, type CountState } from './scale';
export { trace, type TraceState } from './trace';
export { addDecayedWeights } from './addDecayedWeights';
export { scaleByAdam, type AdamState, type AdamOptions } from './scaleByAdam';
export { applyUpdates } from './applyUpdates';
export { injectHyperparams, setHyperparams, type InjectState } from './injectHyperparams';
export { sgd, adam, adamw, type SgdOptions, type AdamwOptions, type SgdState, type AdamChainState, type AdamwState } from './alias';
export { namedChain } from './namedChain';
export { partition, type Labels } from './partition';
export { multiSteps, type MultiStepsState } from './multiSteps';
export { applyIfFinite, type ApplyIfFiniteState } from './applyIfFinite';
export { ema, type EmaState } from './ema';
export { scaleByRms, type RmsState } from './scaleByRms';
export { clipByGlobalNorm, clip } from './clip';
export {
  constant,
  linear,
  polynomial,
  exponential,
  piecewiseConstant,
  cosineDecay,
  warmupCosineDecay,
  joinSchedules,
  linearWarmup,
} from './schedules';
export { RUN_SCHEDULES, type RunSchedule, type RunScheduleName, type RunLength } from './scheduleRegistry';
export { gradFnOf } from './gradFn';
export { explainMissingRuntime } from './runtimeHint';
