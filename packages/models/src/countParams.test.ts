import { countParams, countState } from './countParams';
import { cnn } from './cnn';
import { mlp } from './mlp';
import { resnet18 } from './resnet';
import { transformer } from './transformer';
import { wideResnet } from './wideResnet';

// Reference counts of the architectures as used in the SAM literature (PyTorch
// `sum(p.numel() for p in model.parameters())`, BN running statistics excluded).
describe('countParams against the reference architectures (shapes only, nothing allocated)', () => {
  it('ResNet-18 for CIFAR-10 has 11,173,962 parameters', () => {
    expect(countParams(resnet18())).toBe(11_173_962);
  });

  it('WRN-28-10 for CIFAR-10 has 36,479,194 parameters', () => {
    expect(countParams(wideResnet({ depth: 28, widen: 10 }))).toBe(36_479_194);
  });

  it('WRN-16-8 for CIFAR-10 has 10,961,370 parameters', () => {
    expect(countParams(wideResnet({ depth: 16, widen: 8 }))).toBe(10_961_370);
  });

  it('BN state has two entries per BN channel: ResNet-18 has 2 × 4,800 BN channels', () => {
    // BN channels: stem 64; stage1 4×64; stage2 4×128 + 128 (shortcut); stage3 4×256 + 256;
    // stage4 4×512 + 512 → 64 + 256 + 640 + 1280 + 2560 = 4,800.
    expect(countState(resnet18())).toBe(2 * 4800);
  });

  it('MLP 784-256-256-10 counts by hand: 784·256+256 + 256·256+256 + 256·10+10', () => {
    expect(countParams(mlp())).toBe(784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10);
  });

  it('default CNN on 28×28×1: conv(1→16) + conv(16→32) + dense(7·7·32→128) + dense(128→10)', () => {
    const byHand = 3 * 3 * 1 * 16 + 16 + 3 * 3 * 16 * 32 + 32 + 7 * 7 * 32 * 128 + 128 + 128 * 10 + 10;
    expect(countParams(cnn())).toBe(byHand);
    expect(byHand).toBe(206_922);
    // CIFAR input: 32 → 16 → 8 after two pools, 3 input channels.
    const cifar = 3 * 3 * 3 * 16 + 16 + 3 * 3 * 16 * 32 + 32 + 8 * 8 * 32 * 128 + 128 + 128 * 10 + 10;
    expect(countParams(cnn({ inputShape: [32, 32, 3] }))).toBe(cifar);
  });

  it('Transformer counts by hand (embeddings + per-layer LN/attention/MLP + final LN + head)', () => {
    const [V, L, d, f, C, layers] = [100, 16, 8, 32, 3, 2];
    const perLayer = 2 * d + 4 * (d * d + d) + 2 * d + (d * f + f) + (f * d + d);
    const mean = V * d + L * d + layers * perLayer + 2 * d + (d * C + C);
    const opts = { vocabSize: V, seqLen: L, dModel: d, dFF: f, numClasses: C, numLayers: layers, numHeads: 2 };
    expect(countParams(transformer(opts))).toBe(mean);
    // cls pooling adds the cls vector and one more position.
    expect(countParams(transformer({ ...opts, pooling: 'cls' }))).toBe(mean + 2 * d);
  });
});
