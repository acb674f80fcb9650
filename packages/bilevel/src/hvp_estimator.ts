/**
 * The estimator of H·v by name: 'exact' | 'fd' | 'central' | 'fisher' | 'identity'
 * (see ./hvp for what each costs and where it is exact).
 */
import type { DifferenceOptions, HvpEstimator, HvpEstimatorName } from './hvp';
import { exactHvp } from './hvp_exact';
import { centralDifferenceHvp, forwardDifferenceHvp } from './hvp_difference';
import { fisherHvp } from './hvp_fisher';
import { identityHvp } from './hvp_identity';

export const HVP_ESTIMATORS: readonly HvpEstimatorName[] = ['exact', 'fd', 'central', 'fisher', 'identity'];

/** An estimator by name, or the estimator itself when one is passed. Throws on an unknown name. */
export const hvpEstimator = (
  estimator: HvpEstimatorName | HvpEstimator,
  options: DifferenceOptions = {},
): HvpEstimator => {
  if (typeof estimator !== 'string') return estimator;
  switch (estimator) {
    case 'exact':
      return exactHvp();
    case 'fd':
      return forwardDifferenceHvp(options);
    case 'central':
      return centralDifferenceHvp(options);
    case 'fisher':
      return fisherHvp();
    case 'identity':
      return identityHvp();
    default:
      throw new Error(
        `hvpEstimator: unknown estimator '${String(estimator)}'; expected one of ${HVP_ESTIMATORS.join(', ')}`,
      );
  }
};
