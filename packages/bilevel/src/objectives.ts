/**
 * Upper objectives of a one-step bilevel problem over a scalar hyperparameter λ (LETS's ρ),
 * written as functions of the two losses at θ' = θ_{t+1}(λ):
 *
 *   L_vl = L(B^vl; θ'),  L_tr = L(B^tr; θ'),  δ = L_vl − L_tr   (the signed generalization gap)
 *
 * Every objective here is F(δ, L_vl), so with the tangent τ = dθ'/dλ and the gradients at θ'
 *
 *   dF/dλ = ∂F/∂δ · ⟨∇L_vl − ∇L_tr, τ⟩ + ∂F/∂L_vl · ⟨∇L_vl, τ⟩.
 *
 * - 'gap' (LETS, Wang et al. 2024):  F = ½ δ²            ∂F/∂δ = δ,  ∂F/∂L_vl = 0
 * - 'val' (classic hyperparameter gradient, Maclaurin et al. 2015; Franceschi et al. 2017):
 *                                     F = L_vl            ∂F/∂δ = 0,  ∂F/∂L_vl = 1
 * - 'gapVal' (both):                  F = ½ δ² + λ L_vl   ∂F/∂δ = δ,  ∂F/∂L_vl = λ
 *
 * A user's own objective is any value of this interface (a function of the two losses).
 */
import * as tf from '@tensorflow/tfjs-core';
import { sub, type Params } from '@lets/tree';
import { hyperDot } from './hypergradient';

/** The value of an upper objective and its partial derivatives in δ and L_vl. */
export interface ObjectiveValue {
  readonly value: number;
  /** ∂F/∂δ: the weight of ⟨∇L_vl − ∇L_tr, τ⟩. */
  readonly dGap: number;
  /** ∂F/∂L_vl at fixed δ: the weight of ⟨∇L_vl, τ⟩. */
  readonly dVal: number;
}

/** An upper objective F(δ, L_vl) evaluated from the two losses at θ'. */
export interface UpperObjective {
  readonly name: string;
  /** F and its partials at the validation loss L_vl and the training loss L_tr. */
  readonly at: (valLoss: number, trainLoss: number) => ObjectiveValue;
  /** Whether F depends on δ (then the training gradient at θ' is needed). */
  readonly usesGap: boolean;
}

export type UpperObjectiveName = 'gap' | 'val' | 'gapVal';

/** The names `upperObjective` accepts. */
export const UPPER_OBJECTIVES: readonly UpperObjectiveName[] = ['gap', 'val', 'gapVal'];

/** Options of {@link upperObjective}. */
export interface UpperObjectiveOptions {
  /** λ of 'gapVal' (default 1). */
  readonly lambda?: number;
}

/** The paper's objective F = ½ δ². */
export const gapSquared: UpperObjective = {
  name: 'gap',
  usesGap: true,
  at: (v, t) => {
    const d = v - t;
    return { value: 0.5 * d * d, dGap: d, dVal: 0 };
  },
};

/** The validation loss F = L_vl at θ'. */
export const validationLoss: UpperObjective = {
  name: 'val',
  usesGap: false,
  at: (v) => ({ value: v, dGap: 0, dVal: 1 }),
};

/** F = ½ δ² + λ L_vl. */
export const gapPlusValidation = (lambda = 1): UpperObjective => {
  if (!(Number.isFinite(lambda) && lambda >= 0)) {
    throw new Error(`gapPlusValidation: lambda must be a finite number ≥ 0, got ${String(lambda)}`);
  }
  return {
    name: 'gapVal',
    usesGap: true,
    at: (v, t) => {
      const d = v - t;
      return { value: 0.5 * d * d + lambda * v, dGap: d, dVal: lambda };
    },
  };
};

/** An objective by name ('gap', 'val', 'gapVal'), or the objective itself. */
export const upperObjective = (spec: UpperObjectiveName | UpperObjective, options: UpperObjectiveOptions = {}): UpperObjective => {
  if (typeof spec === 'object' && spec !== null) {
    if (typeof spec.at !== 'function' || typeof spec.name !== 'string') {
      throw new Error('upperObjective: an objective object needs a name and an at(valLoss, trainLoss) function');
    }
    return spec;
  }
  switch (spec) {
    case 'gap':
      return gapSquared;
    case 'val':
      return validationLoss;
    case 'gapVal':
      return gapPlusValidation(options.lambda ?? 1);
    default:
      throw new Error(`upperObjective: unknown objective '${String(spec)}'; expected one of ${UPPER_OBJECTIVES.join(', ')} or an objective object`);
  }
};

/** dF/dλ from the objective's partials and the two contractions with τ. */
export const objectiveHypergradient = (o: ObjectiveValue, gapDot: number, valDot: number): number =>
  (o.dGap === 0 ? 0 : o.dGap * gapDot) + (o.dVal === 0 ? 0 : o.dVal * valDot);

/** What the upper level sees at θ': the two losses (host numbers) and the two gradients. */
export interface UpperPoint {
  readonly valLoss: number;
  readonly trainLoss: number;
  /** ∇L_vl(θ'). */
  readonly valGrads: Params;
  /** ∇L_tr(θ') (read only when the objective has ∂F/∂δ ≠ 0). */
  readonly trainGrads: Params;
}

/** An objective's value at θ' and its hypergradient along a tangent. */
export interface UpperHypergradient extends ObjectiveValue {
  /** δ = L_vl − L_tr. */
  readonly gap: number;
  /** dF/dλ = ∂F/∂δ ⟨∇L_vl − ∇L_tr, τ⟩ + ∂F/∂L_vl ⟨∇L_vl, τ⟩. */
  readonly hypergradient: number;
}

/**
 * F at θ' and dF/dλ for the tangent τ = dθ'/dλ (`stepTangent`, `wholeStepTangent`): the
 * contractions are taken by `hyperDot` only where the objective's partial is non-zero (one host
 * read each). Nothing given is disposed.
 */
export const upperHypergradient = (objective: UpperObjective, at: UpperPoint, tangent: Params): UpperHypergradient => {
  const o = objective.at(at.valLoss, at.trainLoss);
  const gapDot = o.dGap === 0 ? 0 : tf.tidy(() => hyperDot(sub(at.valGrads, at.trainGrads), tangent));
  const valDot = o.dVal === 0 ? 0 : hyperDot(at.valGrads, tangent);
  return { ...o, gap: at.valLoss - at.trainLoss, hypergradient: objectiveHypergradient(o, gapDot, valDot) };
};
