/**
 * Parsing and validation results.
 *
 * Readers return `Either<DataError, A>` (fp-ts): `Left` for input that is malformed in an
 * expected way (a wrong magic number, a truncated file), `Right` for the parsed value.
 * `orThrow` is the convenience wrapper for callers that prefer exceptions.
 */
import * as E from 'fp-ts/Either';

/** An input that is not what a reader expected. `source` names the file (or input). */
export class DataError extends Error {
  readonly source: string;
  constructor(source: string, message: string) {
    super(`${source}: ${message}`);
    this.name = 'DataError';
    this.source = source;
  }
}

export type Result<A> = E.Either<DataError, A>;

/** `Left(new DataError(source, message))`. */
export const fail = <A = never>(source: string, message: string): Result<A> =>
  E.left(new DataError(source, message));

/** Unwraps a `Right`, throws the `Left`'s error. */
export function orThrow<A>(r: E.Either<Error, A>): A {
  if (E.isLeft(r)) throw r.left;
  return r.right;
}

/** Runs `f`, turning a thrown error (e.g. from the file system) into a `Left` naming `source`. */
export function attempt<A>(source: string, f: () => A): Result<A> {
  try {
    return E.right(f());
  } catch (e) {
    if (e instanceof DataError) return E.left(e);
    const msg = e instanceof Error ? e.message : String(e);
    return fail(source, msg);
  }
}
