/**
 * Checkpoint files (Node only): the bytes of checkpoint_bytes.ts written atomically —
 * temporary file in the same directory → write → fsync → rename over the target → fsync the
 * directory, so a crash at any point leaves either the previous checkpoint or the new one —
 * and verified whole when read. The encoder and decoder here are checkpoint_bytes.ts's with
 * Node's native SHA-256 (about 20× faster than the portable one; the same bytes).
 */
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import { promises as fsp } from 'fs';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { checkpointCodec } from './checkpoint_bytes';

const nodeSha256 = (...parts: Uint8Array[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

const codec = checkpointCodec(nodeSha256);

/** The bytes of a checkpoint of `state` (pure; tensors are read, not disposed). */
export const encodeStateFile: (state: unknown) => Uint8Array = codec.encodeStateFile;

/**
 * Verifies and decodes checkpoint bytes into nested state with new tensors (owned by the
 * caller). Left with a message naming what is wrong; nothing is allocated on failure.
 */
export const decodeStateFile: (bytes: Uint8Array, source?: string) => E.Either<Error, unknown> = codec.decodeStateFile;

/** Test hooks for `writeFileAtomic` (to simulate a crash between its phases). */
export interface AtomicWriteHooks {
  readonly beforeRename?: (tempPath: string) => void | Promise<void>;
}

/** Phase 1: the bytes in a new temporary file beside `file` (its folder created), fsync'd. */
function writeTemp(file: string, bytes: Uint8Array): string {
  const dir = path.dirname(path.resolve(file));
  fs.mkdirSync(dir, { recursive: true });
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = fs.openSync(temp, 'wx', 0o644);
  try {
    let off = 0;
    while (off < bytes.byteLength) off += fs.writeSync(fd, bytes, off, bytes.byteLength - off);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  return temp;
}

/** Phase 2: rename over the target, then fsync the folder so the rename itself is durable. */
function commitTemp(temp: string, file: string): void {
  try {
    fs.renameSync(temp, file);
  } catch (e) {
    fs.rmSync(temp, { force: true });
    throw e;
  }
  try {
    const d = fs.openSync(path.dirname(path.resolve(file)), 'r');
    try {
      fs.fsyncSync(d);
    } finally {
      fs.closeSync(d);
    }
  } catch {
    // some filesystems refuse fsync on a directory; the rename is still atomic
  }
}

/**
 * Writes `bytes` to `file` atomically: a temporary file beside it, fsync, rename, fsync of
 * the directory. Readers see the old file or the new one, never a mix; a crash before the
 * rename leaves the old file as it was.
 */
export function writeFileAtomicSync(file: string, bytes: Uint8Array, hooks: { readonly beforeRename?: (tempPath: string) => void } = {}): void {
  const temp = writeTemp(file, bytes);
  try {
    hooks.beforeRename?.(temp);
  } catch (e) {
    fs.rmSync(temp, { force: true });
    throw e;
  }
  commitTemp(temp, file);
}

/** {@link writeFileAtomicSync} with an awaitable test hook (the same two phases). */
export async function writeFileAtomic(file: string, bytes: Uint8Array, hooks: AtomicWriteHooks = {}): Promise<void> {
  const temp = writeTemp(file, bytes);
  try {
    if (hooks.beforeRename) await hooks.beforeRename(temp);
  } catch (e) {
    fs.rmSync(temp, { force: true });
    throw e;
  }
  commitTemp(temp, file);
}

/** Saves `state` (a tree of trees) to `file` atomically with a checksum. */
export async function saveStateFile(file: string, state: unknown, hooks: AtomicWriteHooks = {}): Promise<void> {
  await writeFileAtomic(file, encodeStateFile(state), hooks);
}

/**
 * Loads a checkpoint saved by `saveStateFile`: Right(state with new tensors), or Left with
 * a clear error if the file is missing, truncated, damaged or of another format.
 */
export async function loadStateFile(file: string): Promise<E.Either<Error, unknown>> {
  let bytes: Uint8Array;
  try {
    bytes = await fsp.readFile(file);
  } catch (e) {
    return E.left(new Error(`${file}: cannot read checkpoint: ${(e as Error).message}`));
  }
  return decodeStateFile(bytes, file);
}
