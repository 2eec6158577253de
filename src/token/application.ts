/**
 * One PKCS#11 application over a token: its own sessions, handles and login state (AppState), with the
 * engine's C API (cryptoki.ts) as its methods. Each method is the table's function applied to this
 * application's state; nothing else stands between a caller and the implementation. Layer L5.
 * @module
 */
import { AppState } from './app-state.js';
import { CALLS, type Engine } from './cryptoki.js';
import type { Token } from './token.js';

export { LIBRARY_VERSION } from './slot-calls.js';

type AnyCall = (app: AppState, ...args: unknown[]) => unknown;

class ApplicationImpl {
  readonly #app: AppState;

  constructor(token: Token) {
    this.#app = new AppState(token);
  }

  get token(): Token {
    return this.#app.token;
  }

  static {
    for (const [name, call] of Object.entries(CALLS) as [string, AnyCall][]) {
      // No call takes more than five arguments after the state: fixed parameters, no rest/spread on
      // the hot path (C_GetAttributeValue runs about a million times a second).
      if (call.length > 6) throw new Error(`cryptoki: ${name} takes too many arguments`);
      Object.defineProperty(ApplicationImpl.prototype, name, {
        configurable: true,
        writable: true,
        value(this: ApplicationImpl, a: unknown, b: unknown, c: unknown, d: unknown, e: unknown) {
          return call(this.#app, a, b, c, d, e);
        },
      });
    }
  }
}

/** One PKCS#11 application: the engine's methods, and the token it runs on. */
export type Application = Engine & { readonly token: Token };
export const Application = ApplicationImpl as unknown as new (token: Token) => Application;
