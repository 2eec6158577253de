/**
 * The PIN iteration floor (issue 16 §8): a token refuses to make PINs that a stolen store gives up to
 * brute force, unless the caller says it is a test; what a PIN was made with is what it is checked with.
 * @module
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createNodeCrypto } from '../../../src/adapters/crypto-node/index.js';
import { createMemoryPal } from '../../../src/adapters/pal-memory/index.js';
import { MIN_PIN_ITERATIONS } from '../../../src/token/pins.js';
import { Token, type TokenOptions } from '../../../src/token/token.js';

const open = (options: TokenOptions) =>
  new Token(createMemoryPal(), createNodeCrypto(), { warn: () => {}, ...options });

describe('the PIN iteration floor', () => {
  it('is 10,000 PBKDF2 iterations', () => {
    assert.equal(MIN_PIN_ITERATIONS, 10_000);
  });

  for (const n of [1, 10, 9_999]) {
    it(`pinIterations ${n} without allowWeakPinIterations → TypeError naming the floor`, () => {
      assert.throws(() => open({ pinIterations: n }), {
        name: 'TypeError',
        message: new RegExp(`pinIterations ${n} is below the floor of 10000`),
      });
      assert.throws(() => open({ pinIterations: n, allowWeakPinIterations: false }), TypeError);
    });
  }

  for (const n of [0, -5, 1.5, Number.NaN]) {
    it(`pinIterations ${n} → TypeError, even for tests`, () => {
      assert.throws(() => open({ pinIterations: n, allowWeakPinIterations: true }), TypeError);
    });
  }

  it('the floor itself, the default and a test token with allowWeakPinIterations open', () => {
    assert.equal(open({ pinIterations: 10_000 }).options.pinIterations, 10_000);
    assert.equal(open({}).options.pinIterations, 600_000);
    assert.equal(
      open({ pinIterations: 10, allowWeakPinIterations: true }).options.pinIterations,
      10,
    );
  });
});
