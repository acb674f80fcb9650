/**
 * @lets/sharpness — how sharp a minimum is, measured on a data subset: the top Hessian
 * eigenvalues (Lanczos or power iteration on Hessian–vector products), the Hessian trace
 * (Hutchinson), m-sharpness and adaptive sharpness (the SAM / ASAM ascent), and 1-D / 2-D
 * loss-landscape slices along filter-normalized random directions (Li et al. 2018).
 * Guide: docs/sharpness.md.
 * @packageDocumentation
 */
export * from './problem';
export { hessianEigenvalues, type EigenOptions, type EigenResult } from './eigenvalues';
export { hessianTrace, type TraceOptions, type TraceResult } from './trace';
export { mSharpness, type MSharpnessOptions, type MSharpnessResult } from './msharpness';
export {
  randomDirection,
  linspace,
  landscape1d,
  landscape2d,
  type DirectionNormalization,
  type DirectionOptions,
  type LandscapeOptions,
  type Landscape1d,
  type Landscape2d,
} from './landscape';
export { symmetricEigen, gaussianLike, rademacherLike } from './vectors';
