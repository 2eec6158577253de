/**
 * The pkcs11js-compatible API, part three: encryption, key generation, wrapping, derivation and random,
 * plus the functions this token does not offer (CKR_FUNCTION_NOT_SUPPORTED, in pkcs11js's shapes).
 * Output-buffer functions take the caller's Buffer and return the filled slice; the functions pkcs11js
 * runs in its thread pool also take a trailing node-style callback and have a C_*Async promise form.
 * Layer L6.
 * @module
 */
import { type Callback, call, callAsync, deliver } from './call.js';
import {
  bytesArg,
  capacityOf,
  fill,
  fromHandle,
  type Handle,
  type Mechanism,
  outBuffer,
  type Template,
  toHandle,
  toMechanism,
  toTemplate,
} from './convert.js';
import { Pkcs11Crypto } from './pkcs11-crypto.js';

export interface KeyPair {
  privateKey: Handle;
  publicKey: Handle;
}

export class PKCS11 extends Pkcs11Crypto {
  C_EncryptInit(session: Handle, mechanism: Mechanism, key: Handle): void {
    call('C_EncryptInit', () =>
      this.engine.encryptInit(this.s(session), toMechanism(mechanism), fromHandle(key, 'key')),
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
        this.engine.encrypt(this.s(session), bytesArg(inData, 'inData'), capacityOf(out)),
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
        this.engine.encryptUpdate(this.s(session), bytesArg(inData, 'inData'), capacityOf(out)),
      );
    });
  }
  C_EncryptFinal(session: Handle, outData: Buffer): Buffer;
  C_EncryptFinal(session: Handle, outData: Buffer, cb: Callback<Buffer>): void;
  C_EncryptFinal(session: Handle, outData: Buffer, cb?: Callback<Buffer>): Buffer | undefined {
    if (typeof cb === 'function') return deliver(this.C_EncryptFinalAsync(session, outData), cb);
    return call('C_EncryptFinal', () => {
      const out = outBuffer(outData);
      return fill(out, this.engine.encryptFinal(this.s(session), capacityOf(out)));
    });
  }
  C_EncryptFinalAsync(session: Handle, outData: Buffer): Promise<Buffer> {
    return callAsync('C_EncryptFinal', async () => this.C_EncryptFinal(session, outData));
  }

  C_DecryptInit(session: Handle, mechanism: Mechanism, key: Handle): void {
    call('C_DecryptInit', () =>
      this.engine.decryptInit(this.s(session), toMechanism(mechanism), fromHandle(key, 'key')),
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
        this.engine.decrypt(this.s(session), bytesArg(inData, 'inData'), capacityOf(out)),
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
        this.engine.decryptUpdate(this.s(session), bytesArg(inData, 'inData'), capacityOf(out)),
      );
    });
  }
  C_DecryptFinal(session: Handle, outData: Buffer): Buffer;
  C_DecryptFinal(session: Handle, outData: Buffer, cb: Callback<Buffer>): void;
  C_DecryptFinal(session: Handle, outData: Buffer, cb?: Callback<Buffer>): Buffer | undefined {
    if (typeof cb === 'function') return deliver(this.C_DecryptFinalAsync(session, outData), cb);
    return call('C_DecryptFinal', () => {
      const out = outBuffer(outData);
      return fill(out, this.engine.decryptFinal(this.s(session), capacityOf(out)));
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
          this.s(session),
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
        this.engine.generateKey(this.s(session), toMechanism(mechanism), toTemplate(template)),
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
        this.s(session),
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
        this.s(session),
        toMechanism(mechanism),
        toTemplate(pub),
        toTemplate(priv),
      );
      return { privateKey: toHandle(r.privateKey), publicKey: toHandle(r.publicKey) };
    });
  }

  /** Writes the wrapped key into `wrappedKey` and returns the filled slice. */
  C_WrapKey(
    session: Handle,
    mechanism: Mechanism,
    wrappingKey: Handle,
    key: Handle,
    wrappedKey: Buffer,
  ): Buffer;
  C_WrapKey(
    session: Handle,
    mechanism: Mechanism,
    wrappingKey: Handle,
    key: Handle,
    wrappedKey: Buffer,
    cb: Callback<Buffer>,
  ): void;
  C_WrapKey(
    session: Handle,
    mechanism: Mechanism,
    wrappingKey: Handle,
    key: Handle,
    wrappedKey: Buffer,
    cb?: Callback<Buffer>,
  ): Buffer | undefined {
    if (typeof cb === 'function')
      return deliver(this.C_WrapKeyAsync(session, mechanism, wrappingKey, key, wrappedKey), cb);
    return call('C_WrapKey', () => {
      const out = outBuffer(wrappedKey, 'wrappedKey');
      return fill(
        out,
        this.engine.wrapKey(
          this.s(session),
          toMechanism(mechanism),
          fromHandle(wrappingKey, 'wrappingKey'),
          fromHandle(key, 'key'),
          capacityOf(out),
        ),
      );
    });
  }
  C_WrapKeyAsync(
    session: Handle,
    mechanism: Mechanism,
    wrappingKey: Handle,
    key: Handle,
    wrappedKey: Buffer,
  ): Promise<Buffer> {
    return callAsync('C_WrapKey', async () =>
      this.C_WrapKey(session, mechanism, wrappingKey, key, wrappedKey),
    );
  }

  C_UnwrapKey(
    session: Handle,
    mechanism: Mechanism,
    unwrappingKey: Handle,
    wrappedKey: Buffer,
    template: Template,
  ): Handle;
  C_UnwrapKey(
    session: Handle,
    mechanism: Mechanism,
    unwrappingKey: Handle,
    wrappedKey: Buffer,
    template: Template,
    cb: Callback<Handle>,
  ): void;
  C_UnwrapKey(
    session: Handle,
    mechanism: Mechanism,
    unwrappingKey: Handle,
    wrappedKey: Buffer,
    template: Template,
    cb?: Callback<Handle>,
  ): Handle | undefined {
    if (typeof cb === 'function')
      return deliver(
        this.C_UnwrapKeyAsync(session, mechanism, unwrappingKey, wrappedKey, template),
        cb,
      );
    return call('C_UnwrapKey', () =>
      toHandle(
        this.engine.unwrapKey(
          this.s(session),
          toMechanism(mechanism),
          fromHandle(unwrappingKey, 'unwrappingKey'),
          bytesArg(wrappedKey, 'wrappedKey'),
          toTemplate(template),
        ),
      ),
    );
  }
  C_UnwrapKeyAsync(
    session: Handle,
    mechanism: Mechanism,
    unwrappingKey: Handle,
    wrappedKey: Buffer,
    template: Template,
  ): Promise<Handle> {
    return callAsync('C_UnwrapKey', async () =>
      this.C_UnwrapKey(session, mechanism, unwrappingKey, wrappedKey, template),
    );
  }

  C_SeedRandom(session: Handle, buf: Buffer): Buffer {
    return call('C_SeedRandom', () => {
      this.engine.seedRandom(this.s(session), bytesArg(buf, 'seed'));
      return buf;
    });
  }
  /** Fills `buf` with random bytes and returns it. */
  C_GenerateRandom(session: Handle, buf: Buffer): Buffer {
    return call('C_GenerateRandom', () => {
      const out = outBuffer(buf, 'buffer');
      out.set(this.engine.generateRandom(this.s(session), out.length));
      return out;
    });
  }
}

/** The functions pkcs11js also takes with a trailing callback (and offers as C_*Async). */
// biome-ignore format: a list
const CALLBACK_FUNCTIONS = [
  'C_Digest', 'C_DigestFinal', 'C_Sign', 'C_SignFinal', 'C_Verify', 'C_VerifyFinal', 'C_Encrypt',
  'C_EncryptFinal', 'C_Decrypt', 'C_DecryptFinal', 'C_GenerateKey', 'C_GenerateKeyPair',
  'C_DeriveKey', 'C_WrapKey', 'C_UnwrapKey', 'C_DigestEncryptUpdate', 'C_DecryptDigestUpdate',
  'C_SignEncryptUpdate', 'C_DecryptVerifyUpdate',
] as const;

// pkcs11js also has each of them as C_*Callback (the form its C_*Async promisifies): not in its
// declarations, but there at run time and used by its own tests, so here too.
for (const name of CALLBACK_FUNCTIONS) {
  Object.defineProperty(PKCS11.prototype, `${name}Callback`, {
    configurable: true,
    writable: true,
    value(this: PKCS11, ...args: unknown[]): unknown {
      return (this[name] as (...a: unknown[]) => unknown).apply(this, args);
    },
  });
}
