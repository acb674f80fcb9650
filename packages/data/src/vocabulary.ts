/**
 * A vocabulary: token strings by id, built from training documents.
 *
 * Id 0 is the PAD token and id 1 the OOV token; then tokens seen at least `minCount` times,
 * most frequent first (ties broken by the token's code-unit order, so the result is
 * deterministic), keeping at most `maxSize` ids in all (PAD and OOV included).
 * Encoding maps tokens to ids (unknown → OOV), truncates to `seqLen` (keeping the first
 * tokens) and pads with PAD at the end.
 */
import * as E from 'fp-ts/Either';
import { fail, Result } from './result';

export interface VocabularyOptions {
  /** Minimum number of occurrences in training (default 1). */
  readonly minCount?: number;
  /** Maximum number of ids including PAD and OOV (default unlimited). */
  readonly maxSize?: number;
  readonly padToken?: string;
  readonly oovToken?: string;
}

export interface Vocabulary {
  /** Token by id: tokens[0] = PAD, tokens[1] = OOV. */
  readonly tokens: readonly string[];
  readonly ids: ReadonlyMap<string, number>;
}

export const PAD_ID = 0;
export const OOV_ID = 1;

/** Builds a vocabulary from tokenized training documents. */
export function buildVocabulary(docs: Iterable<readonly string[]>, options: VocabularyOptions = {}): Result<Vocabulary> {
  const minCount = options.minCount ?? 1;
  const maxSize = options.maxSize ?? Infinity;
  const pad = options.padToken ?? '<pad>';
  const oov = options.oovToken ?? '<unk>';
  if (!(Number.isInteger(minCount) && minCount >= 1)) return fail('vocabulary', `minCount ${minCount}, expected an integer ≥ 1`);
  if (!(maxSize >= 2)) return fail('vocabulary', `maxSize ${maxSize}, expected at least 2 (PAD and OOV)`);
  if (pad === oov) return fail('vocabulary', `PAD and OOV tokens are both '${pad}', expected two different tokens`);
  const counts = new Map<string, number>();
  for (const doc of docs) for (const t of doc) counts.set(t, (counts.get(t) ?? 0) + 1);
  counts.delete(pad);
  counts.delete(oov);
  const kept = [...counts].filter(([, c]) => c >= minCount);
  kept.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const tokens = [pad, oov, ...kept.slice(0, Math.max(0, maxSize - 2)).map(([t]) => t)];
  return E.right({ tokens, ids: new Map(tokens.map((t, i) => [t, i])) });
}

/** Token ids of one document, truncated or padded to exactly `seqLen`. */
export function encode(tokens: readonly string[], vocab: Vocabulary, seqLen: number): Int32Array {
  const out = new Int32Array(seqLen); // zero-filled = PAD_ID
  const n = Math.min(seqLen, tokens.length);
  for (let i = 0; i < n; i++) out[i] = vocab.ids.get(tokens[i]!) ?? OOV_ID;
  return out;
}

/** Ids of many documents, `docs.length × seqLen` row-major. */
export function encodeAll(docs: readonly (readonly string[])[], vocab: Vocabulary, seqLen: number): Int32Array {
  const out = new Int32Array(docs.length * seqLen);
  docs.forEach((d, i) => out.set(encode(d, vocab, seqLen), i * seqLen));
  return out;
}
