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
 * Model constructors by name, for the CLI. Options are each constructor's options
 * (`MlpOptions`, `CnnOptions`, `ResNetOptions`, `WideResNetOptions`, `TransformerOptions`);
 * unknown options are rejected.
 */
export const modelRegistry = {
  mlp: (o: Options): Model => mlp(o),
  cnn: (o: Options): Model => cnn(o),
  resnet18: (o: Options): Model => resnet18(o),
  'wrn-16-8': fixedWrn(16, 8),
  'wrn-28-10': fixedWrn(28, 10),
  wrn: (o: Options): Model => wideResnet(o),
  transformer: (o: Options): Model => transformer(o),
} as const;

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
    () => modelRegistry[name as ModelName](options),
    (e) => (e instanceof Error ? e : new Error(String(e))),
  );
};
