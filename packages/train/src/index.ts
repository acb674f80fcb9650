/**
 * @lets/train — the training pipeline for any gradient transformation (a plain optimizer, a
 * SAM variant, LETS): the step runner, the epoch loop, evaluation, callbacks, metrics and
 * checkpoints. What it reports about the optimizer comes from the transformation's optional
 * `metrics(state)`; it knows nothing of SAM or LETS.
 * @packageDocumentation
 */
export * from './types';
export { crossEntropy, correctCount, oneHotLabels } from './loss';
export { makeTrainStep, initTrainState, modelGradFn, modelLossFn, passSeed, sampleCrossEntropy, batchExtras, type StepOptions, type StepResult } from './step';
export { evaluate } from './evaluate';
export { fit, disposeTrainState, type Callbacks, type FitOptions, type FitResult } from './fit';
export { saveCheckpoint, loadCheckpoint, encodeCheckpoint, decodeCheckpoint, type Checkpoint, type CheckpointMeta } from './checkpoint';
