/**
 * The property suites by name, loaded on demand (a worker loads only the one it runs).
 * @module
 */
import type { Suite } from '../harness/suite.js';

const LOADERS: Record<string, () => Promise<Suite>> = {
  'api-memory': async () => (await import('./api.js')).apiSuite('memory'),
  'api-file': async () => (await import('./api.js')).apiSuite('file'),
  'api-flash': async () => (await import('./api.js')).apiSuite('flash'),
  'objects-memory': async () => (await import('./objects.js')).objectsSuite('memory'),
  'objects-file': async () => (await import('./objects.js')).objectsSuite('file'),
  'objects-flash': async () => (await import('./objects.js')).objectsSuite('flash'),
  'logins-memory': async () => (await import('./logins.js')).loginsSuite('memory'),
  'logins-file': async () => (await import('./logins.js')).loginsSuite('file'),
  'logins-flash': async () => (await import('./logins.js')).loginsSuite('flash'),
  parsers: async () => (await import('./parsers.js')).parsersSuite,
  records: async () => (await import('./records.js')).recordsSuite,
  rpc: async () => (await import('./rpc.js')).rpcSuite,
};

export const SUITES: readonly string[] = Object.keys(LOADERS);

export function loadSuite(name: string): Promise<Suite> {
  const load = LOADERS[name];
  if (!load) throw new Error(`no property suite '${name}' (known: ${SUITES.join(', ')})`);
  return load();
}
