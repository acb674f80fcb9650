/**
 * The run directory on disk. Every file is written atomically (a temporary file in the same
 * directory, fsync, rename), so a run killed at any moment leaves either the old or the new
 * version of each file, never half of one. Metrics are JSON lines appended as training goes.
 *
 * Layout of a run directory:
 *   config.json              the resolved training options (everything needed to rerun it)
 *   metrics.jsonl            one JSON object a line: {"type":"step",…} and {"type":"epoch",…}
 *   checkpoints/last.ckpt    the latest state (@lets/train's checkpoint: TrainState + meta)
 *   checkpoints/best.ckpt    the state at the epoch with the best validation accuracy
 *   summary.json             the final summary (what --json prints), once the run is finished
 *   report.html              the self-contained report
 *   lock                     while a process writes the directory (./lock.ts)
 * last.ckpt is the commit point of a run (see `train` in ./train.ts for the commit order).
 */
import * as E from 'fp-ts/Either';
import { closeSync, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { flattenState, disposeState } from '@lets/tree';
import { writeFileAtomicSync } from '@lets/runtime';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint, type CheckpointMeta, type TrainState } from '@lets/train';
import { fault } from './faults';
import { nonFiniteHost } from './finite';

/**
 * A file of a run directory: `data` (text as UTF-8) written to `file` atomically (@lets/runtime's
 * `writeFileAtomicSync`: temp file + fsync + rename), through the command's fault points.
 * Fault points (./faults.ts): `before:<name>` before the temporary file is written,
 * `rename:<name>` between its fsync and the rename, `after:<name>` once it is in place
 * (`name`: the file's base name unless given).
 */
export function writeRunFile(file: string, data: string | Uint8Array, name = basename(file)): void {
  fault(`before:${name}`, file);
  writeFileAtomicSync(file, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, { beforeRename: () => void fault(`rename:${name}`, file) });
  fault(`after:${name}`, file);
}

export const writeJsonAtomic = (file: string, value: unknown): void => writeRunFile(file, `${JSON.stringify(value, null, 2)}\n`);

/** Reads a JSON file; Left names the file and the problem. */
export function readJson(file: string): E.Either<string, unknown> {
  return E.tryCatch(
    () => JSON.parse(readFileSync(file, 'utf8')) as unknown,
    (e) => `${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
  );
}

/** Reads a JSON-lines file, skipping a torn last line (a kill during an append). */
export function readJsonLines(file: string): E.Either<string, readonly Record<string, unknown>[]> {
  return E.tryCatch(
    () => {
      if (!existsSync(file)) return [];
      const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
      const out: Record<string, unknown>[] = [];
      lines.forEach((l, i) => {
        try {
          out.push(JSON.parse(l) as Record<string, unknown>);
        } catch (e) {
          if (i !== lines.length - 1) throw new Error(`${file}: line ${i + 1} is not JSON`);
        }
      });
      return out;
    },
    (e) => (e as Error).message,
  );
}

/**
 * Appends JSON lines to a file (opened once; each line is one write). `bytes` is the file's
 * length after the lines written so far: a checkpoint records it (after `sync`), and a resume
 * truncates the file back to it, so no line is kept twice.
 */
export class JsonLinesWriter {
  private readonly fd: number;
  private length: number;
  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.fd = openSync(file, 'a');
    this.length = fstatSync(this.fd).size;
  }
  get bytes(): number {
    return this.length;
  }
  write(record: Record<string, unknown>): void {
    const line = Buffer.from(`${JSON.stringify(record)}\n`, 'utf8');
    fault('before:metrics.jsonl', this.file);
    let off = 0;
    while (off < line.length) off += writeSync(this.fd, line, off, line.length - off);
    this.length += line.length;
  }
  /** Makes the lines written so far durable (before a checkpoint names their length). */
  sync(): void {
    fsyncSync(this.fd);
  }
  close(): void {
    fsyncSync(this.fd);
    closeSync(this.fd);
  }
}

/**
 * A checkpoint file is the library's one format (@lets/train's `encodeCheckpoint`: runtime's
 * checksummed bytes holding the TrainState and this command's `meta`), so @lets/train's
 * `loadCheckpoint` reads a run's checkpoints; a damaged or truncated file is refused whole. One
 * file, so one atomic rename (with this module's fault points) replaces it. Returns its digest.
 */
export function writeCheckpoint(file: string, state: TrainState<unknown>, meta: CheckpointMeta, name?: string): string {
  const bytes = encodeCheckpoint(state, meta);
  writeRunFile(file, bytes, name);
  return digestOf(bytes);
}

/** The SHA-256 a checkpoint's header records for its contents (its identity), from its bytes. */
function digestOf(bytes: Uint8Array): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = buf.readUInt32LE(8);
  return (JSON.parse(buf.subarray(12, 12 + n).toString('utf8')) as { sha256: string }).sha256;
}

/** The digest of a checkpoint file (its header's SHA-256), or undefined when it is missing or unreadable. Reads only the header. */
export function checkpointDigest(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const head = Buffer.alloc(12);
    if (readSync(fd, head, 0, 12, 0) !== 12 || head.subarray(0, 8).toString('ascii') !== 'LETSCKPT') return undefined;
    const n = head.readUInt32LE(8);
    if (n > 64 * 1024) return undefined;
    const header = Buffer.alloc(n);
    if (readSync(fd, header, 0, n, 12) !== n) return undefined;
    const sha = (JSON.parse(header.toString('utf8')) as { sha256?: unknown }).sha256;
    return typeof sha === 'string' ? sha : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** A run's checkpoint: the training state (tensors owned by the caller) and the command's meta. */
export type RunCheckpoint = Checkpoint<unknown> & { readonly meta: Readonly<Record<string, unknown>> };

/** Reads a checkpoint (the library's format, with a meta), refusing non-finite states. */
export function readCheckpoint(file: string): E.Either<string, RunCheckpoint> {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    return E.left(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such checkpoint' : (e as Error).message}`);
  }
  const decoded = decodeCheckpoint(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), file);
  if (E.isLeft(decoded)) return E.left(decoded.left.message.startsWith(file) ? decoded.left.message : `${file}: ${decoded.left.message}`);
  const v = decoded.right;
  if (v.meta === undefined) {
    disposeState(v);
    return E.left(`${file}: not a lets run checkpoint (a training state without the command's meta)`);
  }
  // A diverged state is never a starting point: refuse NaN/Inf before anyone computes with it.
  const bad = nonFiniteHost(flattenState({ params: v.params, modelState: v.modelState, optState: v.optState }).tensors);
  if (bad !== undefined) {
    disposeState(v);
    return E.left(`${file}: holds non-finite values (${bad}); a diverged run's state is not loaded (resume from an earlier checkpoint or start again with a lower --lr or ρ)`);
  }
  return E.right(v as RunCheckpoint);
}
