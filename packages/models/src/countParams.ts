import type { Model } from './types';

const product = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/**
 * Number of trainable parameters: Σ over `model.paramShapes` of the product of each shape.
 * Computed from shapes alone, so counting a 36M-parameter WRN allocates nothing.
 * BatchNorm running statistics are state, not parameters, and are not counted (as in PyTorch's
 * `sum(p.numel() for p in model.parameters())`).
 */
export const countParams = (model: Model): number =>
  Object.values(model.paramShapes).reduce((n, s) => n + product(s), 0);

/** Number of scalars in the model state (BatchNorm running mean and variance). */
export const countState = (model: Model): number =>
  Object.values(model.stateShapes).reduce((n, s) => n + product(s), 0);
