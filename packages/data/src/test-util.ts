// Test helpers: temporary directories and hand-built file bytes. The byte builders here are
// written from the format specs independently of the parsers they test.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as E from 'fp-ts/Either';

export function tempDir(tag: string): { dir: string; path: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `lets-data-${tag}-`));
  return { dir, path: (n) => join(dir, n), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** IDX bytes: 00 00 08 nd, big-endian dims, data. */
export function idxBytes(dims: number[], data: ArrayLike<number>): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(Array.from(data))]);
}

export function writeFile(path: string, bytes: Uint8Array | string, gzip = false): string {
  writeFileSync(path, gzip ? gzipSync(bytes) : bytes);
  return path;
}

/** Deterministic bytes for fixtures (a linear congruential sequence, unrelated to the package's PRNG). */
export function lcgBytes(n: number, seed: number, mod = 256): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 24) % mod;
  });
}

export function right<A>(r: E.Either<Error, A>): A {
  if (E.isLeft(r)) throw new Error(`expected Right, got Left: ${r.left.message}`);
  return r.right;
}

export function leftMessage<A>(r: E.Either<Error, A>): string {
  if (E.isRight(r)) throw new Error('expected Left, got Right');
  return r.left.message;
}
