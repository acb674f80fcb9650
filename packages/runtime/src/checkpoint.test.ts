import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs-core';
import { tensorsOf } from '@lets/tree';
import { initRuntime } from './backend';
import { decodeStateFile, encodeStateFile, loadStateFile, saveStateFile, writeFileAtomicSync } from './checkpoint';
import { Rng } from './rng';

function makeState(seed: number) {
  const r = new Rng(seed);
  const special = tf.tensor1d([NaN, -0, Infinity, -Infinity, 1e-45, 3.4e38]);
  return {
    params: { 'conv1/kernel': r.normal([3, 3, 1, 4]), 'dense/bias': special },
    modelState: { 'bn/mean': r.uniform([4]), 'bn/variance': r.uniform([4], 1, 2) },
    optState: [{ count: tf.scalar(7, 'int32'), mu: { 'conv1/kernel': r.normal([3, 3, 1, 4]) } }, {}],
    rng: r.getState(),
    step: 17,
    metadata: { name: 'run-1', lr: 0.1, flags: [true, null], rho: -0 },
  };
}

function bits(t: tf.Tensor): number[] {
  const v = t.dataSync();
  return Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));
}

describe('checkpoints', () => {
  let dir: string;
  beforeAll(async () => {
    await initRuntime({ backend: 'cpu' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lets-ckpt-'));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips a tree of trees bit-exactly through a file, RNG stream included', async () => {
    const state = makeState(1);
    const file = path.join(dir, 'a.ckpt');
    await saveStateFile(file, state);
    const loaded = await loadStateFile(file);
    if (E.isLeft(loaded)) throw loaded.left;
    const back = loaded.right as ReturnType<typeof makeState>;
    expect(back.step).toBe(17);
    expect(back.metadata).toEqual(state.metadata);
    expect(Object.is(back.metadata.rho, -0)).toBe(true);
    expect(Object.keys(back.params)).toEqual(Object.keys(state.params));
    for (const [a, b] of [
      [state.params['conv1/kernel'], back.params['conv1/kernel']],
      [state.params['dense/bias'], back.params['dense/bias']],
      [state.modelState['bn/variance'], back.modelState['bn/variance']],
      [state.optState[0]!.mu!['conv1/kernel'], back.optState[0]!.mu!['conv1/kernel']],
    ] as Array<[tf.Tensor, tf.Tensor]>) {
      expect(b.shape).toEqual(a.shape);
      expect(bits(b)).toEqual(bits(a));
    }
    expect(back.optState[0]!.count!.dtype).toBe('int32');
    expect(back.optState[1]).toEqual({});
    // the restored RNG continues the saved stream
    const r1 = Rng.fromState(state.rng);
    const r2 = Rng.fromState(back.rng);
    expect(r2.nextUint32()).toBe(r1.nextUint32());
    tf.dispose([...tensorsOf(state), ...tensorsOf(back)]);
  });

  it('refuses the file truncated at 20 random offsets, allocating nothing', () => {
    const state = makeState(2);
    const bytes = encodeStateFile(state);
    tf.dispose(tensorsOf(state));
    const before = tf.memory().numTensors;
    const r = new Rng(99);
    for (let i = 0; i < 20; i++) {
      const at = r.nextInt(bytes.length); // 0 … length−1: always at least one byte short
      const res = decodeStateFile(bytes.subarray(0, at), `cut@${at}`);
      expect(E.isLeft(res)).toBe(true);
      if (E.isLeft(res)) expect(res.left.message).toMatch(new RegExp(`^cut@${at}: not a valid checkpoint: `));
    }
    expect(tf.memory().numTensors).toBe(before);
    // and the whole buffer still decodes
    const ok = decodeStateFile(bytes);
    expect(E.isRight(ok)).toBe(true);
    if (E.isRight(ok)) tf.dispose(tensorsOf(ok.right));
  });

  it('refuses a flipped bit (checksum) and trailing garbage', () => {
    const state = makeState(3);
    const bytes = encodeStateFile(state);
    tf.dispose(tensorsOf(state));
    const flipped = Uint8Array.from(bytes);
    flipped[bytes.length - 5] = flipped[bytes.length - 5]! ^ 0x10;
    const a = decodeStateFile(flipped);
    expect(E.isLeft(a) && a.left.message).toMatch(/checksum mismatch .* the file is damaged/);
    const longer = new Uint8Array(bytes.length + 3);
    longer.set(bytes);
    const b = decodeStateFile(longer);
    expect(E.isLeft(b) && b.left.message).toMatch(/trailing bytes/);
  });

  it('a crash between write and rename leaves the previous checkpoint loadable', async () => {
    const file = path.join(dir, 'b.ckpt');
    const first = makeState(4);
    await saveStateFile(file, first);
    const second = makeState(5);
    let tempSeen = '';
    await expect(
      saveStateFile(file, { ...second, step: 18 }, {
        beforeRename: (temp) => {
          tempSeen = temp;
          // the new file is complete and synced, but not yet in place
          expect(fs.existsSync(temp)).toBe(true);
          throw new Error('simulated crash');
        },
      }),
    ).rejects.toThrow('simulated crash');
    expect(path.dirname(tempSeen)).toBe(dir);
    // a real crash would also leave a half-written temp file behind: that must not matter
    fs.writeFileSync(path.join(dir, '.b.ckpt.1234.deadbeef.tmp'), Buffer.from('LETSCKPT'));
    const loaded = await loadStateFile(file);
    if (E.isLeft(loaded)) throw loaded.left;
    expect((loaded.right as { step: number }).step).toBe(17);
    expect(bits((loaded.right as ReturnType<typeof makeState>).params['conv1/kernel'])).toEqual(bits(first.params['conv1/kernel']));
    tf.dispose([...tensorsOf(first), ...tensorsOf(second), ...tensorsOf(loaded.right)]);
  });

  it('reports a missing file by name', async () => {
    const res = await loadStateFile(path.join(dir, 'nope.ckpt'));
    expect(E.isLeft(res) && res.left.message).toMatch(/nope\.ckpt: cannot read checkpoint/);
  });
});

describe('writeFileAtomicSync', () => {
  it('replaces a file whole, creates its folder, and a crash before the rename keeps the old bytes', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lets-atomic-'));
    const file = path.join(dir, 'sub', 'f.bin');
    writeFileAtomicSync(file, Uint8Array.from([1, 2, 3]));
    writeFileAtomicSync(file, Uint8Array.from([4, 5]));
    expect(Array.from(fs.readFileSync(file))).toEqual([4, 5]);
    let seenTemp = '';
    expect(() =>
      writeFileAtomicSync(file, Uint8Array.from([9, 9, 9, 9]), {
        beforeRename: (t) => {
          seenTemp = t;
          expect(Array.from(fs.readFileSync(t))).toEqual([9, 9, 9, 9]); // fully written before the rename
          throw new Error('simulated crash');
        },
      }),
    ).toThrow('simulated crash');
    expect(Array.from(fs.readFileSync(file))).toEqual([4, 5]);
    expect(fs.existsSync(seenTemp)).toBe(false);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['f.bin']);
    fs.rmSync(dir, { recursive: true });
  });
});
