// --seq-len: the token count of a text dataset's examples, and the model built for it.
import * as E from 'fp-ts/Either';
import { resolve, trainOptionsOf } from './options';
import { buildModel, loadData } from './setup';

const optionsOf = (argv: string[]) => {
  const r = resolve('train', argv);
  if (E.isLeft(r)) throw new Error(r.left);
  return trainOptionsOf(r.right.values);
};

describe('--seq-len', () => {
  it('sets the tokens per spam example, and the Transformer follows it', () => {
    const o = optionsOf(['--dataset', 'spam', '--model', 'transformer', '--train-size', '100', '--seq-len', '24']);
    expect(o.seqLen).toBe(24);
    const ds = loadData(o);
    if (E.isLeft(ds)) throw new Error(ds.left);
    expect(ds.right.inputShape).toEqual([24]);
    const m = buildModel(o, ds.right);
    if (E.isLeft(m)) throw new Error(m.left);
    expect(m.right.inputShape).toEqual([24]);
    // 0 (the default) keeps the dataset's own length.
    const d0 = loadData(optionsOf(['--dataset', 'spam', '--train-size', '100']));
    expect(E.isRight(d0) && d0.right.inputShape).toEqual([128]);
  });
  it('is refused for a dataset that is not text, naming both', () => {
    const r = loadData(optionsOf(['--dataset', 'mnist', '--seq-len', '24']));
    expect(r).toEqual(E.left('--seq-len 24: --dataset mnist is not a text dataset (expected one of spam, text)'));
  });
});
