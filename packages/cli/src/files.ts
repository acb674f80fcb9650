/**
 * The run directory on disk. Every file is written atomically (a temporary file in the same
 * directory, fsync, rename), so a run killed at any moment leaves either the old or the new
 * version of each file, never half of one. Metrics are JSON lines appended as training goes.
 *
 * Layout of a run directory:
 *   config.json              the resolved training options (everything needed to rerun it)
 *   metrics.jsonl            one JSON object a line: {"type":"step",…} and {"type":"epoch",…}
 *   checkpoints/last.ckpt    the latest state (params, model state, optimizer state, counters)
 *   checkpoints/best.ckpt    the state at the epoch with the best validation accuracy
 *   summary.json             the final summary (what --json prints)
 *   report.html              the self-contained report
 */
import * as E from 'fp-ts/Either';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { decodeCheckpoint as runtimeDecode, encodeCheckpoint as runtimeEncode, writeFileAtomicSync } from '@lets/runtime';

/** Writes `data` (text as UTF-8) to `file` atomically: @lets/runtime's temp file + fsync + rename. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  writeFileAtomicSync(file, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
}

export const writeJsonAtomic = (file: string, value: unknown): void => writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);

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

/** Appends JSON lines to a file (opened once; each line is one write). */
export class JsonLinesWriter {
  private readonly fd: number;
  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.fd = openSync(file, 'a');
  }
  write(record: Record<string, unknown>): void {
    writeSync(this.fd, `${JSON.stringify(record)}\n`);
  }
  close(): void {
    fsyncSync(this.fd);
    closeSync(this.fd);
  }
}

/**
 * A checkpoint file is @lets/runtime's checkpoint format (magic, header with a SHA-256 of the
 * contents, the @lets/tree state manifest, the raw tensor bytes) holding `{meta, state}`: a
 * damaged or truncated file is refused whole. One file, so one atomic rename replaces it.
 */
export function encodeCheckpoint(meta: Record<string, unknown>, state: unknown): Uint8Array {
  return runtimeEncode({ meta, state });
}

export function writeCheckpoint(file: string, meta: Record<string, unknown>, state: unknown): void {
  writeFileAtomic(file, encodeCheckpoint(meta, state));
}

/** Reads a checkpoint: its meta and the state (tensors owned by the caller). */
export function readCheckpoint(file: string): E.Either<string, { meta: Record<string, unknown>; state: unknown }> {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    return E.left(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such checkpoint' : (e as Error).message}`);
  }
  const decoded = runtimeDecode(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), file);
  if (E.isLeft(decoded)) return E.left(decoded.left.message.startsWith(file) ? decoded.left.message : `${file}: ${decoded.left.message}`);
  const v = decoded.right as { meta?: Record<string, unknown>; state?: unknown } | null;
  if (v === null || typeof v !== 'object' || typeof v.meta !== 'object' || !('state' in v)) {
    return E.left(`${file}: not a lets run checkpoint (expected {meta, state})`);
  }
  return E.right({ meta: v.meta, state: v.state });
}
