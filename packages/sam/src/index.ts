/**
 * @lets/sam — sharpness-aware minimization: every well-known SAM variant as composable
 * transforms (an ascent chain of ordinary gradient transformations, a combiner or procedure,
 * and the SAM wrapper around any outer optimizer from @lets/optim).
 * @packageDocumentation
 */
export * from './types';
export { NORM_EPS } from './numerics';
export { sharpnessAware, withRho, type SharpnessAwareOptions, type SamPerturbationState } from './sharpnessAware';
export { normalize, type NormalizeOptions } from './normalize';
export { scaleByParam, isWeight, type ParamFilter, type ScaleByParamOptions } from './scaleByParam';
export { fisherPrecondition, type FisherOptions } from './fisherPrecondition';
export { emaDirection, type EmaDirectionState } from './emaDirection';
export { subtractEma, type SubtractEmaState } from './subtractEma';
export { randomMask, type RandomMaskOptions, type RandomMaskState } from './randomMask';
export { selectSubset, isNormalizationParam } from './selectSubset';
export { gaussianSmoothing, type GaussianSmoothingState } from './gaussianSmoothing';
export { lossEquated, type LossEquatedOptions } from './lossEquated';
export { perturbedGradient, surrogateGap, normMatch } from './combiners';
export { twoPass } from './twoPass';
export { lookAhead, type LookAheadState } from './lookAhead';
export { microBatches } from './microBatches';
export { gradientNormAware, type GamOptions } from './gradientNormAware';
export { sharpnessSensitiveData } from './sharpnessSensitiveData';
export {
  sam,
  asam,
  fisherSam,
  gsam,
  esam,
  samOn,
  vasso,
  friendlySam,
  lookSam,
  msam,
  gam,
  randomSam,
  stableSam,
  leSam,
  leSamSchedule,
  type LeSamOptions,
  type RhoOption,
  type AsamOptions,
  type GsamOptions,
  type EsamOptions,
  type SamOnOptions,
} from './presets';
export { SAM_PRESETS, type SamPreset, type SamPresetName, type PresetRun } from './registry';
