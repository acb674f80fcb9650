import * as tf from '@tensorflow/tfjs-core';
import { ActivationName, activation, activationNames } from './layers/activation';
import { attentionSpecs, selfAttention } from './layers/attention';
import { dense, denseSpecs } from './layers/dense';
import { EmbeddingLookup, embed, embeddingSpecs } from './layers/embedding';
import { layerNorm, layerNormSpecs } from './layers/layerNorm';
import { defineModel } from './model';
import { checkKnownKeys, oneOf, positiveInt, rate } from './options';
import type { TensorSpec } from './spec';
import type { Model } from './types';

export interface TransformerOptions {
  /** Token ids are in [0, vocabSize). Default 10000. */
  readonly vocabSize: number;
  /** Tokens per example (inputs are int32 `[batch, seqLen]`). Default 128. */
  readonly seqLen: number;
  /** Model width d. Default 64. */
  readonly dModel: number;
  /** Attention heads; must divide dModel. Default 4. */
  readonly numHeads: number;
  /** Encoder blocks. Default 2. */
  readonly numLayers: number;
  /** Hidden width of each block's MLP. Default 4·dModel. */
  readonly dFF: number;
  /** Default 2. */
  readonly numClasses: number;
  /** 'mean' over (unpadded) positions, or 'cls' (a learned token prepended to the sequence). Default 'mean'. */
  readonly pooling: 'mean' | 'cls';
  /** Dropout on embeddings, attention weights and residual branches (training only). Default 0. */
  readonly dropout: number;
  /** Activation of the MLPs. Default 'gelu'. */
  readonly activation: ActivationName;
  /** Embedding lookup ('gather' or 'onehot', see `embed`). Default 'gather'. */
  readonly embedding: EmbeddingLookup;
  /** Id of the padding token: padded keys are masked and excluded from mean pooling. Default null (no padding). */
  readonly padId: number | null;
}

export const transformerDefaults: TransformerOptions = {
  vocabSize: 10000,
  seqLen: 128,
  dModel: 64,
  numHeads: 4,
  numLayers: 2,
  dFF: 256,
  numClasses: 2,
  pooling: 'mean',
  dropout: 0,
  activation: 'gelu',
  embedding: 'gather',
  padId: null,
};

/**
 * Transformer encoder for sequence classification (pre-LayerNorm blocks, as in GPT-2 / ViT):
 *   h₀ = E[x] + P            (token and learned position embeddings; with 'cls' pooling a learned
 *                             token is prepended first),
 *   hᵢ' = hᵢ + MHSA(LN₁(hᵢ)), hᵢ₊₁ = hᵢ' + W₂·act(W₁·LN₂(hᵢ') + b₁) + b₂,
 *   z = pool(LN_f(h_L)), logits = z·W + b.
 * Paths: `embed/tokens`, `embed/positions`, `embed/cls`, `layer0/{ln1,attn/{query,key,value,output},ln2,mlp/fc1,mlp/fc2}/…`,
 * `final_ln/…`, `head/…`. No state.
 */
export const transformer = (options: Partial<TransformerOptions> = {}): Model => {
  const name = 'transformer';
  checkKnownKeys(name, options, Object.keys(transformerDefaults));
  const dModelGiven = options.dModel;
  const o = {
    ...transformerDefaults,
    ...(options.dFF === undefined && typeof dModelGiven === 'number' ? { dFF: 4 * dModelGiven } : {}),
    ...options,
  };
  const vocab = positiveInt(name, 'vocabSize', o.vocabSize);
  const seqLen = positiveInt(name, 'seqLen', o.seqLen);
  const d = positiveInt(name, 'dModel', o.dModel);
  const numHeads = positiveInt(name, 'numHeads', o.numHeads);
  if (d % numHeads !== 0) throw new Error(`${name}: option 'numHeads' (${numHeads}) must divide 'dModel' (${d})`);
  const numLayers = positiveInt(name, 'numLayers', o.numLayers);
  const dFF = positiveInt(name, 'dFF', o.dFF);
  const numClasses = positiveInt(name, 'numClasses', o.numClasses);
  const pooling = oneOf(name, 'pooling', o.pooling, ['mean', 'cls'] as const);
  const dropout = rate(name, 'dropout', o.dropout);
  const act = activation(oneOf(name, 'activation', o.activation, activationNames));
  const lookup = oneOf(name, 'embedding', o.embedding, ['gather', 'onehot'] as const);
  const padId = o.padId;
  if (padId !== null && !(Number.isInteger(padId) && padId >= 0 && padId < vocab)) {
    throw new Error(`${name}: option 'padId' must be null or an integer in [0, ${vocab}), got ${JSON.stringify(padId)}`);
  }
  const useCls = pooling === 'cls';
  const positions = seqLen + (useCls ? 1 : 0);

  const params: TensorSpec[] = [
    ...embeddingSpecs('embed/tokens', vocab, d),
    ...embeddingSpecs('embed/positions', positions, d),
    ...(useCls ? embeddingSpecs('embed/cls', 1, d) : []),
  ];
  for (let i = 0; i < numLayers; i++) {
    params.push(
      ...layerNormSpecs(`layer${i}/ln1`, d),
      ...attentionSpecs(`layer${i}/attn`, d),
      ...layerNormSpecs(`layer${i}/ln2`, d),
      ...denseSpecs(`layer${i}/mlp/fc1`, d, dFF),
      ...denseSpecs(`layer${i}/mlp/fc2`, dFF, d),
    );
  }
  params.push(...layerNormSpecs('final_ln', d), ...denseSpecs('head', d, numClasses));

  return defineModel({
    name,
    inputShape: [seqLen],
    inputDtype: 'int32',
    numClasses,
    params,
    state: [],
    usesDropout: dropout > 0,
    forward: (ctx, x) => {
      const b = x.shape[0] as number;
      let h = embed(ctx, 'embed/tokens', x, lookup);
      let mask: tf.Tensor | undefined = padId === null ? undefined : tf.cast(tf.notEqual(x, padId), 'float32');
      if (useCls) {
        const cls = tf.tile(tf.reshape(ctx.param('embed/cls'), [1, 1, d]), [b, 1, 1]);
        h = tf.concat([cls, h], 1);
        if (mask !== undefined) mask = tf.concat([tf.ones([b, 1]), mask], 1);
      }
      h = ctx.dropout(tf.add(h, ctx.param('embed/positions')), dropout);
      for (let i = 0; i < numLayers; i++) {
        const p = `layer${i}`;
        const a = selfAttention(ctx, `${p}/attn`, layerNorm(ctx, `${p}/ln1`, h), numHeads, mask, dropout);
        h = tf.add(h, ctx.dropout(a, dropout));
        const m = dense(ctx, `${p}/mlp/fc2`, act(dense(ctx, `${p}/mlp/fc1`, layerNorm(ctx, `${p}/ln2`, h))));
        h = tf.add(h, ctx.dropout(m, dropout));
      }
      h = layerNorm(ctx, 'final_ln', h);
      let z: tf.Tensor;
      if (useCls) z = tf.reshape(tf.slice(h, [0, 0, 0], [b, 1, d]), [b, d]);
      else if (mask === undefined) z = tf.mean(h, 1);
      else {
        const m3 = tf.expandDims(mask, 2);
        z = tf.div(tf.sum(tf.mul(h, m3), 1), tf.maximum(tf.sum(m3, 1), 1));
      }
      return dense(ctx, 'head', z);
    },
  });
};
