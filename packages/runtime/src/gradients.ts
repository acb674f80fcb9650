import * as path from 'path';
import * as fs from 'fs';
import { registerSecondOrderGradients } from './grads';

let registered = false;

/**
 * Registers tfjs-core's gradient functions for every op.
 *
 * Why: `@tensorflow/tfjs-core`'s Node entry point registers no gradients (the first
 * `tf.grads` throws "gradient function not found for RealDiv"), and its ESM registration
 * module cannot be loaded by Node directly. `npm install` runs `tools/prepare.mjs`, which
 * bundles that module into `generated/tfjs-gradients.cjs`; the gradient registry is
 * process-global, so loading the bundle once registers them for the shared engine.
 *
 * It then replaces the gradients that are wrong or missing under double
 * back-propagation with twice-differentiable ones (see `grads/`), so nested `tf.grads`
 * and `hvp` give exact Hessian-vector products.
 */
export function registerGradients(): void {
  if (registered) return;
  const candidates = [
    path.join(__dirname, '..', 'generated', 'tfjs-gradients.cjs'),
    path.join(__dirname, '..', '..', 'generated', 'tfjs-gradients.cjs'),
  ];
  // When this code is bundled into another file (benchmarks, the CLI launcher), __dirname is
  // the bundle's folder: find the installed package instead.
  try {
    const manifest = '@lets/runtime/package.json'; // a variable, so bundlers leave it to Node
    candidates.push(path.join(path.dirname(require.resolve(manifest)), 'generated', 'tfjs-gradients.cjs'));
  } catch {
    // not installed as a package: the paths above are all there is
  }
  const file = candidates.find((f) => fs.existsSync(f));
  if (file === undefined) {
    throw new Error(
      `@lets/runtime: tfjs gradient bundle not found (looked in ${candidates.join(', ')}); ` +
        'the published @lets/runtime ships it, so reinstall the package (`npm install @lets/runtime`); in the lets ' +
        'repository, `npm install` at its root generates it (tools/prepare.mjs).',
    );
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require(file);
  registerSecondOrderGradients();
  registered = true;
}
