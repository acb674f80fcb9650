/**
 * Checkpoints of a run: params, model state, optimizer state (LETS's ρ, its optimizer and the
 * pending tangent included) and the counters, bit for bit (@lets/tree's serializeState).
 * File layout: 8 bytes 'LETSCKP1', uint32 LE length of the JSON manifest, the manifest, the data.
 * Written to a temporary file in the same directory, fsync'd, then renamed over the target, so
 * a crash never leaves a half-written checkpoint.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { deserializeState, serializeState } from '@lets/tree';
import type { TrainState } from './types';

const MAGIC = Buffer.from('LETSCKP1', 'ascii');

export const encodeCheckpoint = (state: TrainState<unknown>): Buffer => {
  const { manifest, data } = serializeState(state);
  const json = Buffer.from(JSON.stringify(manifest), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length, 0);
  return Buffer.concat([MAGIC, len, json, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
};

export const decodeCheckpoint = (bytes: Uint8Array): E.Either<Error, TrainState<unknown>> => {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 12 || !buf.subarray(0, 8).equals(MAGIC)) {
    return E.left(new Error("checkpoint: not a LETS checkpoint (expected the 'LETSCKP1' header)"));
  }
  const n = buf.readUInt32LE(8);
  if (12 + n > buf.length) return E.left(new Error(`checkpoint: manifest of ${n} bytes runs past the end of the file (${buf.length} bytes)`));
  let manifest: unknown;
  try {
    manifest = JSON.parse(buf.subarray(12, 12 + n).toString('utf8'));
  } catch (e) {
    return E.left(new Error(`checkpoint: manifest is not JSON (${(e as Error).message})`));
  }
  const data = new Uint8Array(buf.subarray(12 + n));
  return E.chain((s: unknown): E.Either<Error, TrainState<unknown>> => {
    const t = s as Partial<TrainState<unknown>> | null;
    if (t === null || typeof t !== 'object' || typeof t.step !== 'number' || typeof t.epoch !== 'number' || t.params === undefined) {
      return E.left(new Error('checkpoint: expected {params, modelState, optState, step, epoch}'));
    }
    return E.right(t as TrainState<unknown>);
  })(deserializeState(manifest, data));
};

/** Writes `state` to `file` atomically (temp file + fsync + rename). */
export const saveCheckpoint = (file: string, state: TrainState<unknown>): void => {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, encodeCheckpoint(state));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  try {
    const dfd = fs.openSync(dir, 'r');
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
  } catch {
    // Directories cannot be fsync'd on every platform; the rename itself is atomic.
  }
};

/** Reads a checkpoint written by `saveCheckpoint`; Left names what is wrong. */
export const loadCheckpoint = (file: string): E.Either<Error, TrainState<unknown>> => {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    return E.left(new Error(`checkpoint ${file}: cannot read (${(e as Error).message})`));
  }
  return E.mapLeft((e: Error) => new Error(`checkpoint ${file}: ${e.message}`))(decodeCheckpoint(bytes));
};
