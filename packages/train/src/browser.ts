/**
 * @lets/train for browsers (the default export condition; `@lets/train/browser`): the
 * training pipeline without files. Checkpoints are bytes (`encodeCheckpoint` /
 * `decodeCheckpoint`); `fit` hands them to `checkpoint.write(name, bytes)`.
 * @packageDocumentation
 */
import { fitWith } from './fit';

export * from './core';

/** Runs the epoch loop; a checkpoint needs `checkpoint.write(name, bytes)` (there are no files in a page). */
export const fit = fitWith(undefined);
