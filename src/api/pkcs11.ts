/**
 * The pkcs11js-compatible PKCS11 class: loading a token, and the C_* methods made from the table in
 * calls.ts. Every method runs through the boundary of call.ts (the C function's name stamped on errors,
 * foreign exceptions normalized); the THREADED calls also take a trailing node-style callback and have
 * C_*Async and C_*Callback forms, as pkcs11js has. Layer L6.
 * @module
 */
import { NativeError } from '../errors.js';
import type { Profile } from '../objects/profile.js';
import type { Application } from '../token/application.js';
import { ARGUMENTS, checkArgumentList, checkArguments } from './arguments.js';
import { type Callback, call, callAsync, deliver, normalize } from './call.js';
import { PLAIN as PLAIN_240, THREADED as THREADED_240 } from './calls.js';
import { PLAIN_MESSAGE, PLAIN_V3, THREADED_MESSAGE } from './calls-v3.js';
import { fromHandle, type Handle, toHandle } from './convert.js';

export type { InitializeOptions, KeyPair, SessionInfoResult } from './calls.js';

/** pkcs11js's message for a C_* call before load(). */
const NOT_LOADED = 'PKCS11 module not loaded yet';

/** A shared library's file name: libsofthsm2.so, libsoftokn3.so.0, softhsm2.dll, libfoo.dylib. */
const LIBRARY_PATH = /\.(so(\.\d+)*|dylib|dll)$/i;

/** Opens the token named by a load() target ('memory:', a directory, …) as a new application. */
export type TokenOpener = (target: string) => { app: Application; close(): void };

type Run = (e: Application, ...args: unknown[]) => unknown;
type Sync<F> = F extends (e: Application, ...args: infer A) => infer R ? (...args: A) => R : never;
type WithCallback<F> = F extends (e: Application, ...args: infer A) => infer R
  ? { (...args: A): R; (...args: [...A, Callback<R>]): void }
  : never;
type Async<F> = F extends (e: Application, ...args: infer A) => infer R
  ? (...args: A) => Promise<Awaited<R>>
  : never;
/** pkcs11js's calls and the PKCS#11 3.0 ones, named as the C functions. */
const PLAIN = { ...PLAIN_240, ...PLAIN_V3, ...PLAIN_MESSAGE };
const THREADED = { ...THREADED_240, ...THREADED_MESSAGE };
type Plain = typeof PLAIN;
type Threaded = typeof THREADED;

/** The C_* methods, typed from the table. */
export type Pkcs11Methods = { [K in keyof Plain]: Sync<Plain[K]> } & {
  [K in keyof Threaded]: WithCallback<Threaded[K]['run']>;
} & { [K in keyof Threaded as `${K}Async`]: Async<Threaded[K]['run']> };

class Pkcs11Impl {
  libPath = '';
  readonly #opener: TokenOpener | undefined;
  #loaded: ReturnType<TokenOpener> | undefined;

  constructor(opener?: TokenOpener) {
    this.#opener = opener;
  }

  /**
   * Opens a token store: a directory (file PAL) or 'memory:' (a fresh in-memory token). A path naming a
   * shared library (a pkcs11js configuration left as it was) is refused with a NativeError, as pkcs11js
   * refuses a library it cannot load, rather than opened as a new, empty token directory.
   */
  load(target: string): void {
    if (typeof target !== 'string' || target === '')
      throw new TypeError('load() needs a token store path');
    if (LIBRARY_PATH.test(target)) {
      throw new NativeError(
        `${target}: a PKCS#11 library path; corepkcs11 opens a token store (a directory or 'memory:')`,
        'load',
      );
    }
    if (!this.#opener) throw new TypeError('this PKCS11 instance has no token opener');
    this.#loaded?.close();
    this.#loaded = this.#opener(target);
    this.libPath = target;
  }

  /** Attaches an already opened application (for callers that build their own token). */
  attach(app: Application, close: () => void = () => {}): void {
    this.#loaded?.close();
    this.#loaded = { app, close };
    this.libPath = 'attached';
  }

  close(): void {
    this.#loaded?.close();
    this.#loaded = undefined;
  }

  /**
   * corepkcs11's own (pkcs11js has no such call): the loaded token's profile, `compatible` or `strict`,
   * recorded when it was initialized (`new PKCS11(target, { profile })` chooses it for C_InitToken).
   */
  tokenProfile(): Profile {
    return call('tokenProfile', () => this.#engine().token.profile);
  }

  /** The loaded token. Before load(), pkcs11js's NativeError 'PKCS11 module not loaded yet'. */
  #engine(): Application {
    if (!this.#loaded) throw new NativeError(NOT_LOADED);
    return this.#loaded.app;
  }

  /**
   * What pkcs11js checks before a call reaches the module, in its order: a module is loaded, then the
   * arguments are what the function takes (arguments.ts: TypeErrors with pkcs11js's messages).
   */
  #precheck(name: string, args: readonly unknown[], viaCallback = false): void {
    if (!this.#loaded) throw new NativeError(NOT_LOADED);
    checkArgumentList(name, args, viaCallback);
  }

  /** With `max`: up to `max` handles. Without: the next handle, or null when there are no more. */
  C_FindObjects(session: Handle): Handle | null;
  C_FindObjects(session: Handle, max: number): Handle[];
  C_FindObjects(...args: [session: Handle, max?: number]): Handle[] | Handle | null {
    // pkcs11js's JS layer adds the default max (1) before its native checks see the arguments.
    this.#precheck('C_FindObjects', args.length < 2 ? [...args, 1] : args);
    const [session, max] = args;
    return call('C_FindObjects', () => {
      const s = fromHandle(session, 'session');
      const found = this.#engine()
        .findObjects(s, max ?? 1)
        .map(toHandle);
      return max === undefined ? (found[0] ?? null) : found;
    });
  }

  static {
    type Method = (this: Pkcs11Impl, ...args: unknown[]) => unknown;
    const define = (name: string, value: Method) =>
      Object.defineProperty(Pkcs11Impl.prototype, name, {
        configurable: true,
        writable: true,
        value,
      });
    const check = (name: string, run: Run, room: number) => {
      if (run.length - 1 > room)
        throw new Error(`api: ${name} takes more arguments than its method passes`);
    };
    // Fixed parameters rather than rest and spread, and no closure, array or arguments object per call:
    // these are the hot path (C_GetAttributeValue runs about a million times a second), and what a call
    // allocates is paid again in garbage collection. No C function takes more than six arguments.
    // Every C function has its pkcs11js argument checks, or checks its own (C_Initialize) or takes none.
    for (const name of [...Object.keys(PLAIN), ...Object.keys(THREADED), 'C_FindObjects']) {
      if (!ARGUMENTS[name] && !['C_Initialize', 'C_Finalize', 'C_GetInfo'].includes(name))
        throw new Error(`api: ${name} has no entry in arguments.ts`);
    }
    for (const [name, run] of Object.entries(PLAIN) as [string, Run][]) {
      check(name, run, 6);
      define(name, function (a, b, c, d, f, g) {
        if (!this.#loaded) throw new NativeError(NOT_LOADED);
        // biome-ignore lint/complexity/noArguments: the count of arguments given is what pkcs11js checks
        checkArguments(name, arguments.length, false, a, b, c, d, f, g);
        try {
          return run(this.#loaded.app, a, b, c, d, f, g);
        } catch (e) {
          throw normalize(e, name);
        }
      });
    }
    for (const [name, t] of Object.entries(THREADED) as [string, { run: Run; async?: Run }][]) {
      check(name, t.run, 5);
      const arity = t.run.length - 1;
      const promise = (self: Pkcs11Impl, args: unknown[]) =>
        callAsync(name, async () => (t.async ?? t.run)(self.#engine(), ...args));
      define(name, function (a, b, c, d, f, g) {
        if (!this.#loaded) throw new NativeError(NOT_LOADED);
        // biome-ignore lint/complexity/noArguments: the count of arguments given is what pkcs11js checks
        const count = arguments.length;
        checkArguments(name, count, count > arity, a, b, c, d, f, g);
        if (count > arity) {
          const args = [a, b, c, d, f, g];
          const cb = args[arity];
          if (typeof cb === 'function')
            return deliver(promise(this, args.slice(0, arity)), cb as Callback<unknown>);
        }
        try {
          return t.run(this.#loaded.app, a, b, c, d, f, g);
        } catch (e) {
          throw normalize(e, name);
        }
      });
      define(`${name}Async`, function (...args) {
        // pkcs11js's C_*Async is its callback form promisified: a refused argument rejects the promise.
        try {
          this.#precheck(name, [...args, promise], true);
        } catch (e) {
          return Promise.reject(e);
        }
        return promise(this, args);
      });
      // pkcs11js also has each as C_*Callback (the form its C_*Async promisifies): not in its
      // declarations, but there at run time and used by its own tests, so here too.
      define(`${name}Callback`, function (...args) {
        return (this as unknown as Record<string, (...a: unknown[]) => unknown>)[name]?.(...args);
      });
    }
  }
}

/** pkcs11js's PKCS11 class over this token. */
export type PKCS11 = Pkcs11Impl & Pkcs11Methods;
export const PKCS11 = Pkcs11Impl as unknown as new (opener?: TokenOpener) => PKCS11;
