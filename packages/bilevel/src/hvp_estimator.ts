/**
 * The estimators of H·v by name (see ./hvp for what each costs and where it is exact): a typed
 * registry, and `hvpEstimator(name)` that builds from it.
 */
import type { DifferenceOptions, HvpEstimator, HvpEstimatorName } from './hvp';
import { exactHvp } from './hvp_exact';
import { centralDifferenceHvp, forwardDifferenceHvp } from './hvp_difference';
import { fisherHvp } from './hvp_fisher';
import { identityHvp } from './hvp_identity';

/** A registered estimator: what it is, and how to build it (`relStep` of the differences). */
export interface HvpEstimatorEntry {
  readonly description: string;
  readonly build: (options: DifferenceOptions) => HvpEstimator;
}

/** Every estimator by name, in the order a command lists them. */
export const HVP_ESTIMATOR_REGISTRY = {
  exact: { description: 'double backprop (≈ 2 gradients; needs a twice-differentiable loss)', build: () => exactHvp() },
  fd: { description: 'forward difference of gradients (1 extra gradient)', build: (o) => forwardDifferenceHvp(o) },
  central: { description: 'central difference of gradients (2 extra gradients)', build: (o) => centralDifferenceHvp(o) },
  fisher: { description: 'diagonal empirical Fisher (no extra gradient)', build: () => fisherHvp() },
  identity: { description: 'H ≈ I (no extra gradient)', build: () => identityHvp() },
} as const satisfies Readonly<Record<HvpEstimatorName, HvpEstimatorEntry>>;

export const HVP_ESTIMATORS = Object.keys(HVP_ESTIMATOR_REGISTRY) as readonly HvpEstimatorName[];

/** An estimator by name, or the estimator itself when one is passed. Throws on an unknown name. */
export const hvpEstimator = (
  estimator: HvpEstimatorName | HvpEstimator,
  options: DifferenceOptions = {},
): HvpEstimator => {
  if (typeof estimator !== 'string') return estimator;
  const entry = Object.prototype.hasOwnProperty.call(HVP_ESTIMATOR_REGISTRY, estimator) ? HVP_ESTIMATOR_REGISTRY[estimator] : undefined;
  if (entry === undefined) {
    throw new Error(`hvpEstimator: unknown estimator '${String(estimator)}'; expected one of ${HVP_ESTIMATORS.join(', ')}`);
  }
  return entry.build(options);
};
