import { gzipSync } from 'node:zlib';
import { isGzip, parseIdx, readIdx } from './idx';
import { idxBytes, leftMessage, right, tempDir, writeFile } from './test-util';

const bytes = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

describe('parseIdx', () => {
  const data = Array.from({ length: 2 * 3 * 4 }, (_, i) => (i * 37) % 256);

  it('reads dims and row-major data of a raw file', () => {
    const r = right(parseIdx(bytes(idxBytes([2, 3, 4], data)), 'mem', 3));
    expect(r.dims).toEqual([2, 3, 4]);
    expect(Array.from(r.data)).toEqual(data);
  });

  it('detects gzip by magic bytes, not by name', () => {
    const gz = gzipSync(idxBytes([2, 3, 4], data));
    expect(isGzip(bytes(gz))).toBe(true);
    const r = right(parseIdx(bytes(gz), 'no-suffix-name', 3));
    expect(Array.from(r.data)).toEqual(data);
  });

  it('refuses a wrong magic number, naming the input and the expected value', () => {
    const b = idxBytes([2, 3, 4], data);
    b[2] = 0x0d; // float type
    const msg = leftMessage(parseIdx(bytes(b), 'imgs.idx', 3));
    expect(msg).toContain('imgs.idx');
    expect(msg).toContain('wrong magic number 0x00000d03');
    expect(msg).toContain('0x00000803');
    // Right type, wrong rank (a labels file where images are expected).
    expect(leftMessage(parseIdx(bytes(idxBytes([5], [1, 2, 3, 4, 5])), 'lab', 3))).toContain('wrong magic number 0x00000801');
  });

  it('refuses truncated headers and bodies, and trailing bytes', () => {
    const b = idxBytes([2, 3, 4], data);
    expect(leftMessage(parseIdx(bytes(b.subarray(0, 3)), 'f', 3))).toMatch(/f: truncated IDX file: 3 bytes/);
    expect(leftMessage(parseIdx(bytes(b.subarray(0, 10)), 'f', 3))).toMatch(/expected a 16-byte header/);
    expect(leftMessage(parseIdx(bytes(b.subarray(0, b.length - 1)), 'f', 3))).toMatch(/truncated IDX file: 23 data bytes, expected 24/);
    expect(leftMessage(parseIdx(bytes(Buffer.concat([b, Buffer.from([0])])), 'f', 3))).toMatch(/1 bytes after the 24 expected/);
  });

  it('refuses a truncated gzip stream', () => {
    const gz = gzipSync(idxBytes([2, 3, 4], data));
    expect(leftMessage(parseIdx(bytes(gz.subarray(0, gz.length - 8)), 'x.gz', 3))).toMatch(/x.gz: gzip data is corrupt or truncated/);
  });

  it('readIdx names a missing file', () => {
    const t = tempDir('idx');
    try {
      expect(leftMessage(readIdx(t.path('nope')))).toContain(t.path('nope'));
      writeFile(t.path('a'), idxBytes([3], [1, 2, 3]), true);
      expect(Array.from(right(readIdx(t.path('a'), 1)).data)).toEqual([1, 2, 3]);
    } finally {
      t.cleanup();
    }
  });
});
