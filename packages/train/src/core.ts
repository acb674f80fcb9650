/**
 * The exports of @lets/train that are the same in Node and in a browser (none reaches a Node
 * built-in). index.ts (Node) adds checkpoint files and a `fit` that writes them by default;
 * browser.ts a `fit` whose checkpoints go where `checkpoint.write` says. A new browser-safe
 * export goes here, so both entries have it.
 */
export * from './types';
export { crossEntropy, expectedError, correctCount, oneHotLabels } from './loss';
export { makeTrainStep, initTrainState, modelGradFn, modelLossFn, passSeed, sampleCrossEntropy, batchExtras, type StepOptions, type StepResult } from './step';
export { evaluate } from './evaluate';
export { fitWith, disposeTrainState, type Callbacks, type CheckpointWriter, type FitOptions, type FitResult } from './fit';
export { encodeCheckpoint, decodeCheckpoint, type Checkpoint, type CheckpointMeta } from './checkpoint';
