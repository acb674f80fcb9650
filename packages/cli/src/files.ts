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
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { deserializeState, serializeState } from '@lets/tree';

/** Writes `data` to `file` atomically: temp file + fsync + rename (+ fsync of the directory). */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${Date.now()}-${process.pid}-${Math.random().toString(36).slice(2)}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.byteLength) off += writeSync(fd, buf, off, buf.byteLength - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, file);
  try {
    const dfd = openSync(dir, 'r');
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    /* some filesystems refuse fsync on a directory; the rename is still atomic */
  }
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

const MAGIC = 'LETSCKPT1\n';

/**
 * A checkpoint file: the magic line, a 4-byte little-endian header length, the JSON header
 * (`meta` and the @lets/tree state manifest), then the raw tensor bytes. One file, so one
 * atomic rename replaces it whole.
 */
export function encodeCheckpoint(meta: Record<string, unknown>, state: unknown): Uint8Array {
  const { manifest, data } = serializeState(state);
  const header = Buffer.from(JSON.stringify({ meta, manifest }), 'utf8');
  const out = Buffer.alloc(MAGIC.length + 4 + header.byteLength + data.byteLength);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(header.byteLength, MAGIC.length);
  header.copy(out, MAGIC.length + 4);
  Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, MAGIC.length + 4 + header.byteLength);
  return out;
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
  if (buf.byteLength < MAGIC.length + 4 || buf.toString('latin1', 0, MAGIC.length) !== MAGIC) {
    return E.left(`${file}: not a lets checkpoint (bad magic)`);
  }
  const n = buf.readUInt32LE(MAGIC.length);
  if (MAGIC.length + 4 + n > buf.byteLength) return E.left(`${file}: truncated checkpoint header`);
  let header: { meta: Record<string, unknown>; manifest: unknown };
  try {
    header = JSON.parse(buf.toString('utf8', MAGIC.length + 4, MAGIC.length + 4 + n)) as typeof header;
  } catch {
    return E.left(`${file}: checkpoint header is not JSON`);
  }
  const start = MAGIC.length + 4 + n;
  const data = new Uint8Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.byteLength));
  const st = deserializeState(header.manifest, data);
  return E.isLeft(st) ? E.left(`${file}: ${st.left.message}`) : E.right({ meta: header.meta, state: st.right });
}
