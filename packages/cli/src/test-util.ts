/** Helpers for the CLI's tests: run `main` in-process and capture what it prints. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { main } from './main';

export interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const sink = (chunks: string[]): Writable =>
  new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });

/** Runs `lets <argv>` in this process. */
export async function run(argv: readonly string[]): Promise<Ran> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { stdout: sink(out), stderr: sink(err) });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/** A fresh temporary directory. */
export const tempDir = (prefix = 'lets-cli-'): string => mkdtempSync(join(tmpdir(), prefix));

/** Flags of a tiny, fast, synthetic run (blobs + small MLP on the cpu backend). */
export const TINY = ['--preset', 'smoke', '--train-size', '200', '--test-size', '100', '--batch-size', '20', '--epochs', '2', '--quiet'];
