import * as tf from '@tensorflow/tfjs-core';
import { biasRelu, BIAS_RELU_KERNEL } from './layers/biasRelu';
import { useCpu } from './test-util';

// Where the backend has no 'LetsBiasRelu' kernel (cpu here; @lets/native registers one, tested in
// packages/native and packages/train), biasRelu is tf.relu(tf.add(x, b)) with its gradients.
beforeAll(useCpu);

test('without the kernel: the values and gradients of relu(x + b), and no tensor left', () => {
  expect(tf.getKernel(BIAS_RELU_KERNEL, 'cpu')).toBeUndefined();
  const x = tf.tensor([[-1, 0.5, 2], [3, -0.25, -4]]), b = tf.tensor([0.5, -1, 1]), r = tf.tensor([[1, 2, 3], [4, 5, 6]]);
  const before = tf.memory().numTensors;
  const y = biasRelu(x, b);
  expect(Array.from(y.dataSync())).toEqual([0, 0, 3, 3.5, 0, 0]);
  const [dx, db] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(biasRelu(p, q), r)))([x, b]);
  // d/dx = r where x + b > 0; d/db = the column sums of that
  expect(Array.from(dx!.dataSync())).toEqual([0, 0, 3, 4, 0, 0]);
  expect(Array.from(db!.dataSync())).toEqual([4, 0, 3]);
  tf.dispose([y, dx!, db!]);
  expect(tf.memory().numTensors).toBe(before);
  tf.dispose([x, b, r]);
});

test('a bias that is not [C] for x [..., C] is refused, naming both shapes', () => {
  expect(() => biasRelu(tf.zeros([2, 3]), tf.zeros([2]))).toThrow("biasRelu: b must be 1-D with the length of x's last axis, got x [2, 3] and b [2]");
  expect(() => biasRelu(tf.zeros([2, 3]), tf.zeros([1, 3]))).toThrow(/b must be 1-D/);
  expect(() => biasRelu(tf.scalar(1), tf.zeros([1]))).toThrow(/got x \[\] and b \[1\]/);
});
