/**
 * Behaviour on a two-basin landscape: f(x, y) = −exp(−(x−2)² − y²) − exp(−(x² + 100y²)) has a
 * sharp minimum near the origin (curvature 200 along y) and a flat one near (2, 0). From
 * (−0.4, −0.4), SGD with momentum settles in the sharp basin; SAM's ascent along y makes the
 * sharp basin's walls push it out, and it ends in the flat one. (The settings were picked with a
 * float32 simulation of both runs: with lr 0.01 and momentum 0.9 both settle within
 * 400 steps; lr 0.015 is too close to the sharp basin's stability limit and cycles in float32.)
 */
import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import { sgd, type GradFn } from '@lets/optim';
import { runSteps, setup } from './test-util';
import { sam } from './presets';

beforeAll(setup);

const f = (x: tf.Tensor, y: tf.Tensor): tf.Scalar =>
  tf.tidy(() => {
    const flat = tf.exp(tf.neg(tf.add(tf.square(tf.sub(x, 2)), tf.square(y))));
    const sharp = tf.exp(tf.neg(tf.add(tf.square(x), tf.mul(tf.square(y), 100))));
    return tf.neg(tf.add(flat, sharp)) as tf.Scalar;
  });

const gradFn: GradFn = (params: Params) => {
  const { value, grads } = tf.valueAndGrads((x: tf.Tensor, y: tf.Tensor) => f(x, y))([params.x as tf.Tensor, params.y as tf.Tensor]);
  return { loss: value, grads: T.fromEntries([['x', grads[0] as tf.Tensor], ['y', grads[1] as tf.Tensor]]) };
};

const finalPoint = (opt: Parameters<typeof runSteps>[0]): [number, number] => {
  const run = runSteps(opt, 400, gradFn, {}, { x: [-0.4], y: [-0.4] }, []);
  const last = run[run.length - 1]!;
  return [last[0]![0]!, last[1]![0]!];
};

it('plain SGD ends in the sharp minimum near the origin, SAM in the flat one near (2, 0)', () => {
  const before = tf.memory().numTensors;
  const outer = () => sgd(0.01, { momentum: 0.9 });
  const [xs, ys] = finalPoint(outer());
  const [xa, ya] = finalPoint(sam(outer(), { rho: 0.05 }));
  // the sharp basin's minimum sits at x ≈ 0.04 (the flat basin tilts it), y = 0
  expect(Math.abs(xs)).toBeLessThan(0.1);
  expect(Math.abs(ys)).toBeLessThan(0.01);
  expect(Math.abs(xa - 2)).toBeLessThan(0.1);
  expect(Math.abs(ya)).toBeLessThan(0.02);
  expect(tf.memory().numTensors).toBe(before);
});
