/**
 * The constants are typed `number`, as pkcs11js declares them, so code written against pkcs11js
 * type-checks against this package: graphene-pk11's own tests pass `pkcs11.CKM_*` where graphene's
 * numeric enums are expected, which literal types (`0x00000250`) refuse. This file only compiles if
 * that holds (npm test builds it with tsc); the assertions check the values are still exact.
 * @module
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as C from '../../../src/pkcs11/constants.js';

/**
 * A numeric enum as graphene declares its MechanismEnum (values need not cover the constant); declared
 * only, as this project's TypeScript settings allow no emitted enums.
 */
declare enum MechanismLike {
  RSA_PKCS = 1,
}
const takesEnum = (m: MechanismLike): number => m;

describe('constants: typed number, exact values', () => {
  it('a CKM_* constant is accepted where a numeric enum is expected, and keeps its value', () => {
    assert.equal(takesEnum(C.CKM_SHA256_RSA_PKCS), 0x40);
    assert.equal(takesEnum(C.CKM_AES_CBC_ENCRYPT_DATA), 0x1105);
  });

  it('CKA/CKO/CKR constants widen to number in unions and reassignments', () => {
    let attribute = C.CKA_CLASS;
    attribute = C.CKA_LABEL;
    const kinds: number[] = [C.CKO_DATA, C.CKO_SECRET_KEY];
    kinds.push(C.CKR_OK);
    assert.deepEqual([attribute, ...kinds], [3, 0, 4, 0]);
  });
});
