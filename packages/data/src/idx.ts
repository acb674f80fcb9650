/**
 * IDX files: the format of MNIST, Fashion-MNIST, KMNIST and EMNIST.
 *
 * Layout (LeCun et al., http://yann.lecun.com/exdb/mnist/): a 4-byte magic number
 * `0x00 0x00 <type> <ndims>`, then `ndims` big-endian uint32 sizes, then the data in
 * row-major (C) order. Only type 0x08 (unsigned byte) is used by these datasets and read
 * here. Files may be gzip-compressed; compression is detected by the gzip magic bytes
 * 0x1f 0x8b, not by the file name.
 */
import * as E from 'fp-ts/Either';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { attempt, fail, Result } from './result';

export interface IdxArray {
  /** Sizes, outermost first (e.g. [60000, 28, 28]). */
  readonly dims: readonly number[];
  /** Row-major values; a view on the file's bytes, not a copy. */
  readonly data: Uint8Array;
}

const UNSIGNED_BYTE = 0x08;

/** True when the bytes start with the gzip magic 0x1f 0x8b (RFC 1952 §2.3.1). */
export const isGzip = (bytes: Uint8Array): boolean =>
  bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

/** Gunzips when the gzip magic is present; otherwise returns the bytes unchanged. */
export function maybeGunzip(bytes: Uint8Array, source: string): Result<Uint8Array> {
  if (!isGzip(bytes)) return E.right(bytes);
  return attempt(source, () => {
    try {
      const out = gunzipSync(bytes);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } catch (e) {
      throw new Error(`gzip data is corrupt or truncated (${(e as Error).message})`);
    }
  });
}

/**
 * Parses IDX bytes (raw or gzip). `expectedNdims`, when given, is checked against the header.
 * Refuses: a magic number that is not `00 00 08 nd`, a header shorter than declared, and a
 * body whose length differs from the product of the sizes.
 */
export function parseIdx(bytes: Uint8Array, source: string, expectedNdims?: number): Result<IdxArray> {
  return E.chain((raw: Uint8Array) => parseRawIdx(raw, source, expectedNdims))(maybeGunzip(bytes, source));
}

function parseRawIdx(b: Uint8Array, source: string, expectedNdims?: number): Result<IdxArray> {
  if (b.length < 4) return fail(source, `truncated IDX file: ${b.length} bytes, expected at least a 4-byte magic number`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = view.getUint32(0, false);
  const ndims = b[3]!;
  const want = expectedNdims === undefined ? 'ndims' : String(expectedNdims);
  if (b[0] !== 0 || b[1] !== 0 || b[2] !== UNSIGNED_BYTE || (expectedNdims !== undefined && ndims !== expectedNdims)) {
    const expected =
      expectedNdims === undefined
        ? '0x000008nn (IDX unsigned bytes)'
        : `0x${(0x800 + expectedNdims).toString(16).padStart(8, '0')} (${0x800 + expectedNdims}, IDX unsigned bytes, ${want}-D)`;
    return fail(source, `wrong magic number 0x${magic.toString(16).padStart(8, '0')}, expected ${expected}`);
  }
  if (ndims === 0) return fail(source, 'IDX header declares 0 dimensions, expected at least 1');
  const headerLen = 4 + 4 * ndims;
  if (b.length < headerLen) {
    return fail(source, `truncated IDX file: ${b.length} bytes, expected a ${headerLen}-byte header for ${ndims} dimensions`);
  }
  const dims: number[] = [];
  let size = 1;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    size *= d;
  }
  const body = b.length - headerLen;
  if (body < size) {
    return fail(source, `truncated IDX file: ${body} data bytes, expected ${size} for dims [${dims.join(', ')}]`);
  }
  if (body > size) {
    return fail(source, `IDX file has ${body - size} bytes after the ${size} expected for dims [${dims.join(', ')}]`);
  }
  return E.right({ dims, data: b.subarray(headerLen) });
}

/** Reads and parses an IDX file (raw or gzip). */
export function readIdx(path: string, expectedNdims?: number): Result<IdxArray> {
  return E.chain((bytes: Uint8Array) => parseIdx(bytes, path, expectedNdims))(
    attempt(path, () => readBytes(path)),
  );
}

/** The bytes of a file as a Uint8Array view on Node's buffer. */
export function readBytes(path: string): Uint8Array {
  const buf = readFileSync(path);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
