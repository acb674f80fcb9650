export * from './types';
export { crossEntropy, correctCount, oneHotLabels } from './loss';
export { makeTrainStep, initTrainState, modelGradFn, modelLossFn, passSeed, rhoOf, sampleCrossEntropy, batchExtras, type StepOptions, type StepResult } from './step';
export { evaluate } from './evaluate';
export { fit, disposeTrainState, type Callbacks, type FitOptions, type FitResult } from './fit';
export { saveCheckpoint, loadCheckpoint, encodeCheckpoint, decodeCheckpoint } from './checkpoint';
