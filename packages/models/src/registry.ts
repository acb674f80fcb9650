import * as E from 'fp-ts/Either';
import { cnn } from './cnn';
import { mlp } from './mlp';
import { resnet18 } from './resnet';
import { transformer } from './transformer';
import type { Model } from './types';
import { wideResnet } from './wideResnet';

type Options = Readonly<Record<string, unknown>>;

const fixedWrn = (depth: number, widen: number) => (o: Options): Model => {
  for (const k of ['depth', 'widen']) {
    if (k in o) throw new Error(`wrn-${depth}-${widen}: option '${k}' is fixed by the name; use 'wrn' to choose depth and widen`);
  }
  return wideResnet({ ...o, depth, widen });
};

/**
 * What a model takes as input, so a caller can size it from the data: `flat` (a feature vector:
 * `inputDim`), `images` (`inputShape` [H, W, C]), `tokens` (`seqLen`, `vocabSize`, `padId`);
 * every model takes `numClasses`.
 */
export type ModelInput = 'flat' | 'images' | 'tokens';

/** A registered model constructor. */
export interface ModelEntry {
  readonly description: string;
  readonly input: ModelInput;
  /**
   * Whether the name fixes the architecture (every model but `wrn`, whose depth and widen are
   * options): a caller that passes only the data-derived options gets a definite network.
   */
  readonly fixed: boolean;
  /** The model from its constructor's options (unknown options are rejected). */
  readonly build: (o: Options) => Model;
}

/**
 * Model constructors by name, in the order a command lists them. Options are each
 * constructor's options (`MlpOptions`, `CnnOptions`, `ResNetOptions`, `WideResNetOptions`,
 * `TransformerOptions`); unknown options are rejected.
 */
export const modelRegistry = {
  mlp: { description: 'multi-layer perceptron (ReLU)', input: 'flat', fixed: true, build: (o: Options): Model => mlp(o) },
  cnn: { description: 'LeNet-style CNN: conv 16 → conv 32 → dense 128', input: 'images', fixed: true, build: (o: Options): Model => cnn(o) },
  resnet18: { description: 'ResNet-18 (He et al. 2016)', input: 'images', fixed: true, build: (o: Options): Model => resnet18(o) },
  'wrn-16-8': { description: 'Wide ResNet 16-8 (Zagoruyko & Komodakis 2016)', input: 'images', fixed: true, build: fixedWrn(16, 8) },
  'wrn-28-10': { description: 'Wide ResNet 28-10 (Zagoruyko & Komodakis 2016)', input: 'images', fixed: true, build: fixedWrn(28, 10) },
  wrn: { description: 'Wide ResNet with depth and widen as options', input: 'images', fixed: false, build: (o: Options): Model => wideResnet(o) },
  transformer: { description: 'a small transformer encoder over token ids', input: 'tokens', fixed: true, build: (o: Options): Model => transformer(o) },
} as const satisfies Readonly<Record<string, ModelEntry>>;

export type ModelName = keyof typeof modelRegistry;

export const modelNames = Object.keys(modelRegistry) as readonly ModelName[];

/**
 * Builds a registered model: `Right(model)`, or `Left(Error)` naming the unknown model or the
 * bad option and what was expected.
 */
export const createModel = (name: string, options: Options = {}): E.Either<Error, Model> => {
  if (!(modelNames as readonly string[]).includes(name)) {
    return E.left(new Error(`unknown model '${name}' (expected one of ${modelNames.join(', ')})`));
  }
  return E.tryCatch(
    () => modelRegistry[name as ModelName].build(options),
    (e) => (e instanceof Error ? e : new Error(String(e))),
  );
};
