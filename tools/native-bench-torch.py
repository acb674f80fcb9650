#!/usr/bin/python3
"""PyTorch peer of tools/native-bench.mjs: one SGD step of the same MLP and CNN, same thread count.

Run with Debian's python3-torch: /usr/bin/python3 tools/native-bench-torch.py --threads 2
(a dev-only tool; `apt-get install python3-torch libopenblas0-openmp`). Prints one JSON line:
{"version", "blas", "threads", "mlp": {"ms", "min", "cpu_ms", "losses"}, "cnn": {...}}
(cpu_ms: process CPU time per step, all threads).
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F


def mlp_params(g):
    def w(i, o):
        a = (6.0 / i) ** 0.5
        return (torch.rand(i, o, generator=g) * 2 - 1) * a
    return [w(784, 256), torch.zeros(256), w(256, 256), torch.zeros(256), w(256, 10), torch.zeros(10)]


def mlp_forward(p, x):
    h = F.relu(x @ p[0] + p[1])
    h = F.relu(h @ p[2] + p[3])
    return h @ p[4] + p[5]


def cnn_params(g):
    def u(shape, fan_in):
        return (torch.rand(*shape, generator=g) * 2 - 1) * (6.0 / fan_in) ** 0.5
    # PyTorch conv weights are [out, in, kh, kw]; activations NCHW (PyTorch's native layout).
    return [u((16, 3, 3, 3), 27), torch.zeros(16), u((32, 16, 3, 3), 144), torch.zeros(32),
            u((8192, 10), 8192), torch.zeros(10)]


def cnn_forward(p, x):
    a = F.relu(F.conv2d(x, p[0], p[1], padding=1))
    a = F.relu(F.conv2d(a, p[2], p[3], padding=1))
    a = F.avg_pool2d(a, 2, 2)
    return a.reshape(a.shape[0], -1) @ p[4] + p[5]


def bench(kind, iters, g, warmup=1):
    B = 128
    params = mlp_params(g) if kind == 'mlp' else cnn_params(g)
    for t in params:
        t.requires_grad_(True)
    x = torch.rand(B, 784, generator=g) * 2 - 1 if kind == 'mlp' else torch.rand(B, 3, 32, 32, generator=g) * 2 - 1
    y = torch.randint(0, 10, (B,), generator=g)
    fwd = mlp_forward if kind == 'mlp' else cnn_forward
    lr = 0.01

    def step():
        loss = F.cross_entropy(fwd(params, x), y)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, gr in zip(params, grads):
                p.sub_(lr * gr)
        return loss.item()

    losses = [step()]
    for _ in range(warmup - 1):
        step()
    times = []
    c0 = time.process_time()
    for _ in range(iters):
        t0 = time.perf_counter()
        losses.append(step())
        times.append((time.perf_counter() - t0) * 1000)
    cpu_ms = (time.process_time() - c0) * 1000 / iters
    return {'ms': statistics.median(times), 'min': min(times), 'cpu_ms': cpu_ms, 'losses': [losses[0], losses[-1]]}


def blas_name():
    try:
        with open('/proc/self/maps') as f:
            maps = f.read()
        for name in ('openblas', 'libmkl', 'libblas'):
            for line in maps.splitlines():
                if name in line:
                    return line.split()[-1]
    except OSError:
        pass
    return 'unknown'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--iters', type=int, default=20)
    ap.add_argument('--warmup', type=int, default=1)
    ap.add_argument('--models', default='mlp,cnn')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    out = {'version': torch.__version__, 'threads': torch.get_num_threads()}
    for kind in args.models.split(','):
        out[kind] = bench(kind, args.iters, g, max(1, args.warmup))
    out['blas'] = blas_name()
    print(json.dumps(out))


if __name__ == '__main__':
    main()
