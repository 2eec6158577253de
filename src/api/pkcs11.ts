/**
 * The pkcs11js-compatible API, part two: digest, sign, verify, encryption, key generation and random.
 * Output-buffer functions take the caller's Buffer and return the filled slice; the functions pkcs11js
 * runs in its thread pool also take a trailing node-style callback and have a C_*Async promise form.
 * Layer L6.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import type { Output } from '../pkcs11/types.js';
import { type Callback, call, callAsync, deliver } from './call.js';
import {
  bytesArg,
  fromHandle,
  type Handle,
  type Mechanism,
  type Template,
  toHandle,
  toMechanism,
  toTemplate,
} from './convert.js';
import { Pkcs11Base } from './pkcs11-base.js';

export interface KeyPair {
  privateKey: Handle;
  publicKey: Handle;
}

function outBuffer(v: unknown, name = 'outData'): Buffer {
  if (!Buffer.isBuffer(v)) throw new TypeError(`${name} must be a Buffer`);
  return v;
}

/**
 * The C capacity of an output Buffer. pkcs11js hands an empty Buffer to the module as a NULL pointer,
 * which makes the call a length query that leaves the operation active; so does this API.
 */
function capacityOf(out: Buffer): number | null {
  return out.length === 0 ? null : out.length;
}

/** Copies an engine result into the caller's buffer and returns the filled slice. */
function fill(out: Buffer, r: Output): Buffer {
  if (r.bytes) out.set(r.bytes);
  return out.subarray(0, r.length);
}

const unsupported = (what: string) => () => {
  throw new Pkcs11Error(C.CKR_FUNCTION_NOT_SUPPORTED, `${what} is not supported by this token`);
};

export class PKCS11 extends Pkcs11Base {
  #s(h: Handle): number {
    return fromHandle(h, 'session');
  }

  C_DigestInit(session: Handle, mechanism: Mechanism): void {
    call('C_DigestInit', () => this.engine.digestInit(this.#s(session), toMechanism(mechanism)));
  }
  C_Digest(session: Handle, inData: Buffer, outData: Buffer): Buffer;
  C_Digest(session: Handle, inData: Buffer, outData: Buffer, cb: Callback<Buffer>): void;
  C_Digest(
    session: Handle,
    inData: Buffer,
    outData: Buffer,
    cb?: Callback<Buffer>,
  ): Buffer | undefined {
    if (typeof cb === 'function') return deliver(this.C_DigestAsync(session, inData, outData), cb);
    return call('C_Digest', () => {
      const out = outBuffer(outData);
      return fill(
        out,
        this.engine.digest(this.#s(session), bytesArg(inData, 'inData'), capacityOf(out)),
      );
    });
  }
  C_DigestAsync(session: Handle, inData: Buffer, outData: Buffer): Promise<Buffer> {
    return callAsync('C_Digest', async () => this.C_Digest(session, inData, outData));
  }
  C_DigestUpdate(session: Handle, inData: Buffer): void {
    call('C_DigestUpdate', () =>
      this.engine.digestUpdate(this.#s(session), bytesArg(inData, 'inData')),
    );
  }
  C_DigestKey(session: Handle, key: Handle): void {
    call('C_DigestKey', () => this.engine.digestKey(this.#s(session), fromHandle(key, 'key')));
  }
  C_DigestFinal(session: Handle, outData: Buffer): Buffer;
  C_DigestFinal(session: Handle, outData: Buffer, cb: Callback<Buffer>): void;
  C_DigestFinal(session: Handle, outData: Buffer, cb?: Callback<Buffer>): Buffer | undefined {
    if (typeof cb === 'function') return deliver(this.C_DigestFinalAsync(session, outData), cb);
    return call('C_DigestFinal', () => {
      const out = outBuffer(outData);
      return fill(out, this.engine.digestFinal(this.#s(session), capacityOf(out)));
    });
  }
  C_DigestFinalAsync(session: Handle, outData: Buffer): Promise<Buffer> {
    return callAsync('C_DigestFinal', async () => this.C_DigestFinal(session, outData));
  }

  C_SignInit(session: Handle, mechanism: Mechanism, key: Handle): void {
    call('C_SignInit', () =>
      this.engine.signInit(this.#s(session), toMechanism(mechanism), fromHandle(key, 'key')),
    );
  }
  C_Sign(session: Handle, inData: Buffer, outData: Buffer): Buffer;
  C_Sign(session: Handle, inData: Buffer, outData: Buffer, cb: Callback<Buffer>): void;
  C_Sign(
    session: Handle,
    inData: Buffer,
    outData: Buffer,
    cb?: Callback<Buffer>,
  ): Buffer | undefined {
    if (typeof cb === 'function') return deliver(this.C_SignAsync(session, inData, outData), cb);
    return call('C_Sign', () => {
      const out = outBuffer(outData);
      return fill(
        out,
        this.engine.sign(this.#s(session), bytesArg(inData, 'inData'), capacityOf(out)),
      );
    });
  }
  C_SignAsync(session: Handle, inData: Buffer, outData: Buffer): Promise<Buffer> {
    return callAsync('C_Sign', async () => {
      const out = outBuffer(outData);
      return fill(
        out,
        await this.engine.signAsync(this.#s(session), bytesArg(inData, 'inData'), capacityOf(out)),
      );
    });
  }
  C_SignUpdate(session: Handle, inData: Buffer): void {
    call('C_SignUpdate', () =>
      this.engine.signUpdate(this.#s(session), bytesArg(inData, 'inData')),
    );
  }
  C_SignFinal(session: Handle, outData: Buffer): Buffer;
  C_SignFinal(session: Handle, outData: Buffer, cb: Callback<Buffer>): void;
  C_SignFinal(session: Handle, outData: Buffer, cb?: Callback<Buffer>): Buffer | undefined {
    if (typeof cb === 'function') return deliver(this.C_SignFinalAsync(session, outData), cb);
    return call('C_SignFinal', () => {
      const out = outBuffer(outData);
      return fill(out, this.engine.signFinal(this.#s(session), capacityOf(out)));
    });
  }
  C_SignFinalAsync(session: Handle, outData: Buffer): Promise<Buffer> {
    return callAsync('C_SignFinal', async () => this.C_SignFinal(session, outData));
  }

  C_VerifyInit(session: Handle, mechanism: Mechanism, key: Handle): void {
    call('C_VerifyInit', () =>
      this.engine.verifyInit(this.#s(session), toMechanism(mechanism), fromHandle(key, 'key')),
    );
  }
  /** True when the signature verifies; throws CKR_SIGNATURE_INVALID otherwise (as pkcs11js does). */
  C_Verify(session: Handle, inData: Buffer, signature: Buffer): boolean;
  C_Verify(session: Handle, inData: Buffer, signature: Buffer, cb: Callback<boolean>): void;
  C_Verify(
    session: Handle,
    inData: Buffer,
    signature: Buffer,
    cb?: Callback<boolean>,
  ): boolean | undefined {
    if (typeof cb === 'function')
      return deliver(this.C_VerifyAsync(session, inData, signature), cb);
    return call('C_Verify', () => {
      this.engine.verify(
        this.#s(session),
        bytesArg(inData, 'inData'),
        bytesArg(signature, 'signature'),
      );
      return true;
    });
  }
  C_VerifyAsync(session: Handle, inData: Buffer, signature: Buffer): Promise<boolean> {
    return callAsync('C_Verify', async () => this.C_Verify(session, inData, signature));
  }
  C_VerifyUpdate(session: Handle, inData: Buffer): void {
    call('C_VerifyUpdate', () =>
      this.engine.verifyUpdate(this.#s(session), bytesArg(inData, 'inData')),
    );
  }
  C_VerifyFinal(session: Handle, signature: Buffer): boolean;
  C_VerifyFinal(session: Handle, signature: Buffer, cb: Callback<boolean>): void;
  C_VerifyFinal(session: Handle, signature: Buffer, cb?: Callback<boolean>): boolean | undefined {
    if (typeof cb === 'function') return deliver(this.C_VerifyFinalAsync(session, signature), cb);
    return call('C_VerifyFinal', () => {
      this.engine.verifyFinal(this.#s(session), bytesArg(signature, 'signature'));
      return true;
    });
  }
  C_VerifyFinalAsync(session: Handle, signature: Buffer): Promise<boolean> {
    return callAsync('C_VerifyFinal', async () => this.C_VerifyFinal(session, signature));
  }

  C_EncryptInit(session: Handle, mechanism: Mechanism, key: Handle): void {
    call('C_EncryptInit', () =>
      this.engine.encryptInit(this.#s(session), toMechanism(mechanism), fromHandle(key, 'key')),
    );
  }
  C_Encrypt(session: Handle, inData: Buffer, outData: Buffer): Buffer;
  C_Encrypt(session: Handle, inData: Buffer, outData: Buffer, cb: Callback<Buffer>): void;
  C_Encrypt(
    session: Handle,
    inData: Buffer,
    outData: Buffer,
    cb?: Callback<Buffer>,
  ): Buffer | undefined {
    if (typeof cb === 'function') return deliver(this.C_EncryptAsync(session, inData, outData), cb);
    return call('C_Encrypt', () => {
      const out = outBuffer(outData);
      return fill(
        out,
        this.engine.encrypt(this.#s(session), bytesArg(inData, 'inData'), capacityOf(out)),
      );
    });
  }
  C_EncryptAsync(session: Handle, inData: Buffer, outData: Buffer): Promise<Buffer> {
    return callAsync('C_Encrypt', async () => this.C_Encrypt(session, inData, outData));
  }
  C_EncryptUpdate(session: Handle, inData: Buffer, outData: Buffer): Buffer {
    return call('C_EncryptUpdate', () => {
      const out = outBuffer(outData);
      return fill(
        out,
        this.engine.encryptUpdate(this.#s(session), bytesArg(inData, 'inData'), capacityOf(out)),
      );
    });
  }
  C_EncryptFinal(session: Handle, outData: Buffer): Buffer;
  C_EncryptFinal(session: Handle, outData: Buffer, cb: Callback<Buffer>): void;
  C_EncryptFinal(session: Handle, outData: Buffer, cb?: Callback<Buffer>): Buffer | undefined {
    if (typeof cb === 'function') return deliver(this.C_EncryptFinalAsync(session, outData), cb);
    return call('C_EncryptFinal', () => {
      const out = outBuffer(outData);
      return fill(out, this.engine.encryptFinal(this.#s(session), capacityOf(out)));
    });
  }
  C_EncryptFinalAsync(session: Handle, outData: Buffer): Promise<Buffer> {
    return callAsync('C_EncryptFinal', async () => this.C_EncryptFinal(session, outData));
  }

  C_DecryptInit(session: Handle, mechanism: Mechanism, key: Handle): void {
    call('C_DecryptInit', () =>
      this.engine.decryptInit(this.#s(session), toMechanism(mechanism), fromHandle(key, 'key')),
    );
  }
  C_Decrypt(session: Handle, inData: Buffer, outData: Buffer): Buffer;
  C_Decrypt(session: Handle, inData: Buffer, outData: Buffer, cb: Callback<Buffer>): void;
  C_Decrypt(
    session: Handle,
    inData: Buffer,
    outData: Buffer,
    cb?: Callback<Buffer>,
  ): Buffer | undefined {
    if (typeof cb === 'function') return deliver(this.C_DecryptAsync(session, inData, outData), cb);
    return call('C_Decrypt', () => {
      const out = outBuffer(outData);
      return fill(
        out,
        this.engine.decrypt(this.#s(session), bytesArg(inData, 'inData'), capacityOf(out)),
      );
    });
  }
  C_DecryptAsync(session: Handle, inData: Buffer, outData: Buffer): Promise<Buffer> {
    return callAsync('C_Decrypt', async () => this.C_Decrypt(session, inData, outData));
  }
  C_DecryptUpdate(session: Handle, inData: Buffer, outData: Buffer): Buffer {
    return call('C_DecryptUpdate', () => {
      const out = outBuffer(outData);
      return fill(
        out,
        this.engine.decryptUpdate(this.#s(session), bytesArg(inData, 'inData'), capacityOf(out)),
      );
    });
  }
  C_DecryptFinal(session: Handle, outData: Buffer): Buffer;
  C_DecryptFinal(session: Handle, outData: Buffer, cb: Callback<Buffer>): void;
  C_DecryptFinal(session: Handle, outData: Buffer, cb?: Callback<Buffer>): Buffer | undefined {
    if (typeof cb === 'function') return deliver(this.C_DecryptFinalAsync(session, outData), cb);
    return call('C_DecryptFinal', () => {
      const out = outBuffer(outData);
      return fill(out, this.engine.decryptFinal(this.#s(session), capacityOf(out)));
    });
  }
  C_DecryptFinalAsync(session: Handle, outData: Buffer): Promise<Buffer> {
    return callAsync('C_DecryptFinal', async () => this.C_DecryptFinal(session, outData));
  }

  C_DeriveKey(session: Handle, mechanism: Mechanism, key: Handle, template: Template): Handle;
  C_DeriveKey(
    session: Handle,
    mechanism: Mechanism,
    key: Handle,
    template: Template,
    cb: Callback<Handle>,
  ): void;
  C_DeriveKey(
    session: Handle,
    mechanism: Mechanism,
    key: Handle,
    template: Template,
    cb?: Callback<Handle>,
  ): Handle | undefined {
    if (typeof cb === 'function')
      return deliver(this.C_DeriveKeyAsync(session, mechanism, key, template), cb);
    return call('C_DeriveKey', () =>
      toHandle(
        this.engine.deriveKey(
          this.#s(session),
          toMechanism(mechanism),
          fromHandle(key, 'key'),
          toTemplate(template),
        ),
      ),
    );
  }
  C_DeriveKeyAsync(
    session: Handle,
    mechanism: Mechanism,
    key: Handle,
    template: Template,
  ): Promise<Handle> {
    return callAsync('C_DeriveKey', async () =>
      this.C_DeriveKey(session, mechanism, key, template),
    );
  }

  C_GenerateKey(session: Handle, mechanism: Mechanism, template: Template): Handle;
  C_GenerateKey(
    session: Handle,
    mechanism: Mechanism,
    template: Template,
    cb: Callback<Handle>,
  ): void;
  C_GenerateKey(
    session: Handle,
    mechanism: Mechanism,
    template: Template,
    cb?: Callback<Handle>,
  ): Handle | undefined {
    if (typeof cb === 'function')
      return deliver(this.C_GenerateKeyAsync(session, mechanism, template), cb);
    return call('C_GenerateKey', () =>
      toHandle(
        this.engine.generateKey(this.#s(session), toMechanism(mechanism), toTemplate(template)),
      ),
    );
  }
  C_GenerateKeyAsync(session: Handle, mechanism: Mechanism, template: Template): Promise<Handle> {
    return callAsync('C_GenerateKey', async () => this.C_GenerateKey(session, mechanism, template));
  }
  C_GenerateKeyPair(session: Handle, mechanism: Mechanism, pub: Template, priv: Template): KeyPair;
  C_GenerateKeyPair(
    session: Handle,
    m: Mechanism,
    pub: Template,
    priv: Template,
    cb: Callback<KeyPair>,
  ): void;
  C_GenerateKeyPair(
    session: Handle,
    mechanism: Mechanism,
    pub: Template,
    priv: Template,
    cb?: Callback<KeyPair>,
  ): KeyPair | undefined {
    if (typeof cb === 'function')
      return deliver(this.C_GenerateKeyPairAsync(session, mechanism, pub, priv), cb);
    return call('C_GenerateKeyPair', () => {
      const r = this.engine.generateKeyPair(
        this.#s(session),
        toMechanism(mechanism),
        toTemplate(pub),
        toTemplate(priv),
      );
      return { privateKey: toHandle(r.privateKey), publicKey: toHandle(r.publicKey) };
    });
  }
  C_GenerateKeyPairAsync(
    session: Handle,
    mechanism: Mechanism,
    pub: Template,
    priv: Template,
  ): Promise<KeyPair> {
    return callAsync('C_GenerateKeyPair', async () => {
      const r = await this.engine.generateKeyPairAsync(
        this.#s(session),
        toMechanism(mechanism),
        toTemplate(pub),
        toTemplate(priv),
      );
      return { privateKey: toHandle(r.privateKey), publicKey: toHandle(r.publicKey) };
    });
  }

  C_SeedRandom(session: Handle, buf: Buffer): Buffer {
    return call('C_SeedRandom', () => {
      this.engine.seedRandom(this.#s(session), bytesArg(buf, 'seed'));
      return buf;
    });
  }
  /** Fills `buf` with random bytes and returns it. */
  C_GenerateRandom(session: Handle, buf: Buffer): Buffer {
    return call('C_GenerateRandom', () => {
      const out = outBuffer(buf, 'buffer');
      out.set(this.engine.generateRandom(this.#s(session), out.length));
      return out;
    });
  }

  C_GetOperationState = unsupported('C_GetOperationState');
  C_SetOperationState = unsupported('C_SetOperationState');
  C_SignRecoverInit = unsupported('C_SignRecoverInit');
  C_SignRecover = unsupported('C_SignRecover');
  C_VerifyRecoverInit = unsupported('C_VerifyRecoverInit');
  C_VerifyRecover = unsupported('C_VerifyRecover');
  C_DigestEncryptUpdate = unsupported('C_DigestEncryptUpdate');
  C_DecryptDigestUpdate = unsupported('C_DecryptDigestUpdate');
  C_SignEncryptUpdate = unsupported('C_SignEncryptUpdate');
  C_DecryptVerifyUpdate = unsupported('C_DecryptVerifyUpdate');
}
