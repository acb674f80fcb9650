/** One composition style: every wrapper takes the transformation it wraps first (optax's nesting). */
import { adam, applyIfFinite, identity, injectHyperparams, masked, multiSteps } from './index';

describe('wrappers nest as optax does: wrapper(inner, options)', () => {
  it('the old curried calls fail, naming the new form', () => {
    const notBias = (p: string) => !p.endsWith('bias');
    expect(() => (masked as any)(notBias)).toThrow(/masked: expected the transformation to wrap as the first argument, got function; wrappers nest as optax's do: masked\(inner, mask\)/);
    expect(() => (multiSteps as any)(2)).toThrow(/multiSteps: expected the transformation to wrap as the first argument, got number; .*multiSteps\(inner, k\)/);
    expect(() => (applyIfFinite as any)()).toThrow(/applyIfFinite: expected the transformation to wrap as the first argument, got undefined; .*applyIfFinite\(inner, \{ maxConsecutiveErrors \}\)/);
    expect(() => (injectHyperparams as any)((h: { lr: number }) => adam(h.lr))).toThrow(
      /injectHyperparams: expected the hyperparameters \{ name: number \| schedule \} as the second argument, got undefined; .*injectHyperparams\(factory, hyperparams\)/,
    );
  });
  it('a bad mask names what a mask is', () => {
    expect(() => masked(identity(), 3 as never)).toThrow(/masked: mask must be a predicate \(path, x\) => boolean or a tree of booleans, got number/);
  });
  it('the nested forms build transformations', () => {
    for (const t of [masked(adam(1e-3), () => true), multiSteps(adam(1e-3), 2), applyIfFinite(adam(1e-3)), injectHyperparams((h: { lr: number }) => adam(h.lr), { lr: 1e-3 })]) {
      expect(typeof t.init).toBe('function');
      expect(typeof t.update).toBe('function');
    }
  });
});
