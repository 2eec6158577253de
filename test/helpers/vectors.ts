/**
 * Published test vectors, read from test/vectors/ (each file names its source in a `source` field).
 * @module
 */
import { readFileSync } from 'node:fs';

/** From dist/test/helpers/ to the repository's test/vectors/. */
const VECTORS = new URL('../../../test/vectors/', import.meta.url);

/** A vector file, e.g. `loadVectors<T>('rfc8032/eddsa.json')`. */
export function loadVectors<T extends { source: string }>(path: string): T {
  const data = JSON.parse(readFileSync(new URL(path, VECTORS), 'utf8')) as T;
  if (typeof data.source !== 'string' || data.source.length === 0)
    throw new Error(`${path}: a vector file names its source`);
  return data;
}

export const hex = (s: string): Buffer => Buffer.from(s, 'hex');
