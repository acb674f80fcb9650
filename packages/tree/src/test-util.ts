import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

/** Tree tests run on the cpu backend; the tree package itself never picks a backend. */
export const useCpu = async (): Promise<void> => {
  await tf.setBackend('cpu');
  await tf.ready();
  // The cpu backend prints a "install tfjs-node" banner on first use; we know.
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
};
