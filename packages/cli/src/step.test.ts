import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs-core';
import * as data from '@lets/data';
import { disposeState } from '@lets/tree';
import { resolve, trainOptionsOf } from './options';
import { prepareRun, trainStep, Vars } from './train';

describe('trainStep', () => {
  it.each(['sgd', 'sam', 'lets-sam'])('%s: the live tensor count does not grow over many steps', async (method) => {
    const r = resolve('train', ['--preset', 'smoke', '--method', method, '--train-size', '200', '--batch-size', '20', '--every', '2']);
    if (E.isLeft(r)) throw new Error(r.left);
    const ctx = await prepareRun(trainOptionsOf(r.right.values));
    if (E.isLeft(ctx)) throw new Error(ctx.left);
    const { ds, model } = ctx.right;
    const init = model.init(0);
    let vars: Vars = { params: init.params, mstate: init.state, ostate: ctx.right.method.tx.init(init.params) };
    const order = data.batchIndices(ds.train.count, { batchSize: 20, seed: 0, epoch: 0 });
    const counts: number[] = [];
    const losses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const s = await trainStep(ctx.right, vars, order[i % order.length] as Int32Array, i);
      vars = s.vars;
      losses.push(s.loss);
      counts.push(tf.memory().numTensors);
    }
    // After the first ρ update (LETS) the state has its largest shape: no growth from then on.
    // (LETS-SAM drops its pending tangent once ρ is held, past its span of the run: fewer.)
    expect(Math.max(...counts.slice(3))).toBe(counts[3]);
    expect(new Set(counts.slice(-4)).size).toBe(1); // and steady at the end
    expect(losses.every(Number.isFinite)).toBe(true);
    disposeState([vars.params, vars.mstate, vars.ostate]);
  });
});
