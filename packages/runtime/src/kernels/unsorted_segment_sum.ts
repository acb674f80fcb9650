/**
 * UnsortedSegmentSum (the gradient of gather / embedding lookups) as a scatter-add:
 *
 *   out[s, ...] = Σ_{i : ids[i] = s} x[i, ...],   s ∈ [0, numSegments); ids out of range are dropped
 *
 * wasm has no such kernel; cpu's loops over segments with whole-tensor ops (64.7 s for
 * the gradient of a 4096-index gather from a 1000×64 table; this is O(size of x)).
 */
import { access, replaceKernel, type KernelBackendName, type TensorInfo } from './backend_access';

export function unsortedSegmentSum(x: ArrayLike<number>, ids: ArrayLike<number>, numSegments: number, inner: number, isInt: boolean): Float32Array | Int32Array {
  const out = isInt ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments) continue;
    const from = i * inner;
    const to = s * inner;
    for (let k = 0; k < inner; k++) out[to + k] = out[to + k]! + x[from + k]!;
  }
  return out;
}

export function registerUnsortedSegmentSum(backendName: KernelBackendName): void {
  replaceKernel('UnsortedSegmentSum', backendName, ({ inputs, backend, attrs }) => {
    const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
    const { numSegments } = attrs as unknown as { numSegments: number };
    const io = access(backendName, backend);
    const idsSize = segmentIds.shape.reduce((a, b) => a * b, 1);
    const xSize = x.shape.reduce((a, b) => a * b, 1);
    const inner = idsSize === 0 ? 0 : xSize / idsSize;
    const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
    const isInt = x.dtype === 'int32';
    return io.output(outShape, isInt ? 'int32' : 'float32', unsortedSegmentSum(io.read(x), io.read(segmentIds), numSegments, inner, isInt));
  });
}
