/**
 * @lets/bilevel — hypergradients of unrolled lower-level steps, and Hessian–vector product
 * estimators ('exact', 'fd', 'central', 'fisher', 'identity').
 * @packageDocumentation
 */
export * from './hvp';
export { exactHvp } from './hvp_exact';
export { forwardDifferenceHvp, centralDifferenceHvp, differenceStep, differenceStepOf } from './hvp_difference';
export { fisherHvp } from './hvp_fisher';
export { identityHvp } from './hvp_identity';
export { hvpEstimator, HVP_ESTIMATORS, HVP_ESTIMATOR_REGISTRY, type HvpEstimatorEntry } from './hvp_estimator';
export * from './hypergradient';
export { gradientTangent, hyperparameterTangent, projectOut, TANGENT_PROJECTIONS, wholeStepTangent, type TangentProjection } from './tangents';
export * from './unrolled';
export * from './implicit';
export * from './objectives';
