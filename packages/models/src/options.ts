/**
 * Validation of model constructor options: every constructor merges the user's options over its
 * defaults and checks them, throwing an Error that names the option and what was expected.
 * (The registry turns these into `Either` for the CLI.)
 */
export const checkKnownKeys = (model: string, given: object, known: readonly string[]): void => {
  for (const k of Object.keys(given)) {
    if (!known.includes(k)) throw new Error(`${model}: unknown option '${k}' (expected one of ${known.join(', ')})`);
  }
};

export const positiveInt = (model: string, key: string, v: unknown): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new Error(`${model}: option '${key}' must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
};

export const positiveInts = (model: string, key: string, v: unknown, minLength = 0): number[] => {
  if (!Array.isArray(v) || v.length < minLength) {
    throw new Error(`${model}: option '${key}' must be an array of at least ${minLength} positive integers, got ${JSON.stringify(v)}`);
  }
  return v.map((x, i) => positiveInt(model, `${key}[${i}]`, x));
};

export const rate = (model: string, key: string, v: unknown): number => {
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) {
    throw new Error(`${model}: option '${key}' must be a number in [0, 1), got ${JSON.stringify(v)}`);
  }
  return v;
};

export const oneOf = <T extends string>(model: string, key: string, v: unknown, allowed: readonly T[]): T => {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new Error(`${model}: option '${key}' must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
};

export const imageShape = (model: string, key: string, v: unknown): [number, number, number] => {
  const s = positiveInts(model, key, v, 3);
  if (s.length !== 3) throw new Error(`${model}: option '${key}' must be [height, width, channels], got ${JSON.stringify(v)}`);
  return s as [number, number, number];
};
