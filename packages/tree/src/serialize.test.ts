import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { serialize, deserialize } from './serialize';
import { serializeState, deserializeState, flattenState, unflattenState, disposeState } from './state';
import { useCpu } from './test-util';

beforeAll(useCpu);

const bits = (x: tf.Tensor): number[] => Array.from(new Uint32Array(Float32Array.from(x.dataSync()).buffer));

describe('serialize / deserialize', () => {
  it('round-trips float32 bit for bit (NaN payload, -0, subnormals), int32 and bool', () => {
    const f = new Float32Array([1.5, -0, 1e-45, 3.4e38, NaN, -Infinity]);
    new Uint32Array(f.buffer)[4] = 0x7fc00abc; // a NaN with a payload
    const t = { 'a/f': tf.tensor(f, [2, 3]), 'b/i': tf.tensor1d([-7, 2 ** 31 - 1], 'int32'), c: tf.tensor1d([true, false, true], 'bool') };
    const { manifest, data } = serialize(t);
    expect(manifest.entries.map((e) => e.path)).toEqual(['a/f', 'b/i', 'c']);
    const back = E.getOrElseW((e: Error) => { throw e; })(deserialize(JSON.parse(JSON.stringify(manifest)), data));
    expect(Object.keys(back)).toEqual(['a/f', 'b/i', 'c']);
    expect(bits(back['a/f'] as tf.Tensor)).toEqual(Array.from(new Uint32Array(f.buffer)));
    expect(back['a/f']?.shape).toEqual([2, 3]);
    expect(Array.from((back['b/i'] as tf.Tensor).dataSync())).toEqual([-7, 2 ** 31 - 1]);
    expect(back.c?.dtype).toBe('bool');
    expect(Array.from((back.c as tf.Tensor).dataSync())).toEqual([1, 0, 1]);
  });

  it('refuses a truncated buffer and a manifest that does not fit it, naming the problem', () => {
    const { manifest, data } = serialize({ w: tf.ones([4]) });
    const short = deserialize(manifest, data.slice(0, 10));
    expect(E.isLeft(short) && short.left.message).toMatch(/data has 10 bytes; the manifest expects 16/);
    const bad = { ...manifest, entries: [{ ...manifest.entries[0], shape: [5] }] };
    const r = deserialize(bad, data);
    expect(E.isLeft(r) && r.left.message).toMatch(/leaf 'w' has byteLength 16; shape and dtype need 20/);
    const wrong = deserialize({ format: 'other' }, data);
    expect(E.isLeft(wrong) && wrong.left.message).toMatch(/not a 'lets-tree'/);
    expect(() => serialize({ s: tf.tensor1d(['x']) as tf.Tensor })).toThrow(/leaf 's' has dtype 'string'/);
  });
});

describe('nested state', () => {
  it('flattens to readable paths and rebuilds the same structure', () => {
    const m = tf.zeros([2]);
    const state = [{ count: 3, mu: { 'conv/kernel': m } }, { hyper: { lr: 0.1 }, tag: 'adam', on: true, none: null }];
    const { tensors, skeleton } = flattenState(state);
    expect(Object.keys(tensors)).toEqual(['0/mu/conv/kernel']);
    expect(unflattenState(tensors, JSON.parse(JSON.stringify(skeleton)))).toEqual(state);
  });

  it('round-trips numbers JSON cannot hold and tensors bit for bit', () => {
    const state = { a: NaN, b: -Infinity, c: -0, d: 0.1 + 0.2, e: undefined, t: tf.tensor1d([0.1, -0]) };
    const { manifest, data } = serializeState(state);
    const back = E.getOrElseW((e: Error) => { throw e; })(deserializeState(JSON.parse(JSON.stringify(manifest)), data)) as typeof state;
    expect(Number.isNaN(back.a)).toBe(true);
    expect(back.b).toBe(-Infinity);
    expect(Object.is(back.c, -0)).toBe(true);
    expect(back.d).toBe(0.1 + 0.2);
    expect('e' in back && back.e === undefined).toBe(true);
    expect(bits(back.t)).toEqual(bits(state.t));
  });

  it('refuses reserved keys and foreign manifests', () => {
    expect(() => flattenState({ $tensor: 1 })).toThrow(/reserved/);
    expect(E.isLeft(deserializeState({ format: 'lets-tree' }, new Uint8Array()))).toBe(true);
  });
});

describe('disposeState', () => {
  it('disposes every tensor in nested state once and nothing else', () => {
    const keep = tf.ones([1]);
    const shared = tf.zeros([2]);
    const state = { a: [shared, { b: shared }], c: tf.ones([3]), n: 1 };
    const before = tf.memory().numTensors;
    disposeState(state);
    expect(before - tf.memory().numTensors).toBe(2);
    expect(keep.isDisposed).toBe(false);
  });
});
