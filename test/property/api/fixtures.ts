/**
 * Valid material the random sequences can reach deep states with: key and certificate templates built
 * once per worker from node:crypto material (RSA key generation is too slow to repeat per case), named
 * so a counterexample prints as a name rather than a kilobyte of bytes.
 * @module
 */
import type { Template } from '../../../src/api/convert.js';
import * as C from '../../../src/pkcs11/constants.js';
import {
  certTemplate,
  dataTemplate,
  ecMaterial,
  ecPrivateTemplate,
  ecPublicTemplate,
  makeCertificate,
  rsaMaterial,
  rsaPrivateTemplate,
  rsaPublicTemplate,
  secretTemplate,
} from '../../helpers/material.js';

export const FIXTURES = [
  'data',
  'certificate',
  'ecPrivate',
  'ecPublic',
  'rsaPrivate',
  'rsaPublic',
  'aes',
  'hmac',
] as const;
export type FixtureName = (typeof FIXTURES)[number];

let built: Record<FixtureName, (extra: Template) => Template> | undefined;

function build(): Record<FixtureName, (extra: Template) => Template> {
  const ec = ecMaterial();
  const rsa = rsaMaterial();
  const cert = makeCertificate('property test');
  const usage = [
    { type: C.CKA_SIGN, value: true },
    { type: C.CKA_VERIFY, value: true },
  ];
  return {
    data: (x) => dataTemplate('fixture data', x),
    certificate: (x) => certTemplate(cert, [{ type: C.CKA_LABEL, value: 'fixture cert' }, ...x]),
    ecPrivate: (x) => ecPrivateTemplate(ec, [{ type: C.CKA_SIGN, value: true }, ...x]),
    ecPublic: (x) => ecPublicTemplate(ec, [{ type: C.CKA_VERIFY, value: true }, ...x]),
    rsaPrivate: (x) =>
      rsaPrivateTemplate(rsa, [
        { type: C.CKA_SIGN, value: true },
        { type: C.CKA_DECRYPT, value: true },
        ...x,
      ]),
    rsaPublic: (x) =>
      rsaPublicTemplate(rsa, [
        { type: C.CKA_VERIFY, value: true },
        { type: C.CKA_ENCRYPT, value: true },
        ...x,
      ]),
    aes: (x) =>
      secretTemplate(C.CKK_AES, Buffer.alloc(32, 7), [
        { type: C.CKA_ENCRYPT, value: true },
        { type: C.CKA_DECRYPT, value: true },
        { type: C.CKA_SIGN, value: true },
        { type: C.CKA_VERIFY, value: true },
        ...x,
      ]),
    hmac: (x) => secretTemplate(C.CKK_GENERIC_SECRET, Buffer.alloc(32, 9), [...usage, ...x]),
  };
}

/** A fixture template with the storage attributes asked for. */
export function fixture(name: FixtureName, token: boolean, priv: boolean): Template {
  built ??= build();
  return built[name]([
    { type: C.CKA_TOKEN, value: token },
    { type: C.CKA_PRIVATE, value: priv },
  ]);
}
