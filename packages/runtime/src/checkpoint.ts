/**
 * Checkpoints: a tree of trees (params, model state, optimizer state, RNG state, step,
 * metadata: any nested state of @lets/tree's `StateValue` kind) in one file, written
 * atomically and verified before anything is returned.
 *
 * Layout (little-endian):
 *   "LETSCKPT"  u32 headerLength  header (UTF-8 JSON)  manifest (UTF-8 JSON)  data (tensor bytes)
 *   header = { format: 'lets-checkpoint', version: 1, manifestBytes, dataBytes, sha256 }
 *   sha256 = SHA-256 over manifest ‖ data, hex.
 * Loading checks the magic, the header, the exact file length and the checksum before
 * parsing anything else, so a truncated or damaged file is refused whole (Left), never
 * half-loaded. Writing: temporary file in the same directory → write → fsync → rename over
 * the target → fsync the directory, so a crash at any point leaves either the previous
 * checkpoint or the new one.
 */
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import { promises as fsp } from 'fs';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { deserializeState, serializeState } from '@lets/tree';

const MAGIC = Buffer.from('LETSCKPT', 'ascii');
const MAX_HEADER = 64 * 1024;

interface Header {
  readonly format: 'lets-checkpoint';
  readonly version: 1;
  readonly manifestBytes: number;
  readonly dataBytes: number;
  readonly sha256: string;
}

function sha256(...parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** The bytes of a checkpoint of `state` (pure; tensors are read, not disposed). */
export function encodeCheckpoint(state: unknown): Uint8Array {
  const { manifest, data } = serializeState(state);
  const manifestBytes = Buffer.from(JSON.stringify(manifest), 'utf8');
  const header: Header = {
    format: 'lets-checkpoint',
    version: 1,
    manifestBytes: manifestBytes.length,
    dataBytes: data.byteLength,
    sha256: sha256(manifestBytes, data),
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(headerBytes.length, 0);
  return Buffer.concat([MAGIC, len, headerBytes, manifestBytes, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

/**
 * Verifies and decodes checkpoint bytes into nested state with new tensors (owned by the
 * caller). Left with a message naming what is wrong; nothing is allocated on failure.
 */
export function decodeCheckpoint(bytes: Uint8Array, source = 'checkpoint'): E.Either<Error, unknown> {
  const fail = (why: string) => E.left(new Error(`${source}: not a valid checkpoint: ${why}`));
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 12 || !buf.subarray(0, 8).equals(MAGIC)) return fail('missing the LETSCKPT signature (wrong file, or truncated)');
  const headerLength = buf.readUInt32LE(8);
  if (headerLength > MAX_HEADER || 12 + headerLength > buf.length) return fail(`truncated inside the header (${buf.length} bytes)`);
  let header: Header;
  try {
    header = JSON.parse(buf.subarray(12, 12 + headerLength).toString('utf8')) as Header;
  } catch {
    return fail('the header is not valid JSON (damaged)');
  }
  if (header.format !== 'lets-checkpoint' || header.version !== 1) {
    return fail(`unsupported format ${JSON.stringify(header.format)} version ${JSON.stringify(header.version)}`);
  }
  const ok = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  if (!ok(header.manifestBytes) || !ok(header.dataBytes) || typeof header.sha256 !== 'string') return fail('the header is damaged');
  const expected = 12 + headerLength + header.manifestBytes + header.dataBytes;
  if (buf.length !== expected) {
    return fail(`length is ${buf.length} bytes, the header says ${expected} (${buf.length < expected ? 'truncated' : 'trailing bytes'})`);
  }
  const manifestBytes = buf.subarray(12 + headerLength, 12 + headerLength + header.manifestBytes);
  const data = buf.subarray(12 + headerLength + header.manifestBytes);
  const sum = sha256(manifestBytes, data);
  if (sum !== header.sha256) return fail(`checksum mismatch (sha256 ${sum.slice(0, 16)}…, header says ${header.sha256.slice(0, 16)}…): the file is damaged`);
  let manifest: unknown;
  try {
    manifest = JSON.parse(manifestBytes.toString('utf8'));
  } catch {
    return fail('the manifest is not valid JSON');
  }
  // copy so the tensors do not alias the file buffer
  const own = new Uint8Array(data.length);
  own.set(data);
  return E.mapLeft((e: Error) => new Error(`${source}: not a valid checkpoint: ${e.message}`))(deserializeState(manifest, own));
}

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
export async function saveCheckpoint(file: string, state: unknown, hooks: AtomicWriteHooks = {}): Promise<void> {
  await writeFileAtomic(file, encodeCheckpoint(state), hooks);
}

/**
 * Loads a checkpoint saved by `saveCheckpoint`: Right(state with new tensors), or Left with
 * a clear error if the file is missing, truncated, damaged or of another format.
 */
export async function loadCheckpoint(file: string): Promise<E.Either<Error, unknown>> {
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(file);
  } catch (e) {
    return E.left(new Error(`${file}: cannot read checkpoint: ${(e as Error).message}`));
  }
  return decodeCheckpoint(bytes, file);
}
