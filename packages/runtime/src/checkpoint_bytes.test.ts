import { createHash } from 'crypto';
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs-core';
import { tensorsOf } from '@lets/tree';
import { initRuntime } from './backend';
import * as nodeCodec from './checkpoint';
import * as portable from './checkpoint_bytes';
import { Rng } from './rng';
import { Sha256, sha256Hex } from './sha256';

const hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('checkpoint bytes without Node built-ins', () => {
  beforeAll(async () => {
    await initRuntime({ backend: 'cpu' });
  });

  it('SHA-256 equals Node crypto on every padding boundary and on split updates', () => {
    const r = new Rng(5);
    for (const n of [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 65537]) {
      const bytes = Uint8Array.from({ length: n }, () => r.nextInt(256));
      expect(sha256Hex(bytes)).toBe(hex(bytes));
      const cut = n === 0 ? 0 : r.nextInt(n);
      expect(new Sha256().update(bytes.subarray(0, cut)).update(bytes.subarray(cut)).hex()).toBe(hex(bytes));
    }
    // FIPS 180-4 example "abc"
    expect(sha256Hex(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('encodes the same bytes as the Node entry and as the format before the split (a fixed digest)', () => {
    const state = { w: { a: tf.tensor1d([1.5, -2]), b: tf.tensor2d([[1, 2], [3, 4]], [2, 2], 'int32') }, step: 3, meta: { name: 'x', rho: 0.05 } };
    const a = portable.encodeStateFile(state);
    const b = nodeCodec.encodeStateFile(state);
    expect(a).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    // recorded from the Buffer/crypto implementation at 5d004b7
    expect(a.length).toBe(541);
    expect(hex(a)).toBe('d0b6dd20f9a5f6e80db698ac0c334dd725991566d149e895b012d1f6e0c25264');
    tf.dispose(tensorsOf(state));
  });

  it('round-trips bit-exactly (NaN, −0, ±∞, subnormals, int32, bool) and each decoder reads the other', () => {
    const r = new Rng(11);
    const state = {
      params: { 'conv/kernel': r.normal([3, 3, 2, 4]), special: tf.tensor1d([NaN, -0, Infinity, -Infinity, 1e-45, 3.4e38]) },
      optState: [{ count: tf.scalar(7, 'int32'), mask: tf.tensor1d([true, false, true], 'bool') }],
      rng: r.getState(),
      step: 9,
    };
    const bits = (t: tf.Tensor) => Array.from(new Uint8Array(t.dataSync().buffer.slice(0)));
    const before = tf.memory().numTensors;
    for (const [enc, dec] of [
      [portable.encodeStateFile, nodeCodec.decodeStateFile],
      [nodeCodec.encodeStateFile, portable.decodeStateFile],
      [portable.encodeStateFile, portable.decodeStateFile],
    ] as const) {
      const res = dec(enc(state));
      if (E.isLeft(res)) throw res.left;
      const back = res.right as typeof state;
      expect(back.step).toBe(9);
      expect(back.rng).toEqual(state.rng);
      expect(bits(back.params['conv/kernel'])).toEqual(bits(state.params['conv/kernel']));
      expect(bits(back.params.special)).toEqual(bits(state.params.special));
      expect(back.optState[0]!.count.dtype).toBe('int32');
      expect(Array.from(back.optState[0]!.mask.dataSync())).toEqual([1, 0, 1]);
      tf.dispose(tensorsOf(back));
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(tensorsOf(state));
  });

  it('decodes bytes that sit at an offset inside a larger buffer, and names what is not bytes', () => {
    const state = { w: tf.tensor1d([1, 2, 3]), step: 1 };
    const bytes = portable.encodeStateFile(state);
    const big = new Uint8Array(bytes.length + 7);
    big.set(bytes, 5);
    const res = portable.decodeStateFile(big.subarray(5, 5 + bytes.length));
    expect(E.isRight(res)).toBe(true);
    if (E.isRight(res)) tf.dispose(tensorsOf(res.right));
    const bad = portable.decodeStateFile('LETSCKPT' as unknown as Uint8Array, 'stored');
    expect(E.isLeft(bad) && bad.left.message).toBe('stored: not a valid checkpoint: expected a Uint8Array of checkpoint bytes, got string');
    const floats = portable.decodeStateFile(new Float32Array(4) as unknown as Uint8Array);
    expect(E.isLeft(floats) && floats.left.message).toMatch(/expected a Uint8Array of checkpoint bytes, got Float32Array/);
    tf.dispose(tensorsOf(state));
  });
});
