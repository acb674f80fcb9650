/**
 * Checkpoint bytes: a tree of trees (params, model state, optimizer state, RNG state, step,
 * metadata: any nested state of @lets/tree's `StateValue` kind) as one `Uint8Array`, verified
 * before anything is returned. Free of Node built-ins: a page can keep the bytes in
 * IndexedDB, download them, or post them to a worker; Node's file save/load
 * (`saveStateFile`/`loadStateFile`, the Node entry) write and read exactly these bytes.
 *
 * Layout (little-endian):
 *   "LETSCKPT"  u32 headerLength  header (UTF-8 JSON)  manifest (UTF-8 JSON)  data (tensor bytes)
 *   header = { format: 'lets-checkpoint', version: 1, manifestBytes, dataBytes, sha256 }
 *   sha256 = SHA-256 over manifest ‖ data, hex.
 * Decoding checks the magic, the header, the exact length and the checksum before parsing
 * anything else, so truncated or damaged bytes are refused whole (Left), never half-loaded.
 */
import * as E from 'fp-ts/Either';
import { deserializeState, serializeState } from '@lets/tree';
import { sha256Hex } from './sha256';

/** SHA-256 of the concatenation of the parts, as 64 hex digits (Node's entry passes its native one). */
export type Sha256Hex = (...parts: Uint8Array[]) => string;

const MAGIC = new TextEncoder().encode('LETSCKPT');
const MAX_HEADER = 64 * 1024;

interface Header {
  readonly format: 'lets-checkpoint';
  readonly version: 1;
  readonly manifestBytes: number;
  readonly dataBytes: number;
  readonly sha256: string;
}

/** The encoder and decoder over a given SHA-256 (same bytes whichever implementation). */
export function checkpointCodec(sha256: Sha256Hex): {
  encodeStateFile(state: unknown): Uint8Array;
  decodeStateFile(bytes: Uint8Array, source?: string): E.Either<Error, unknown>;
} {
  const utf8 = new TextEncoder();
  const encodeStateFile = (state: unknown): Uint8Array => {
    const { manifest, data } = serializeState(state);
    const manifestBytes = utf8.encode(JSON.stringify(manifest));
    const header: Header = {
      format: 'lets-checkpoint',
      version: 1,
      manifestBytes: manifestBytes.length,
      dataBytes: data.byteLength,
      sha256: sha256(manifestBytes, data),
    };
    const headerBytes = utf8.encode(JSON.stringify(header));
    const out = new Uint8Array(12 + headerBytes.length + manifestBytes.length + data.byteLength);
    out.set(MAGIC, 0);
    new DataView(out.buffer).setUint32(8, headerBytes.length, true);
    out.set(headerBytes, 12);
    out.set(manifestBytes, 12 + headerBytes.length);
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 12 + headerBytes.length + manifestBytes.length);
    return out;
  };

  const decodeStateFile = (bytes: Uint8Array, source = 'checkpoint'): E.Either<Error, unknown> => {
    const fail = (why: string) => E.left(new Error(`${source}: not a valid checkpoint: ${why}`));
    // not `instanceof Uint8Array`: a Buffer from another realm (Jest's sandbox, a worker) is one too
    if (!ArrayBuffer.isView(bytes) || (bytes as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT !== 1) {
      return fail(`expected a Uint8Array of checkpoint bytes, got ${bytes === null ? 'null' : ArrayBuffer.isView(bytes) ? (bytes as object).constructor.name : typeof bytes}`);
    }
    const len = bytes.length;
    if (len < 12 || MAGIC.some((b, i) => bytes[i] !== b)) return fail('missing the LETSCKPT signature (wrong file, or truncated)');
    const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
    if (headerLength > MAX_HEADER || 12 + headerLength > len) return fail(`truncated inside the header (${len} bytes)`);
    const text = new TextDecoder('utf-8');
    let header: Header;
    try {
      header = JSON.parse(text.decode(bytes.subarray(12, 12 + headerLength))) as Header;
    } catch {
      return fail('the header is not valid JSON (damaged)');
    }
    if (header === null || typeof header !== 'object' || header.format !== 'lets-checkpoint' || header.version !== 1) {
      return fail(`unsupported format ${JSON.stringify(header?.format)} version ${JSON.stringify(header?.version)}`);
    }
    const ok = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
    if (!ok(header.manifestBytes) || !ok(header.dataBytes) || typeof header.sha256 !== 'string') return fail('the header is damaged');
    const expected = 12 + headerLength + header.manifestBytes + header.dataBytes;
    if (len !== expected) {
      return fail(`length is ${len} bytes, the header says ${expected} (${len < expected ? 'truncated' : 'trailing bytes'})`);
    }
    const manifestBytes = bytes.subarray(12 + headerLength, 12 + headerLength + header.manifestBytes);
    const data = bytes.subarray(12 + headerLength + header.manifestBytes);
    const sum = sha256(manifestBytes, data);
    if (sum !== header.sha256) return fail(`checksum mismatch (sha256 ${sum.slice(0, 16)}…, header says ${header.sha256.slice(0, 16)}…): the file is damaged`);
    let manifest: unknown;
    try {
      manifest = JSON.parse(text.decode(manifestBytes));
    } catch {
      return fail('the manifest is not valid JSON');
    }
    // copy so the tensors do not alias the caller's bytes
    const own = new Uint8Array(data.length);
    own.set(data);
    return E.mapLeft((e: Error) => new Error(`${source}: not a valid checkpoint: ${e.message}`))(deserializeState(manifest, own));
  };
  return { encodeStateFile, decodeStateFile };
}

const portable = checkpointCodec(sha256Hex);

/** The bytes of a checkpoint of `state` (pure; tensors are read, not disposed). */
export const encodeStateFile: (state: unknown) => Uint8Array = portable.encodeStateFile;

/**
 * Verifies and decodes checkpoint bytes into nested state with new tensors (owned by the
 * caller). Left with a message naming `source` and what is wrong; nothing is allocated on failure.
 */
export const decodeStateFile: (bytes: Uint8Array, source?: string) => E.Either<Error, unknown> = portable.decodeStateFile;
