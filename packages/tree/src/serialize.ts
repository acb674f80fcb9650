import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { Tree } from './tree';

/** Element types a serialized tree may hold. */
export type SerializableDtype = 'float32' | 'int32' | 'bool';

/** One leaf of a serialized tree: where its bytes sit in the buffer. */
export interface ManifestEntry {
  readonly path: string;
  readonly shape: readonly number[];
  readonly dtype: SerializableDtype;
  readonly offset: number;
  readonly byteLength: number;
}

/** JSON description of a serialized tree; the bytes live in a separate buffer. */
export interface TreeManifest {
  readonly format: 'lets-tree';
  readonly version: 1;
  readonly entries: readonly ManifestEntry[];
  readonly byteLength: number;
}

const BYTES: Record<SerializableDtype, number> = { float32: 4, int32: 4, bool: 1 };

/**
 * Serializes a tree to one little-endian byte buffer plus a JSON manifest (names, shapes,
 * dtypes, offsets). Values are copied bit for bit (NaN payloads and −0 included).
 * Reads tensors back to the host, so it belongs to checkpointing, not the training step.
 */
export const serialize = (t: Tree): { manifest: TreeManifest; data: Uint8Array } => {
  const entries: ManifestEntry[] = [];
  let offset = 0;
  const paths = Object.keys(t);
  for (const path of paths) {
    const x = t[path] as tf.Tensor;
    if (!(x.dtype in BYTES)) {
      throw new Error(`serialize: leaf '${path}' has dtype '${x.dtype}'; expected float32, int32 or bool`);
    }
    const dtype = x.dtype as SerializableDtype;
    const byteLength = x.size * BYTES[dtype];
    entries.push({ path, shape: [...x.shape], dtype, offset, byteLength });
    offset += byteLength;
    offset += (4 - (offset % 4)) % 4; // keep every leaf 4-byte aligned
  }
  const data = new Uint8Array(offset);
  entries.forEach((e, i) => {
    const x = t[paths[i] as string] as tf.Tensor;
    const values = x.dataSync();
    const bytes =
      e.dtype === 'bool'
        ? Uint8Array.from(values as ArrayLike<number>)
        : new Uint8Array(values.buffer, values.byteOffset, e.byteLength);
    data.set(bytes, e.offset);
  });
  return { manifest: { format: 'lets-tree', version: 1, entries, byteLength: offset }, data };
};

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;

/** Checks a manifest's shape and that every entry lies inside a buffer of `byteLength` bytes. */
export const validateManifest = (m: unknown, byteLength: number): E.Either<Error, TreeManifest> => {
  if (!isObject(m) || m.format !== 'lets-tree' || m.version !== 1 || !Array.isArray(m.entries)) {
    return E.left(new Error("deserialize: manifest is not a 'lets-tree' version 1 manifest"));
  }
  if (m.byteLength !== byteLength) {
    return E.left(
      new Error(`deserialize: data has ${byteLength} bytes; the manifest expects ${String(m.byteLength)}`),
    );
  }
  const seen = new Set<string>();
  for (const [i, e] of (m.entries as unknown[]).entries()) {
    if (!isObject(e) || typeof e.path !== 'string') {
      return E.left(new Error(`deserialize: manifest entry ${i} has no path`));
    }
    const where = `deserialize: leaf '${e.path}'`;
    if (seen.has(e.path)) return E.left(new Error(`${where} appears twice`));
    seen.add(e.path);
    if (typeof e.dtype !== 'string' || !(e.dtype in BYTES)) {
      return E.left(new Error(`${where} has dtype '${String(e.dtype)}'; expected float32, int32 or bool`));
    }
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      return E.left(new Error(`${where} has shape ${JSON.stringify(e.shape)}; expected non-negative integers`));
    }
    const n = (e.shape as number[]).reduce((a, d) => a * d, 1);
    const len = n * BYTES[e.dtype as SerializableDtype];
    if (e.byteLength !== len) {
      return E.left(new Error(`${where} has byteLength ${String(e.byteLength)}; shape and dtype need ${len}`));
    }
    if (typeof e.offset !== 'number' || !Number.isInteger(e.offset) || e.offset < 0 || e.offset + len > byteLength) {
      return E.left(
        new Error(`${where} spans [${String(e.offset)}, ${String(Number(e.offset) + len)}) outside the ${byteLength}-byte buffer`),
      );
    }
  }
  return E.right(m as unknown as TreeManifest);
};

/** Inverse of {@link serialize}: validates the manifest against the buffer, then builds new tensors. */
export const deserialize = (manifest: unknown, data: Uint8Array): E.Either<Error, Tree> =>
  E.map((m: TreeManifest) => {
    const out: Record<string, tf.Tensor> = {};
    for (const e of m.entries) {
      const bytes = data.slice(e.offset, e.offset + e.byteLength); // copy: aligned, owned
      const shape = [...e.shape];
      out[e.path] =
        e.dtype === 'float32'
          ? tf.tensor(new Float32Array(bytes.buffer), shape, 'float32')
          : e.dtype === 'int32'
            ? tf.tensor(new Int32Array(bytes.buffer), shape, 'int32')
            : tf.tensor(Array.from(bytes, (b) => b !== 0), shape, 'bool');
    }
    return out as Tree;
  })(validateManifest(manifest, data.byteLength));
