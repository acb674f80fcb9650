import { registerComparisonGradients } from './comparison';
import { registerConvGradients } from './conv';
import { registerElementwiseGradients } from './elementwise';
import { registerPoolGradients } from './pool';
import { registerSoftmaxGradients } from './softmax';

/**
 * Kernels whose stock gradient saves the op's output but only uses it where the second
 * derivative is zero anyway (as a mask, or as an argument of a piecewise-constant kernel),
 * so double back-propagation through them is exact. LetsDense is @lets/native's fused dense
 * layer: its output is read only for the ReLU mask step(y).
 */
export const SAVED_OUTPUT_IS_SAFE: ReadonlySet<string> = new Set(['Max', 'Min', 'MaxPool', 'LetsDense', 'LetsBiasRelu']);

/**
 * Registers gradient configs that are themselves differentiable, on top of tfjs's own,
 * so nested tf.grads (Hessian-vector products) are exact. Idempotent.
 */
export function registerSecondOrderGradients(): void {
  registerElementwiseGradients();
  registerSoftmaxGradients();
  registerComparisonGradients();
  registerConvGradients();
  registerPoolGradients();
}
