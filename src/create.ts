/**
 * Composition root for library users: wires the token to its adapters (node:crypto, the memory, file and
 * simulated-flash PAL ports) and gives the pkcs11js-compatible PKCS11 class a working load(). Tokens
 * opened from the same directory (or flash image) in one process share one Token, so every application
 * there sees the same objects.
 * @module
 */
import { resolve } from 'node:path';
import { createNodeCrypto } from './adapters/crypto-node/index.js';
import { createFilePal } from './adapters/pal-file/index.js';
import { storePathProblem } from './adapters/pal-file/store-path.js';
import { createFlashPal } from './adapters/pal-flash/index.js';
import { createMemoryPal } from './adapters/pal-memory/index.js';
import type { TokenOpener } from './api/pkcs11.js';
import { PKCS11 as ApiPKCS11 } from './api/pkcs11.js';
import type { CryptoBackend } from './crypto/backend.js';
import { NativeError } from './errors.js';
import type { Pal } from './storage/pal.js';
import { Application } from './token/application.js';
import { Token, type TokenOptions } from './token/token.js';

export interface CreateTokenOptions extends TokenOptions {
  /** The storage port (default: a fresh memory PAL). */
  pal?: Pal;
  /** The crypto backend (default: node:crypto). */
  crypto?: CryptoBackend;
}

/** A token over a PAL of your choice (bring your own port). */
export function createToken(options: CreateTokenOptions = {}): Token {
  return new Token(options.pal ?? createMemoryPal(), options.crypto ?? createNodeCrypto(), options);
}

/** How load() opens a store: the token's options, and whether a missing store may be created. */
export interface OpenOptions extends TokenOptions {
  /**
   * Create the directory (or flash image) when it does not exist. Off by default: as pkcs11js's load()
   * of a missing library, a missing store is a NativeError, so a typo never makes a new empty token.
   */
  create?: boolean;
}

const shared = new Map<string, { token: Token; refs: number }>();

/**
 * Opens the token store `target`: 'memory:' (a fresh token), 'flash:IMAGE' (the simulated NOR-flash port
 * over an image file) or a directory ('file:DIR' or a plain path). The directory or image must exist (an
 * empty directory is an uninitialized token) unless `options.create`, which makes it (the image erased).
 * The Token is shared per directory or image within the process; `close` releases this reference.
 */
export function openStore(
  target: string,
  options: OpenOptions = {},
): { token: Token; close: () => void } {
  if (target === 'memory:') {
    const token = createToken(options);
    return { token, close: () => token.close() };
  }
  const flash = target.startsWith('flash:');
  if (/^[a-z]+:/.test(target) && !target.startsWith('file:') && !flash) {
    throw new TypeError(
      `unknown token store '${target}' (use memory:, flash:IMAGE or a directory path)`,
    );
  }
  const path = resolve(target.replace(/^(file|flash):/, ''));
  if (flash && path === resolve(''))
    throw new TypeError('flash: needs an image file (flash:IMAGE)');
  const key = `${flash ? 'flash' : 'file'}:${path}`;
  let entry = shared.get(key);
  if (!entry && !options.create) {
    // pkcs11js's load() of a library dlopen cannot open: a NativeError naming the path and the reason.
    const problem = storePathProblem(path, flash ? 'image' : 'directory');
    if (problem) throw new NativeError(`${path}: cannot open token store: ${problem}`);
  }
  if (!entry) {
    const pal = flash ? createFlashPal({ path }) : createFilePal(path);
    const { create: _create, ...tokenOptions } = options;
    entry = { token: new Token(pal, createNodeCrypto(), tokenOptions), refs: 0 };
    shared.set(key, entry);
  }
  entry.refs++;
  const e = entry;
  let closed = false;
  return {
    token: e.token,
    close: () => {
      if (closed) return;
      closed = true;
      if (--e.refs === 0) {
        shared.delete(key);
        e.token.close();
      }
    },
  };
}

/** Opens `target` (see openStore) as a new application. */
export function openTarget(target: string, options: OpenOptions = {}): ReturnType<TokenOpener> {
  const { token, close } = openStore(target, options);
  return { app: new Application(token), close };
}

/**
 * The pkcs11js-compatible module: `new PKCS11()`, then `load('memory:')`, `load('/path/to/store')` or
 * `load('flash:/path/to/image')`, then the C_* functions.
 */
export class PKCS11 extends ApiPKCS11 {
  constructor(library?: string, options: OpenOptions = {}) {
    super((target) => openTarget(target, options));
    if (library) this.load(library);
  }
}
