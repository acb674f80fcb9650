/**
 * `registerGradients` for browsers and bundlers: tfjs-core's ES-module gradient registrations
 * are imported directly (a bundler resolves their extensionless imports; Node cannot, which is
 * why the Node entry loads a generated CommonJS bundle instead, gradients.ts), then the
 * twice-differentiable overrides replace the gradients that are wrong or missing under
 * double back-propagation (see `grads/`).
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { registerSecondOrderGradients } from './grads';

let registered = false;

/** Registers tfjs-core's gradient functions for every op, with the second-order overrides. */
export function registerGradients(): void {
  if (registered) return;
  registerSecondOrderGradients();
  registered = true;
}
