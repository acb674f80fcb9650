import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs-core';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initRuntime } from '@lets/runtime';
import { encodeCheckpoint, loadCheckpoint } from '@lets/train';
import { readCheckpoint, readJsonLines, writeCheckpoint, writeRunFile } from './files';
import { tempDir } from './test-util';

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' });
});

describe('run-directory files', () => {
  it('writes atomically: the content is replaced whole and no temporary file is left', () => {
    const dir = tempDir();
    const f = join(dir, 'a.json');
    writeRunFile(f, 'one');
    writeRunFile(f, 'two');
    expect(readFileSync(f, 'utf8')).toBe('two');
    expect(readdirSync(dir)).toEqual(['a.json']);
  });

  it('round-trips a checkpoint bit for bit (params, nested optimizer state, numbers) without leaking tensors', () => {
    const dir = tempDir();
    const before = tf.memory().numTensors;
    const state = {
      params: { 'dense/kernel': tf.tensor2d([[1.5, -2], [Math.PI, 1e-30]]), 'dense/bias': tf.tensor1d([0.1, -0]) },
      modelState: {},
      optState: [{ count: 7, mu: tf.tensor1d([3, 4]) }, { rho: 0.05 }],
      step: 7,
      epoch: 1,
    };
    writeCheckpoint(join(dir, 'x.ckpt'), state, { counters: { step: 7 } });
    const r = readCheckpoint(join(dir, 'x.ckpt'));
    if (E.isLeft(r)) throw new Error(r.left);
    expect(r.right.meta).toEqual({ counters: { step: 7 } });
    expect([r.right.step, r.right.epoch]).toEqual([7, 1]);
    const back = r.right as unknown as typeof state;
    const bits = (t: tf.Tensor): string => Buffer.from((t.dataSync() as Float32Array).buffer).toString('hex');
    expect(bits(back.params['dense/kernel'])).toBe(bits(state.params['dense/kernel']));
    expect(bits(back.params['dense/bias'])).toBe(bits(state.params['dense/bias']));
    expect(back.optState[0]?.count).toBe(7);
    expect(bits(back.optState[0]?.mu as tf.Tensor)).toBe(bits(state.optState[0]?.mu as tf.Tensor));
    expect(back.optState[1]).toEqual({ rho: 0.05 });
    tf.dispose([...Object.values(state.params), ...Object.values(back.params), state.optState[0]?.mu as tf.Tensor, back.optState[0]?.mu as tf.Tensor]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a checkpoint holding NaN or Inf, naming the tensor, and leaks nothing', () => {
    const dir = tempDir();
    const before = tf.memory().numTensors;
    const good = tf.tensor1d([1, 2]);
    const bad = tf.tensor1d([1, Infinity]);
    writeCheckpoint(join(dir, 'inf.ckpt'), { params: { w: good }, modelState: {}, optState: [{ mu: bad }], step: 0, epoch: 0 }, {});
    tf.dispose([good, bad]);
    const r = readCheckpoint(join(dir, 'inf.ckpt'));
    expect(E.isLeft(r) && r.left).toContain('non-finite values (optState/0/mu: Infinity)');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a file that is not a checkpoint, or a truncated one', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'bad.ckpt'), 'hello');
    const bad = readCheckpoint(join(dir, 'bad.ckpt'));
    expect(E.isLeft(bad) && bad.left.startsWith(`${join(dir, 'bad.ckpt')}: not a valid checkpoint`)).toBe(true);
    const t = tf.tensor1d([1, 2, 3]);
    const bytes = encodeCheckpoint({ params: { t }, modelState: {}, optState: {}, step: 0, epoch: 0 }, {});
    t.dispose();
    writeFileSync(join(dir, 'cut.ckpt'), bytes.subarray(0, bytes.byteLength - 4));
    const r = readCheckpoint(join(dir, 'cut.ckpt'));
    expect(E.isLeft(r) && r.left.includes('truncated')).toBe(true);
    expect(readCheckpoint(join(dir, 'none.ckpt'))).toEqual(E.left(`${join(dir, 'none.ckpt')}: no such checkpoint`));
  });

  it("writes the library's one format: @lets/train's loadCheckpoint reads it, meta included, and readCheckpoint refuses a state without meta", async () => {
    const dir = tempDir();
    const before = tf.memory().numTensors;
    const w = tf.tensor1d([1, -2]);
    const state = { params: { w }, modelState: {}, optState: { rho: 0.1 }, step: 3, epoch: 1, batchInEpoch: 2, best: 0.5 };
    writeCheckpoint(join(dir, 'r.ckpt'), state, { config: { method: 'sam' }, metricsBytes: 10, best: null });
    const lib = await loadCheckpoint(join(dir, 'r.ckpt'));
    if (E.isLeft(lib)) throw lib.left;
    expect(lib.right.meta).toEqual({ config: { method: 'sam' }, metricsBytes: 10, best: null });
    expect([lib.right.step, lib.right.epoch, lib.right.batchInEpoch, lib.right.best, lib.right.optState]).toEqual([3, 1, 2, 0.5, { rho: 0.1 }]);
    expect(Array.from(lib.right.params['w']!.dataSync())).toEqual([1, -2]);
    tf.dispose(lib.right.params['w']!);
    writeFileSync(join(dir, 'plain.ckpt'), encodeCheckpoint(state));
    w.dispose();
    const plain = readCheckpoint(join(dir, 'plain.ckpt'));
    expect(E.isLeft(plain) && plain.left).toContain('not a lets run checkpoint');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reads JSON lines, ignoring a torn last line but not a broken middle one', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'm.jsonl'), '{"a":1}\n{"a":2}\n{"a":');
    expect(readJsonLines(join(dir, 'm.jsonl'))).toEqual(E.right([{ a: 1 }, { a: 2 }]));
    writeFileSync(join(dir, 'n.jsonl'), '{"a":1}\n{"a\n{"a":3}\n');
    expect(E.isLeft(readJsonLines(join(dir, 'n.jsonl')))).toBe(true);
  });
});
