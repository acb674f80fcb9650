/**
 * @lets/models — functional models with explicit state: `init(seed) → {params, state}` and
 * `apply(params, state, x, {training, seed}) → {logits, state}`.
 * @packageDocumentation
 */
export type { Model, ApplyOptions, ApplyResult, ModelVariables } from './types';
export { defineModel } from './model';
export type { ForwardContext, ModelDefinition } from './model';
export type { TensorSpec } from './spec';
export { materialize } from './spec';
export { fans, heNormal, glorotUniform, normal, zeros, ones, initTensor } from './initializers';
export type { Initializer } from './initializers';
export { countParams, countState } from './countParams';
export { mlp, mlpDefaults } from './mlp';
export type { MlpOptions } from './mlp';
export { cnn, cnnDefaults } from './cnn';
export type { CnnOptions } from './cnn';
export { resnet, resnet18, resnetDefaults } from './resnet';
export type { ResNetOptions } from './resnet';
export { wideResnet, wideResnetDefaults } from './wideResnet';
export type { WideResNetOptions } from './wideResnet';
export { transformer, transformerDefaults } from './transformer';
export type { TransformerOptions } from './transformer';
export { fromLayersModel } from './layersModel';
export type { FromLayersModelOptions } from './layersModel';
export { createModel, modelRegistry, modelNames } from './registry';
export type { ModelName, ModelEntry, ModelInput } from './registry';
export { activation, activationNames } from './layers/activation';
export type { ActivationName } from './layers/activation';
export { dense, denseSpecs } from './layers/dense';
export { conv2d, conv2dSpecs } from './layers/conv2d';
export { biasRelu, BIAS_RELU_KERNEL } from './layers/biasRelu';
export { batchNorm, batchNormSpecs, defaultBatchNorm } from './layers/batchNorm';
export type { BatchNormConfig } from './layers/batchNorm';
export { layerNorm, layerNormSpecs } from './layers/layerNorm';
export { selfAttention, attentionSpecs } from './layers/attention';
export { embed, embeddingSpecs } from './layers/embedding';
export type { EmbeddingLookup } from './layers/embedding';
