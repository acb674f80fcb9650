/**
 * A word tokenizer for text classification: lower-cases (Unicode-aware) and returns the
 * maximal runs of letters and digits (Unicode classes \p{L}, \p{N}), keeping an inner
 * apostrophe ("don't" → "don't"). Everything else (punctuation, whitespace, markup
 * symbols) separates tokens.
 */
const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu;

export function tokenize(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}
