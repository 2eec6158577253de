/**
 * The pkcs11js-compatible API, part two: digest, sign and verify. Output-buffer functions take the
 * caller's Buffer and return the filled slice; the ones pkcs11js runs in its thread pool also take a
 * trailing node-style callback and have a C_*Async promise form. The functions of this family that the
 * token does not offer (recovery, dual-function updates, operation state) exist with pkcs11js's shapes
 * and answer CKR_FUNCTION_NOT_SUPPORTED, so feature probes get a CKR rather than a TypeError. Layer L6.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import { CKR_FUNCTION_NOT_SUPPORTED } from '../pkcs11/constants.js';
import { type Callback, call, callAsync, deliver } from './call.js';
import {
  bytesArg,
  capacityOf,
  fill,
  fromHandle,
  type Handle,
  type Mechanism,
  outBuffer,
  toMechanism,
} from './convert.js';
import { Pkcs11Base } from './pkcs11-base.js';

export class Pkcs11Crypto extends Pkcs11Base {
  protected s(h: Handle): number {
    return fromHandle(h, 'session');
  }

  C_DigestInit(session: Handle, mechanism: Mechanism): void {
    call('C_DigestInit', () => this.engine.digestInit(this.s(session), toMechanism(mechanism)));
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
        this.engine.digest(this.s(session), bytesArg(inData, 'inData'), capacityOf(out)),
      );
    });
  }
  C_DigestAsync(session: Handle, inData: Buffer, outData: Buffer): Promise<Buffer> {
    return callAsync('C_Digest', async () => this.C_Digest(session, inData, outData));
  }
  C_DigestUpdate(session: Handle, inData: Buffer): void {
    call('C_DigestUpdate', () =>
      this.engine.digestUpdate(this.s(session), bytesArg(inData, 'inData')),
    );
  }
  C_DigestKey(session: Handle, key: Handle): void {
    call('C_DigestKey', () => this.engine.digestKey(this.s(session), fromHandle(key, 'key')));
  }
  C_DigestFinal(session: Handle, outData: Buffer): Buffer;
  C_DigestFinal(session: Handle, outData: Buffer, cb: Callback<Buffer>): void;
  C_DigestFinal(session: Handle, outData: Buffer, cb?: Callback<Buffer>): Buffer | undefined {
    if (typeof cb === 'function') return deliver(this.C_DigestFinalAsync(session, outData), cb);
    return call('C_DigestFinal', () => {
      const out = outBuffer(outData);
      return fill(out, this.engine.digestFinal(this.s(session), capacityOf(out)));
    });
  }
  C_DigestFinalAsync(session: Handle, outData: Buffer): Promise<Buffer> {
    return callAsync('C_DigestFinal', async () => this.C_DigestFinal(session, outData));
  }

  C_SignInit(session: Handle, mechanism: Mechanism, key: Handle): void {
    call('C_SignInit', () =>
      this.engine.signInit(this.s(session), toMechanism(mechanism), fromHandle(key, 'key')),
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
        this.engine.sign(this.s(session), bytesArg(inData, 'inData'), capacityOf(out)),
      );
    });
  }
  C_SignAsync(session: Handle, inData: Buffer, outData: Buffer): Promise<Buffer> {
    return callAsync('C_Sign', async () => {
      const out = outBuffer(outData);
      return fill(
        out,
        await this.engine.signAsync(this.s(session), bytesArg(inData, 'inData'), capacityOf(out)),
      );
    });
  }
  C_SignUpdate(session: Handle, inData: Buffer): void {
    call('C_SignUpdate', () => this.engine.signUpdate(this.s(session), bytesArg(inData, 'inData')));
  }
  C_SignFinal(session: Handle, outData: Buffer): Buffer;
  C_SignFinal(session: Handle, outData: Buffer, cb: Callback<Buffer>): void;
  C_SignFinal(session: Handle, outData: Buffer, cb?: Callback<Buffer>): Buffer | undefined {
    if (typeof cb === 'function') return deliver(this.C_SignFinalAsync(session, outData), cb);
    return call('C_SignFinal', () => {
      const out = outBuffer(outData);
      return fill(out, this.engine.signFinal(this.s(session), capacityOf(out)));
    });
  }
  C_SignFinalAsync(session: Handle, outData: Buffer): Promise<Buffer> {
    return callAsync('C_SignFinal', async () => this.C_SignFinal(session, outData));
  }

  C_VerifyInit(session: Handle, mechanism: Mechanism, key: Handle): void {
    call('C_VerifyInit', () =>
      this.engine.verifyInit(this.s(session), toMechanism(mechanism), fromHandle(key, 'key')),
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
        this.s(session),
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
      this.engine.verifyUpdate(this.s(session), bytesArg(inData, 'inData')),
    );
  }
  C_VerifyFinal(session: Handle, signature: Buffer): boolean;
  C_VerifyFinal(session: Handle, signature: Buffer, cb: Callback<boolean>): void;
  C_VerifyFinal(session: Handle, signature: Buffer, cb?: Callback<boolean>): boolean | undefined {
    if (typeof cb === 'function') return deliver(this.C_VerifyFinalAsync(session, signature), cb);
    return call('C_VerifyFinal', () => {
      this.engine.verifyFinal(this.s(session), bytesArg(signature, 'signature'));
      return true;
    });
  }
  C_VerifyFinalAsync(session: Handle, signature: Buffer): Promise<boolean> {
    return callAsync('C_VerifyFinal', async () => this.C_VerifyFinal(session, signature));
  }

  C_SignRecoverInit(_session: Handle, _mechanism: Mechanism, _key: Handle): void {
    call('C_SignRecoverInit', notSupported);
  }
  C_SignRecover(_session: Handle, _inData: Buffer, _outData: Buffer): Buffer {
    return call('C_SignRecover', notSupported);
  }
  C_VerifyRecoverInit(_session: Handle, _mechanism: Mechanism, _key: Handle): void {
    call('C_VerifyRecoverInit', notSupported);
  }
  C_VerifyRecover(_session: Handle, _signature: Buffer, _outData: Buffer): Buffer {
    return call('C_VerifyRecover', notSupported);
  }
  C_GetOperationState(_session: Handle): Buffer {
    return call('C_GetOperationState', notSupported);
  }
  C_SetOperationState(
    _session: Handle,
    _state: Buffer,
    _encryptionKey?: number,
    _authenticationKey?: number,
  ): void {
    call('C_SetOperationState', notSupported);
  }

  C_DigestEncryptUpdate(session: Handle, inData: Buffer, outData: Buffer): Buffer;
  C_DigestEncryptUpdate(s: Handle, i: Buffer, o: Buffer, cb: Callback<Buffer>): void;
  C_DigestEncryptUpdate(_s: Handle, _i: Buffer, _o: Buffer, cb?: Callback<Buffer>) {
    return dual('C_DigestEncryptUpdate', cb);
  }
  C_DigestEncryptUpdateAsync(_s: Handle, _i: Buffer, _o: Buffer): Promise<Buffer> {
    return callAsync('C_DigestEncryptUpdate', async () => notSupported());
  }
  C_DecryptDigestUpdate(session: Handle, inData: Buffer, outData: Buffer): Buffer;
  C_DecryptDigestUpdate(s: Handle, i: Buffer, o: Buffer, cb: Callback<Buffer>): void;
  C_DecryptDigestUpdate(_s: Handle, _i: Buffer, _o: Buffer, cb?: Callback<Buffer>) {
    return dual('C_DecryptDigestUpdate', cb);
  }
  C_DecryptDigestUpdateAsync(_s: Handle, _i: Buffer, _o: Buffer): Promise<Buffer> {
    return callAsync('C_DecryptDigestUpdate', async () => notSupported());
  }
  C_SignEncryptUpdate(session: Handle, inData: Buffer, outData: Buffer): Buffer;
  C_SignEncryptUpdate(s: Handle, i: Buffer, o: Buffer, cb: Callback<Buffer>): void;
  C_SignEncryptUpdate(_s: Handle, _i: Buffer, _o: Buffer, cb?: Callback<Buffer>) {
    return dual('C_SignEncryptUpdate', cb);
  }
  C_SignEncryptUpdateAsync(_s: Handle, _i: Buffer, _o: Buffer): Promise<Buffer> {
    return callAsync('C_SignEncryptUpdate', async () => notSupported());
  }
  C_DecryptVerifyUpdate(session: Handle, inData: Buffer, outData: Buffer): Buffer;
  C_DecryptVerifyUpdate(s: Handle, i: Buffer, o: Buffer, cb: Callback<Buffer>): void;
  C_DecryptVerifyUpdate(_s: Handle, _i: Buffer, _o: Buffer, cb?: Callback<Buffer>) {
    return dual('C_DecryptVerifyUpdate', cb);
  }
  C_DecryptVerifyUpdateAsync(_s: Handle, _i: Buffer, _o: Buffer): Promise<Buffer> {
    return callAsync('C_DecryptVerifyUpdate', async () => notSupported());
  }
}

function notSupported(): never {
  throw new Pkcs11Error(CKR_FUNCTION_NOT_SUPPORTED, 'not offered by this token');
}

/** A dual-function update: not offered; with a callback the error arrives there, as pkcs11js does. */
function dual(method: string, cb: Callback<Buffer> | undefined): Buffer | undefined {
  if (typeof cb === 'function')
    return deliver(
      callAsync(method, async () => notSupported()),
      cb,
    );
  return call(method, notSupported);
}
