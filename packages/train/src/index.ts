/**
 * @lets/train — the training pipeline for any gradient transformation (a plain optimizer, a
 * SAM variant, LETS): the step runner, the epoch loop, evaluation, callbacks, metrics and
 * checkpoints. What it reports about the optimizer comes from the transformation's optional
 * `metrics(state)`; it knows nothing of SAM or LETS.
 *
 * This is the Node entry (the `node` export condition, `@lets/train/node`): the browser-safe
 * core plus checkpoint files (`saveCheckpoint`/`loadCheckpoint`) and a `fit` that writes its
 * checkpoints to files. Bundlers building for a browser get browser.ts.
 * @packageDocumentation
 */
import { writeFileAtomic } from '@lets/runtime';
import { fitWith } from './fit';

export * from './core';
export { saveCheckpoint, loadCheckpoint } from './checkpoint_file';

/** Runs the epoch loop; `checkpoint.file` / `bestFile` are written atomically (or where `checkpoint.write` says). */
export const fit = fitWith((file, bytes) => writeFileAtomic(file, bytes));
