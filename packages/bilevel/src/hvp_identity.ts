/**
 * 'identity': H ≈ I, so H·v ≈ v (a copy). Free. Exact only for L = ½‖x‖² + linear terms; in
 * LETS it turns the hypergradient into −η δ uᵀ n (the gap's slope along the ascent direction
 * scaled by the learning rate), the cheapest signal of which way ρ should move.
 */
import { clone, type Params } from '@lets/tree';
import type { HvpEstimator, HvpProblem } from './hvp';

export const identityHvp = (): HvpEstimator => ({
  name: 'identity',
  gradEvals: 0,
  gradEvalsWithoutGrads: 0,
  hvp: (_problem: HvpProblem, v: Params): Params => clone(v),
});
