/**
 * Cryptoki over a native PKCS#11 module loaded with pkcs11js (a dev dependency): lets the RPC server
 * front SoftHSMv2 or any other .so, for interop tests and for measuring our server against
 * `p11-kit server` in front of the same module.
 *
 * pkcs11js is not a C API: it cannot pass a NULL output buffer, it throws for a whole C_GetAttributeValue
 * when one attribute is sensitive or unknown, and its module state is per process. So this adapter
 * answers size queries by running the operation once into a large buffer and keeping the result for the
 * call that follows, queries attributes one at a time, and shares one initialized module between the
 * connections (each tracks and closes its own sessions; login state, being per process in the module,
 * is shared). Test and bench code: the package does not ship it.
 * @module
 */
import type * as P from 'pkcs11js';
import { Pkcs11Error } from '../../src/errors.js';
import * as C from '../../src/pkcs11/constants.js';
import type {
  AttributeAnswer,
  AttributeQuery,
  InitializeArgs,
  MechanismInfo,
  ModuleInfo,
  Output,
  RawAttribute,
  RawMechanism,
  SessionInfo,
  SlotInfo,
  TokenInfo,
} from '../../src/pkcs11/types.js';
import type {
  AttributeValues,
  Cryptoki240,
  CryptokiAsync,
  KeyPairHandles,
} from '../../src/token/cryptoki.js';

type Lib = InstanceType<typeof P.PKCS11>;

/** One loaded module, initialized while at least one connection has called C_Initialize. */
export class Pkcs11jsModule {
  readonly lib: Lib;
  #users = 0;

  constructor(lib: Lib) {
    this.lib = lib;
  }

  /** Loads `path` with pkcs11js (imported here so the package never needs it at run time). */
  static async load(path: string): Promise<Pkcs11jsModule> {
    const mod = (await import('pkcs11js')) as unknown as { default?: typeof P } & typeof P;
    const lib = new (mod.default ?? mod).PKCS11();
    lib.load(path);
    return new Pkcs11jsModule(lib);
  }

  acquire(): void {
    if (this.#users === 0) call(() => this.lib.C_Initialize({ flags: C.CKF_OS_LOCKING_OK }));
    this.#users++;
  }

  release(): void {
    if (this.#users === 0) return;
    this.#users--;
    if (this.#users === 0) call(() => this.lib.C_Finalize());
  }

  /** A new application over this module (the factory the server takes). */
  application(options: { async?: boolean } = {}): Pkcs11jsCryptoki {
    return new Pkcs11jsCryptoki(this, options.async ?? false);
  }
}

/** Runs a pkcs11js call, turning its errors into Pkcs11Error with the same code. */
function call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw asPkcs11Error(e);
  }
}

function asPkcs11Error(e: unknown): Pkcs11Error {
  if (e instanceof Pkcs11Error) return e;
  const code = (e as { code?: unknown }).code;
  const rv = typeof code === 'number' && code > 0 ? code : C.CKR_GENERAL_ERROR;
  return new Pkcs11Error(rv, `pkcs11js: ${(e as Error).message}`, { cause: e });
}

const handle = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(n)));
  return b;
};
const num = (b: Buffer): number => Number(b.readBigUInt64LE());
/**
 * A CK_ULONG field of CK_TOKEN_INFO as pkcs11js reports it: counts cut to 32 bits (so ~0UL arrives as
 * 0xffffffff) and memory sizes as bigint. Both forms of CK_UNAVAILABLE_INFORMATION become -1.
 */
function ulong(v: number | bigint): number {
  if (typeof v === 'bigint') return Number(BigInt.asIntN(64, v));
  return v === 0xffff_ffff || v >= 2 ** 64 ? -1 : v;
}
const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

function template(t: readonly RawAttribute[]): P.Template {
  return t.map((a) => {
    if (Array.isArray(a.value)) {
      throw new Pkcs11Error(C.CKR_ATTRIBUTE_VALUE_INVALID, 'pkcs11js cannot pass nested templates');
    }
    return { type: a.type, value: Buffer.from(a.value) };
  });
}

function mechanism(m: RawMechanism | null): P.Mechanism {
  // A 2.40 module knows no NULL-mechanism cancel (3.0), and pkcs11js cannot pass one.
  if (m === null) throw new Pkcs11Error(C.CKR_ARGUMENTS_BAD, 'NULL mechanism');
  const p = m.parameter;
  if (p === undefined) return { mechanism: m.mechanism };
  if (p instanceof Uint8Array) return { mechanism: m.mechanism, parameter: Buffer.from(p) };
  if (typeof p === 'number') return { mechanism: m.mechanism, parameter: p };
  const params: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) params[k] = v instanceof Uint8Array ? Buffer.from(v) : v;
  return { mechanism: m.mechanism, parameter: params as unknown as P.IParams };
}

/** Output room used when the caller only asked for a length. */
const SCRATCH = 16 * 1024;

/** A 2.40 module: none of the 3.0 calls (V3Call), so the RPC server answers them CKR_FUNCTION_NOT_SUPPORTED. */
export class Pkcs11jsCryptoki implements Cryptoki240, Omit<CryptokiAsync, 'loginUserAsync'> {
  readonly #module: Pkcs11jsModule;
  readonly #lib: Lib;
  readonly #async: boolean;
  #initialized = false;
  /** session → slot, for C_CloseAllSessions and for cleanup at finalize. */
  readonly #sessions = new Map<number, number>();
  /** Results computed for a length query, waiting for the call that fetches them. */
  readonly #pending = new Map<string, Uint8Array>();

  constructor(module: Pkcs11jsModule, useAsync: boolean) {
    this.#module = module;
    this.#lib = module.lib;
    this.#async = useAsync;
  }

  #lib_(): Lib {
    if (!this.#initialized) throw new Pkcs11Error(C.CKR_CRYPTOKI_NOT_INITIALIZED);
    return this.#lib;
  }

  initialize(args?: InitializeArgs): void {
    if (this.#initialized) throw new Pkcs11Error(C.CKR_CRYPTOKI_ALREADY_INITIALIZED);
    if (args?.reservedIsNull === false) throw new Pkcs11Error(C.CKR_ARGUMENTS_BAD, 'pReserved');
    this.#module.acquire();
    this.#initialized = true;
  }

  finalize(): void {
    const lib = this.#lib_();
    for (const s of this.#sessions.keys()) {
      try {
        lib.C_CloseSession(handle(s));
      } catch {
        // Already gone (closed by another connection's C_CloseAllSessions): nothing to undo.
      }
    }
    this.#sessions.clear();
    this.#pending.clear();
    this.#initialized = false;
    this.#module.release();
  }

  getInfo(): ModuleInfo {
    return call(() => this.#lib_().C_GetInfo());
  }

  getSlotList(tokenPresent: boolean): number[] {
    return call(() => this.#lib_().C_GetSlotList(tokenPresent)).map(num);
  }

  getSlotInfo(slotId: number): SlotInfo {
    return call(() => this.#lib_().C_GetSlotInfo(handle(slotId)));
  }

  getTokenInfo(slotId: number): TokenInfo {
    const t = call(() => this.#lib_().C_GetTokenInfo(handle(slotId)));
    const u = (k: keyof TokenInfo) => ulong(t[k] as number | bigint);
    return {
      ...t,
      maxSessionCount: u('maxSessionCount'),
      sessionCount: u('sessionCount'),
      maxRwSessionCount: u('maxRwSessionCount'),
      rwSessionCount: u('rwSessionCount'),
      maxPinLen: u('maxPinLen'),
      minPinLen: u('minPinLen'),
      totalPublicMemory: u('totalPublicMemory'),
      freePublicMemory: u('freePublicMemory'),
      totalPrivateMemory: u('totalPrivateMemory'),
      freePrivateMemory: u('freePrivateMemory'),
    };
  }

  getMechanismList(slotId: number): number[] {
    return call(() => this.#lib_().C_GetMechanismList(handle(slotId)));
  }

  getMechanismInfo(slotId: number, type: number): MechanismInfo {
    return call(() => this.#lib_().C_GetMechanismInfo(handle(slotId), type));
  }

  initToken(slotId: number, soPin: Uint8Array, label: Uint8Array): void {
    call(() => this.#lib_().C_InitToken(handle(slotId), text(soPin), text(label)));
  }

  initPin(session: number, pin: Uint8Array): void {
    call(() => this.#lib_().C_InitPIN(handle(session), text(pin)));
  }

  setPin(session: number, oldPin: Uint8Array, newPin: Uint8Array): void {
    call(() => this.#lib_().C_SetPIN(handle(session), text(oldPin), text(newPin)));
  }

  openSession(slotId: number, flags: number): number {
    const s = num(call(() => this.#lib_().C_OpenSession(handle(slotId), flags)));
    this.#sessions.set(s, slotId);
    return s;
  }

  closeSession(session: number): void {
    call(() => this.#lib_().C_CloseSession(handle(session)));
    this.#sessions.delete(session);
  }

  closeAllSessions(slotId: number): void {
    // Only this application's sessions: the module's own C_CloseAllSessions would close everyone's.
    call(() => this.#lib_().C_GetSlotInfo(handle(slotId)));
    for (const [s, slot] of this.#sessions) if (slot === slotId) this.closeSession(s);
  }

  getSessionInfo(session: number): SessionInfo {
    const i = call(() => this.#lib_().C_GetSessionInfo(handle(session)));
    return { slotID: num(i.slotID), state: i.state, flags: i.flags, deviceError: i.deviceError };
  }

  login(session: number, userType: number, pin: Uint8Array): void {
    call(() => this.#lib_().C_Login(handle(session), userType, text(pin)));
  }

  logout(session: number): void {
    call(() => this.#lib_().C_Logout(handle(session)));
  }

  createObject(session: number, t: RawAttribute[]): number {
    return num(call(() => this.#lib_().C_CreateObject(handle(session), template(t))));
  }

  copyObject(session: number, object: number, t: RawAttribute[]): number {
    return num(call(() => this.#lib_().C_CopyObject(handle(session), handle(object), template(t))));
  }

  destroyObject(session: number, object: number): void {
    call(() => this.#lib_().C_DestroyObject(handle(session), handle(object)));
  }

  getObjectSize(session: number, object: number): number {
    return call(() => this.#lib_().C_GetObjectSize(handle(session), handle(object)));
  }

  getAttributeValue(session: number, object: number, queries: AttributeQuery[]): AttributeValues {
    const lib = this.#lib_();
    const [s, o] = [handle(session), handle(object)];
    let rv = C.CKR_OK;
    const answers = queries.map((q): AttributeAnswer => {
      let value: Buffer;
      try {
        value = (lib.C_GetAttributeValue(s, o, [{ type: q.type }])[0] as P.AttributeResult).value;
      } catch (e) {
        const err = asPkcs11Error(e);
        if (err.code !== C.CKR_ATTRIBUTE_SENSITIVE && err.code !== C.CKR_ATTRIBUTE_TYPE_INVALID) {
          throw err;
        }
        rv = err.code;
        return { type: q.type, length: -1 };
      }
      if (q.capacity === null) return { type: q.type, length: value.length };
      if (q.capacity < value.length) {
        rv = rv === C.CKR_OK ? C.CKR_BUFFER_TOO_SMALL : rv;
        return { type: q.type, length: -1 };
      }
      return { type: q.type, length: value.length, value: new Uint8Array(value) };
    });
    return { rv, answers };
  }

  setAttributeValue(session: number, object: number, t: RawAttribute[]): void {
    call(() => this.#lib_().C_SetAttributeValue(handle(session), handle(object), template(t)));
  }

  findObjectsInit(session: number, t: RawAttribute[]): void {
    call(() => this.#lib_().C_FindObjectsInit(handle(session), template(t)));
  }

  findObjects(session: number, maxCount: number): number[] {
    return call(() => this.#lib_().C_FindObjects(handle(session), maxCount)).map(num);
  }

  findObjectsFinal(session: number): void {
    call(() => this.#lib_().C_FindObjectsFinal(handle(session)));
  }

  /**
   * An output-buffer call: the real call runs once into a buffer large enough; a length query or too
   * small a capacity keeps its result for the retry, as the operation stays active in C.
   */
  #output(
    session: number,
    kind: string,
    capacity: number | null,
    hint: number,
    run: (out: Buffer) => Buffer,
  ): Output {
    const key = `${session}:${kind}`;
    const result =
      this.#pending.get(key) ??
      call(() => run(Buffer.alloc(Math.max(capacity ?? 0, hint + SCRATCH))));
    if (capacity === null || capacity < result.length) {
      this.#pending.set(key, result);
      if (capacity === null) return { length: result.length, bytes: null };
      throw new Pkcs11Error(C.CKR_BUFFER_TOO_SMALL, 'output buffer', {
        requiredLength: result.length,
      });
    }
    this.#pending.delete(key);
    return { length: result.length, bytes: new Uint8Array(result) };
  }

  #init(session: number, kind: string): void {
    this.#pending.delete(`${session}:${kind}`);
  }

  encryptInit(session: number, m: RawMechanism | null, key: number): void {
    this.#init(session, 'encrypt');
    call(() => this.#lib_().C_EncryptInit(handle(session), mechanism(m), handle(key)));
  }

  encrypt(session: number, data: Uint8Array, capacity: number | null): Output {
    const lib = this.#lib_();
    return this.#output(session, 'encrypt', capacity, data.length, (out) =>
      lib.C_Encrypt(handle(session), Buffer.from(data), out),
    );
  }

  encryptUpdate(session: number, part: Uint8Array, capacity: number | null): Output {
    const lib = this.#lib_();
    return this.#output(session, 'encrypt', capacity, part.length, (out) =>
      lib.C_EncryptUpdate(handle(session), Buffer.from(part), out),
    );
  }

  encryptFinal(session: number, capacity: number | null): Output {
    const lib = this.#lib_();
    return this.#output(session, 'encrypt', capacity, 0, (out) =>
      lib.C_EncryptFinal(handle(session), out),
    );
  }

  decryptInit(session: number, m: RawMechanism | null, key: number): void {
    this.#init(session, 'decrypt');
    call(() => this.#lib_().C_DecryptInit(handle(session), mechanism(m), handle(key)));
  }

  decrypt(session: number, data: Uint8Array, capacity: number | null): Output {
    const lib = this.#lib_();
    return this.#output(session, 'decrypt', capacity, data.length, (out) =>
      lib.C_Decrypt(handle(session), Buffer.from(data), out),
    );
  }

  decryptUpdate(session: number, part: Uint8Array, capacity: number | null): Output {
    const lib = this.#lib_();
    return this.#output(session, 'decrypt', capacity, part.length, (out) =>
      lib.C_DecryptUpdate(handle(session), Buffer.from(part), out),
    );
  }

  decryptFinal(session: number, capacity: number | null): Output {
    const lib = this.#lib_();
    return this.#output(session, 'decrypt', capacity, 0, (out) =>
      lib.C_DecryptFinal(handle(session), out),
    );
  }

  digestInit(session: number, m: RawMechanism | null): void {
    this.#init(session, 'digest');
    call(() => this.#lib_().C_DigestInit(handle(session), mechanism(m)));
  }

  digest(session: number, data: Uint8Array, capacity: number | null): Output {
    const lib = this.#lib_();
    return this.#output(session, 'digest', capacity, 0, (out) =>
      lib.C_Digest(handle(session), Buffer.from(data), out),
    );
  }

  digestUpdate(session: number, part: Uint8Array): void {
    call(() => this.#lib_().C_DigestUpdate(handle(session), Buffer.from(part)));
  }

  digestKey(session: number, key: number): void {
    call(() => this.#lib_().C_DigestKey(handle(session), handle(key)));
  }

  digestFinal(session: number, capacity: number | null): Output {
    const lib = this.#lib_();
    return this.#output(session, 'digest', capacity, 0, (out) =>
      lib.C_DigestFinal(handle(session), out),
    );
  }

  signInit(session: number, m: RawMechanism | null, key: number): void {
    this.#init(session, 'sign');
    call(() => this.#lib_().C_SignInit(handle(session), mechanism(m), handle(key)));
  }

  sign(session: number, data: Uint8Array, capacity: number | null): Output {
    const lib = this.#lib_();
    return this.#output(session, 'sign', capacity, 0, (out) =>
      lib.C_Sign(handle(session), Buffer.from(data), out),
    );
  }

  async signAsync(session: number, data: Uint8Array, capacity: number | null): Promise<Output> {
    const key = `${session}:sign`;
    if (!this.#async || this.#pending.has(key)) return this.sign(session, data, capacity);
    const lib = this.#lib_();
    const out = Buffer.alloc(Math.max(capacity ?? 0, SCRATCH));
    let result: Buffer;
    try {
      result = await lib.C_SignAsync(handle(session), Buffer.from(data), out);
    } catch (e) {
      throw asPkcs11Error(e);
    }
    this.#pending.set(key, result);
    return this.sign(session, data, capacity);
  }

  signUpdate(session: number, part: Uint8Array): void {
    call(() => this.#lib_().C_SignUpdate(handle(session), Buffer.from(part)));
  }

  signFinal(session: number, capacity: number | null): Output {
    const lib = this.#lib_();
    return this.#output(session, 'sign', capacity, 0, (out) =>
      lib.C_SignFinal(handle(session), out),
    );
  }

  verifyInit(session: number, m: RawMechanism | null, key: number): void {
    call(() => this.#lib_().C_VerifyInit(handle(session), mechanism(m), handle(key)));
  }

  verify(session: number, data: Uint8Array, signature: Uint8Array): void {
    const ok = call(() =>
      this.#lib_().C_Verify(handle(session), Buffer.from(data), Buffer.from(signature)),
    );
    if (!ok) throw new Pkcs11Error(C.CKR_SIGNATURE_INVALID);
  }

  async verifyAsync(session: number, data: Uint8Array, signature: Uint8Array): Promise<void> {
    if (!this.#async) return this.verify(session, data, signature);
    let ok: boolean;
    try {
      ok = await this.#lib_().C_VerifyAsync(
        handle(session),
        Buffer.from(data),
        Buffer.from(signature),
      );
    } catch (e) {
      throw asPkcs11Error(e);
    }
    if (!ok) throw new Pkcs11Error(C.CKR_SIGNATURE_INVALID);
  }

  verifyUpdate(session: number, part: Uint8Array): void {
    call(() => this.#lib_().C_VerifyUpdate(handle(session), Buffer.from(part)));
  }

  verifyFinal(session: number, signature: Uint8Array): void {
    const ok = call(() => this.#lib_().C_VerifyFinal(handle(session), Buffer.from(signature)));
    if (!ok) throw new Pkcs11Error(C.CKR_SIGNATURE_INVALID);
  }

  generateKey(session: number, m: RawMechanism, t: RawAttribute[]): number {
    return num(call(() => this.#lib_().C_GenerateKey(handle(session), mechanism(m), template(t))));
  }

  generateKeyPair(
    session: number,
    m: RawMechanism,
    pub: RawAttribute[],
    priv: RawAttribute[],
  ): KeyPairHandles {
    const lib = this.#lib_();
    const k = call(() =>
      lib.C_GenerateKeyPair(handle(session), mechanism(m), template(pub), template(priv)),
    );
    return { publicKey: num(k.publicKey), privateKey: num(k.privateKey) };
  }

  async generateKeyPairAsync(
    session: number,
    m: RawMechanism,
    pub: RawAttribute[],
    priv: RawAttribute[],
  ): Promise<KeyPairHandles> {
    if (!this.#async) return this.generateKeyPair(session, m, pub, priv);
    const lib = this.#lib_();
    try {
      const k = await lib.C_GenerateKeyPairAsync(
        handle(session),
        mechanism(m),
        template(pub),
        template(priv),
      );
      return { publicKey: num(k.publicKey), privateKey: num(k.privateKey) };
    } catch (e) {
      throw asPkcs11Error(e);
    }
  }

  async loginAsync(session: number, userType: number, pin: Uint8Array): Promise<void> {
    this.login(session, userType, pin);
  }

  wrapKey(
    session: number,
    m: RawMechanism,
    wrappingKey: number,
    key: number,
    capacity: number | null,
  ): Output {
    const lib = this.#lib_();
    return this.#output(session, 'wrap', capacity, 0, (out) =>
      lib.C_WrapKey(handle(session), mechanism(m), handle(wrappingKey), handle(key), out),
    );
  }

  unwrapKey(
    session: number,
    m: RawMechanism,
    unwrappingKey: number,
    wrapped: Uint8Array,
    t: RawAttribute[],
  ): number {
    const lib = this.#lib_();
    const args = [
      handle(session),
      mechanism(m),
      handle(unwrappingKey),
      Buffer.from(wrapped),
    ] as const;
    return num(call(() => lib.C_UnwrapKey(...args, template(t))));
  }

  deriveKey(session: number, m: RawMechanism, baseKey: number, t: RawAttribute[]): number {
    const lib = this.#lib_();
    return num(
      call(() => lib.C_DeriveKey(handle(session), mechanism(m), handle(baseKey), template(t))),
    );
  }

  seedRandom(session: number, seed: Uint8Array): void {
    call(() => this.#lib_().C_SeedRandom(handle(session), Buffer.from(seed)));
  }

  generateRandom(session: number, length: number): Uint8Array {
    if (length === 0) return new Uint8Array(0);
    const out = call(() => this.#lib_().C_GenerateRandom(handle(session), Buffer.alloc(length)));
    return new Uint8Array(out);
  }
}
