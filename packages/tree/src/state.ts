import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { Tree } from './tree';
import { serialize, deserialize, TreeManifest, validateManifest } from './serialize';

/**
 * JSON with tensors in place of some leaves: the shape of optimizer state, model state and
 * checkpoints (objects, arrays, numbers, strings, booleans, null and tensors).
 */
export type StateValue =
  | tf.Tensor
  | number
  | string
  | boolean
  | null
  | undefined
  | readonly StateValue[]
  | { readonly [key: string]: StateValue };

/** A JSON skeleton: tensors replaced by `{ $tensor: path }`, non-JSON numbers by `{ $number }`. */
export type Skeleton = unknown;

const isTensor = (x: unknown): x is tf.Tensor => x instanceof tf.Tensor;

/**
 * Splits nested state into a flat tree of its tensors (paths follow the object keys and
 * array indices, joined by '/') and a JSON skeleton that records everything else.
 * NaN, ±Infinity and −0 are kept exactly (JSON cannot write them).
 */
export const flattenState = (state: unknown): { tensors: Tree; skeleton: Skeleton } => {
  const tensors: Record<string, tf.Tensor> = {};
  const walk = (x: unknown, path: string): Skeleton => {
    if (isTensor(x)) {
      let p = path === '' ? '$root' : path;
      for (let i = 1; p in tensors; i++) p = `${path}#${i}`;
      tensors[p] = x;
      return { $tensor: p };
    }
    if (typeof x === 'number') {
      if (Number.isNaN(x)) return { $number: 'NaN' };
      if (x === Infinity) return { $number: 'Infinity' };
      if (x === -Infinity) return { $number: '-Infinity' };
      if (Object.is(x, -0)) return { $number: '-0' };
      return x;
    }
    if (x === undefined) return { $undefined: true };
    if (x === null || typeof x === 'string' || typeof x === 'boolean') return x;
    const join = (k: string) => (path === '' ? k : `${path}/${k}`);
    if (Array.isArray(x)) return x.map((v, i) => walk(v, join(String(i))));
    if (typeof x === 'object') {
      const out: Record<string, Skeleton> = {};
      for (const k of Object.keys(x as object)) {
        if (k.startsWith('$')) throw new Error(`flattenState: key '${k}' at '${path}' starts with '$' (reserved)`);
        out[k] = walk((x as Record<string, unknown>)[k], join(k));
      }
      return out;
    }
    throw new Error(`flattenState: value at '${path || '$root'}' has type ${typeof x}; expected JSON data or tensors`);
  };
  const skeleton = walk(state, '');
  return { tensors, skeleton };
};

/** Inverse of {@link flattenState}: rebuilds the nested state around the given tensors (not copied). */
export const unflattenState = (tensors: Tree, skeleton: Skeleton): unknown => {
  const walk = (s: Skeleton): unknown => {
    if (Array.isArray(s)) return s.map(walk);
    if (typeof s === 'object' && s !== null) {
      const o = s as Record<string, unknown>;
      if (typeof o.$tensor === 'string') {
        const t = tensors[o.$tensor];
        if (t === undefined) throw new Error(`unflattenState: tensor '${o.$tensor}' is missing`);
        return t;
      }
      if (typeof o.$number === 'string') return Number(o.$number);
      if (o.$undefined === true) return undefined;
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(o)) out[k] = walk(o[k]);
      return out;
    }
    return s;
  };
  return walk(skeleton);
};

/** Manifest of serialized nested state: the tree manifest plus the skeleton. */
export interface StateManifest {
  readonly format: 'lets-state';
  readonly version: 1;
  readonly skeleton: Skeleton;
  readonly tensors: TreeManifest;
}

/** Serializes nested state (for example an optimizer state) bit for bit. */
export const serializeState = (state: unknown): { manifest: StateManifest; data: Uint8Array } => {
  const { tensors, skeleton } = flattenState(state);
  const { manifest, data } = serialize(tensors);
  return { manifest: { format: 'lets-state', version: 1, skeleton, tensors: manifest }, data };
};

/** Inverse of {@link serializeState}; refuses a malformed manifest or a buffer that does not match it. */
export const deserializeState = (manifest: unknown, data: Uint8Array): E.Either<Error, unknown> => {
  const m = manifest as Partial<StateManifest> | null;
  if (m === null || typeof m !== 'object' || m.format !== 'lets-state' || m.version !== 1) {
    return E.left(new Error("deserializeState: manifest is not a 'lets-state' version 1 manifest"));
  }
  const checked = validateManifest(m.tensors, data.byteLength);
  if (E.isLeft(checked)) return checked;
  return E.chain((tensors: Tree) =>
    E.tryCatch(
      () => unflattenState(tensors, m.skeleton),
      (e) => {
        for (const t of Object.values(tensors)) t.dispose();
        return e instanceof Error ? e : new Error(String(e));
      },
    ),
  )(deserialize(m.tensors, data));
};

/** Every tensor inside nested state, in traversal order (each distinct tensor once). */
export const tensorsOf = (state: unknown): tf.Tensor[] => {
  const seen = new Set<tf.Tensor>();
  const walk = (x: unknown): void => {
    if (x instanceof tf.Tensor) seen.add(x);
    else if (Array.isArray(x)) x.forEach(walk);
    else if (typeof x === 'object' && x !== null) Object.values(x).forEach(walk);
  };
  walk(state);
  return [...seen];
};

/** Disposes every tensor inside nested state (optimizer state, model state, a step's report). */
export const disposeState = (state: unknown): void => {
  for (const t of tensorsOf(state)) if (!t.isDisposed) t.dispose();
};

/**
 * A deep copy of nested state (arrays, plain objects, numbers, tensors) whose tensors are
 * `tf.clone`s, which share buffers, so no data is copied: what a transform returns when it keeps
 * a state unchanged, so the caller may dispose the old state as usual. The one copy of this
 * helper in the house (optim, sam and lets use it).
 */
export const cloneState = <S>(state: S): S => {
  const walk = (x: unknown): unknown => {
    if (x instanceof tf.Tensor) return tf.clone(x);
    if (Array.isArray(x)) return x.map(walk);
    if (typeof x === 'object' && x !== null) {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(x)) out[k] = walk((x as Record<string, unknown>)[k]);
      return out;
    }
    return x;
  };
  return walk(state) as S;
};
