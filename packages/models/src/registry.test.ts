import * as E from 'fp-ts/Either';
import { countParams } from './countParams';
import { createModel, modelNames } from './registry';

describe('model registry', () => {
  it('knows the CLI names', () => {
    expect([...modelNames]).toEqual(expect.arrayContaining(['mlp', 'cnn', 'resnet18', 'wrn-16-8', 'wrn-28-10', 'transformer']));
  });

  it('builds reference models by name with the reference parameter counts', () => {
    const count = (name: string): number => {
      const m = createModel(name);
      if (E.isLeft(m)) throw m.left;
      return countParams(m.right);
    };
    expect(count('resnet18')).toBe(11_173_962);
    expect(count('wrn-16-8')).toBe(10_961_370);
    expect(count('wrn-28-10')).toBe(36_479_194);
    // CIFAR-100 heads change only the last layer: + 512·90 + 90 for ResNet-18.
    const r100 = createModel('resnet18', { numClasses: 100 });
    expect(E.isRight(r100) && countParams(r100.right)).toBe(11_173_962 + 512 * 90 + 90);
  });

  it('passes options through and returns Left with a message for bad names and options', () => {
    const ok = createModel('mlp', { hidden: [3], inputDim: 2, numClasses: 2 });
    expect(E.isRight(ok) && ok.right.paramShapes['dense0/kernel']).toEqual([2, 3]);
    const unknown = createModel('vgg16');
    expect(E.isLeft(unknown) && unknown.left.message).toMatch(/unknown model 'vgg16' \(expected one of mlp, cnn/);
    const badOpt = createModel('cnn', { channels: 'many' });
    expect(E.isLeft(badOpt) && badOpt.left.message).toMatch(/'channels' must be an array/);
    const fixed = createModel('wrn-16-8', { depth: 28 });
    expect(E.isLeft(fixed) && fixed.left.message).toMatch(/'depth' is fixed by the name/);
    const typo = createModel('transformer', { heads: 2 });
    expect(E.isLeft(typo) && typo.left.message).toMatch(/unknown option 'heads'/);
  });
});
