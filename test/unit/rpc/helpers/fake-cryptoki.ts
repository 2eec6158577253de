/**
 * A small in-memory engine for the RPC server tests: one slot (0x2a) with a token, a handful of objects
 * (an EC key pair whose private half signs CKM_ECDSA with a fixed key, a certificate), size queries and
 * CKR_BUFFER_TOO_SMALL as C has them, and hooks that record what the server decoded. Not a token: just
 * enough PKCS#11 to exercise every path of the protocol.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { Pkcs11Error } from '../../../../src/errors.js';
import * as C from '../../../../src/pkcs11/constants.js';
import type {
  AttributeAnswer,
  AttributeQuery,
  InitializeArgs,
  Output,
  RawAttribute,
  RawMechanism,
} from '../../../../src/pkcs11/types.js';
import type { Application } from '../../../../src/rpc/handlers.js';
import type { AttributeValues, KeyPairHandles } from '../../../../src/token/cryptoki.js';
import { FixedP256Key } from './p256.js';

export const SLOT = 0x2a;
export const PUBLIC_KEY = 2;
export const PRIVATE_KEY = 3;
export const CERTIFICATE = 4;
export const PIN = '1234';

const ulong = (v: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
  return b;
};
const bool = (v: boolean) => Uint8Array.of(v ? 1 : 0);
const utf8 = (s: string) => new TextEncoder().encode(s);

const notImplemented = (): never => {
  throw new Pkcs11Error(C.CKR_FUNCTION_NOT_SUPPORTED, 'fake');
};

export interface FakeOptions {
  /** Delay of signAsync in ms (to test pipelining and concurrent connections). */
  signDelayMs?: number;
}

export class FakeCryptoki implements Application {
  readonly key = new FixedP256Key();
  readonly objects = new Map<number, Map<number, Uint8Array | RawAttribute[]>>();
  readonly calls: string[] = [];
  initialized = false;
  finalized = 0;
  /** null: the NULL mechanism of a 3.0 cancelling C_*Init. */
  lastMechanism: RawMechanism | null | undefined;
  lastTemplate: RawAttribute[] | undefined;
  lastInitArgs: InitializeArgs | undefined;
  lastLabel: Uint8Array | undefined;
  #sessions = new Set<number>();
  #nextSession = 0x11;
  #signing = new Map<number, RawMechanism>();
  #found = new Map<number, number[]>();
  readonly #options: FakeOptions;

  constructor(options: FakeOptions = {}) {
    this.#options = options;
    const o = (entries: [number, Uint8Array | RawAttribute[]][]) => new Map(entries);
    this.objects.set(
      PUBLIC_KEY,
      o([
        [C.CKA_CLASS, ulong(C.CKO_PUBLIC_KEY)],
        [C.CKA_KEY_TYPE, ulong(C.CKK_EC)],
        [C.CKA_ID, Uint8Array.of(1)],
        [C.CKA_EC_PARAMS, Buffer.from('06082a8648ce3d030107', 'hex')],
        [C.CKA_EC_POINT, Uint8Array.of(0x04, 0x41, ...this.key.publicPoint)],
      ]),
    );
    this.objects.set(
      PRIVATE_KEY,
      o([
        [C.CKA_CLASS, ulong(C.CKO_PRIVATE_KEY)],
        [C.CKA_KEY_TYPE, ulong(C.CKK_EC)],
        [C.CKA_ID, Uint8Array.of(1)],
        [C.CKA_LABEL, utf8('eckey')],
        [C.CKA_SIGN, bool(true)],
        [C.CKA_SENSITIVE, bool(true)],
        [C.CKA_VALUE, new Uint8Array(32)],
        [
          C.CKA_ALLOWED_MECHANISMS,
          Uint8Array.from([...ulong(C.CKM_ECDSA), ...ulong(C.CKM_ECDSA_SHA256)]),
        ],
        [C.CKA_WRAP_TEMPLATE, [{ type: C.CKA_TOKEN, value: bool(true) }]],
      ]),
    );
    this.objects.set(
      CERTIFICATE,
      o([
        [C.CKA_CLASS, ulong(C.CKO_CERTIFICATE)],
        [C.CKA_VALUE, utf8('not really DER')],
        [C.CKA_START_DATE, utf8('20260101')],
        [C.CKA_END_DATE, new Uint8Array(0)],
      ]),
    );
  }

  #check(name: string): void {
    this.calls.push(name);
    if (!this.initialized) throw new Pkcs11Error(C.CKR_CRYPTOKI_NOT_INITIALIZED);
  }

  #session(s: number): void {
    if (!this.#sessions.has(s)) throw new Pkcs11Error(C.CKR_SESSION_HANDLE_INVALID);
  }

  initialize(args?: InitializeArgs): void {
    this.calls.push('initialize');
    if (this.initialized) throw new Pkcs11Error(C.CKR_CRYPTOKI_ALREADY_INITIALIZED);
    this.lastInitArgs = args;
    this.initialized = true;
  }

  finalize(): void {
    this.#check('finalize');
    this.initialized = false;
    this.#sessions.clear();
    this.finalized++;
  }

  getInfo() {
    this.#check('getInfo');
    const version = { major: 2, minor: 40 };
    return {
      cryptokiVersion: version,
      manufacturerID: 'fake',
      flags: 0,
      libraryDescription: 'fake engine for RPC tests',
      libraryVersion: { major: 0, minor: 1 },
    };
  }

  getSlotList(): number[] {
    this.#check('getSlotList');
    return [SLOT];
  }

  #slot(id: number): void {
    if (id !== SLOT) throw new Pkcs11Error(C.CKR_SLOT_ID_INVALID);
  }

  getSlotInfo(slotId: number) {
    this.#check('getSlotInfo');
    this.#slot(slotId);
    const v = { major: 0, minor: 1 };
    const flags = C.CKF_TOKEN_PRESENT;
    return {
      slotDescription: 'fake slot',
      manufacturerID: 'fake',
      flags,
      hardwareVersion: v,
      firmwareVersion: v,
    };
  }

  getTokenInfo(slotId: number) {
    this.#check('getTokenInfo');
    this.#slot(slotId);
    const v = { major: 0, minor: 1 };
    return {
      label: 'fake token',
      manufacturerID: 'fake',
      model: 'rpc test',
      serialNumber: '0000000000000042',
      flags:
        C.CKF_RNG | C.CKF_LOGIN_REQUIRED | C.CKF_TOKEN_INITIALIZED | C.CKF_USER_PIN_INITIALIZED,
      maxSessionCount: C.CK_EFFECTIVELY_INFINITE,
      sessionCount: this.#sessions.size,
      maxRwSessionCount: C.CK_EFFECTIVELY_INFINITE,
      rwSessionCount: C.CK_UNAVAILABLE_INFORMATION,
      maxPinLen: 64,
      minPinLen: 4,
      hardwareVersion: v,
      firmwareVersion: v,
      utcTime: '',
      totalPublicMemory: -1,
      freePublicMemory: -1,
      totalPrivateMemory: -1,
      freePrivateMemory: -1,
    };
  }

  getMechanismList(slotId: number): number[] {
    this.#check('getMechanismList');
    this.#slot(slotId);
    return [C.CKM_ECDSA, C.CKM_SHA256, C.CKM_EC_KEY_PAIR_GEN];
  }

  getMechanismInfo(slotId: number, type: number) {
    this.#check('getMechanismInfo');
    this.#slot(slotId);
    if (type !== C.CKM_ECDSA) throw new Pkcs11Error(C.CKR_MECHANISM_INVALID);
    return { minKeySize: 256, maxKeySize: 256, flags: C.CKF_SIGN | C.CKF_VERIFY };
  }

  initToken(slotId: number, _so: Uint8Array, label: Uint8Array): void {
    this.#check('initToken');
    this.#slot(slotId);
    this.lastLabel = label;
  }

  openSession(slotId: number, _flags: number): number {
    this.#check('openSession');
    this.#slot(slotId);
    const s = this.#nextSession++;
    this.#sessions.add(s);
    return s;
  }

  closeSession(s: number): void {
    this.#check('closeSession');
    this.#session(s);
    this.#sessions.delete(s);
  }

  closeAllSessions(slotId: number): void {
    this.#check('closeAllSessions');
    this.#slot(slotId);
    this.#sessions.clear();
  }

  getSessionInfo(s: number) {
    this.#check('getSessionInfo');
    this.#session(s);
    return {
      slotID: SLOT,
      state: C.CKS_RO_PUBLIC_SESSION,
      flags: C.CKF_SERIAL_SESSION,
      deviceError: 0,
    };
  }

  login(s: number, _userType: number, pin: Uint8Array): void {
    this.#check('login');
    this.#session(s);
    if (Buffer.from(pin).toString() !== PIN) throw new Pkcs11Error(C.CKR_PIN_INCORRECT);
  }

  logout(s: number): void {
    this.#check('logout');
    this.#session(s);
  }

  getAttributeValue(s: number, object: number, queries: AttributeQuery[]): AttributeValues {
    this.#check('getAttributeValue');
    this.#session(s);
    const obj = this.objects.get(object);
    if (!obj) throw new Pkcs11Error(C.CKR_OBJECT_HANDLE_INVALID);
    let rv = C.CKR_OK;
    const answers = queries.map((q): AttributeAnswer => {
      const value = obj.get(q.type);
      if (value === undefined) {
        rv = C.CKR_ATTRIBUTE_TYPE_INVALID;
        return { type: q.type, length: -1 };
      }
      if (q.type === C.CKA_VALUE && object === PRIVATE_KEY) {
        rv = C.CKR_ATTRIBUTE_SENSITIVE;
        return { type: q.type, length: -1 };
      }
      const length = Array.isArray(value) ? value.length * 24 : value.length;
      if (q.capacity === null) return { type: q.type, length };
      if (q.capacity < length) {
        rv = C.CKR_BUFFER_TOO_SMALL;
        return { type: q.type, length: -1 };
      }
      return { type: q.type, length, value };
    });
    return { rv, answers };
  }

  findObjectsInit(s: number, template: RawAttribute[]): void {
    this.#check('findObjectsInit');
    this.#session(s);
    this.lastTemplate = template;
    const matches = [...this.objects].filter(([, attrs]) =>
      template.every((t) => {
        const v = attrs.get(t.type);
        return (
          v instanceof Uint8Array && t.value instanceof Uint8Array && Buffer.from(v).equals(t.value)
        );
      }),
    );
    this.#found.set(
      s,
      matches.map(([h]) => h),
    );
  }

  findObjects(s: number, maxCount: number): number[] {
    this.#check('findObjects');
    const found = this.#found.get(s);
    if (!found) throw new Pkcs11Error(C.CKR_OPERATION_NOT_INITIALIZED);
    return found.splice(0, maxCount);
  }

  findObjectsFinal(s: number): void {
    this.#check('findObjectsFinal');
    if (!this.#found.delete(s)) throw new Pkcs11Error(C.CKR_OPERATION_NOT_INITIALIZED);
  }

  signInit(s: number, mechanism: RawMechanism | null, key: number): void {
    this.#check('signInit');
    this.#session(s);
    this.lastMechanism = mechanism;
    if (mechanism === null) {
      this.#signing.delete(s);
      return;
    }
    if (mechanism.mechanism !== C.CKM_ECDSA) throw new Pkcs11Error(C.CKR_MECHANISM_INVALID);
    if (key !== PRIVATE_KEY) throw new Pkcs11Error(C.CKR_KEY_HANDLE_INVALID);
    this.#signing.set(s, mechanism);
  }

  sign(s: number, data: Uint8Array, capacity: number | null): Output {
    this.#check('sign');
    if (!this.#signing.has(s)) throw new Pkcs11Error(C.CKR_OPERATION_NOT_INITIALIZED);
    if (capacity === null) return { length: 64, bytes: null };
    if (capacity < 64)
      throw new Pkcs11Error(C.CKR_BUFFER_TOO_SMALL, 'fake', { requiredLength: 64 });
    this.#signing.delete(s);
    return { length: 64, bytes: this.key.sign(data) };
  }

  async signAsync(s: number, data: Uint8Array, capacity: number | null): Promise<Output> {
    const delay = this.#options.signDelayMs ?? 0;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    return this.sign(s, data, capacity);
  }

  digestInit(s: number, mechanism: RawMechanism | null): void {
    this.#check('digestInit');
    this.#session(s);
    this.lastMechanism = mechanism;
  }

  digest(_s: number, data: Uint8Array, capacity: number | null): Output {
    this.#check('digest');
    const bytes = createHash('sha256').update(data).digest();
    return capacity === null ? { length: 32, bytes: null } : { length: 32, bytes };
  }

  /** Records the mechanism it was given; for decoding tests of parameterised mechanisms. */
  encryptInit(s: number, mechanism: RawMechanism | null, _key: number): void {
    this.#check('encryptInit');
    this.#session(s);
    this.lastMechanism = mechanism;
  }

  deriveKey(s: number, mechanism: RawMechanism, _base: number, template: RawAttribute[]): number {
    this.#check('deriveKey');
    this.#session(s);
    this.lastMechanism = mechanism;
    this.lastTemplate = template;
    return 99;
  }

  createObject(s: number, template: RawAttribute[]): number {
    this.#check('createObject');
    this.#session(s);
    this.lastTemplate = template;
    const h = 100 + this.objects.size;
    this.objects.set(h, new Map(template.map((a) => [a.type, a.value])));
    return h;
  }

  generateKeyPair(
    s: number,
    m: RawMechanism,
    pub: RawAttribute[],
    priv: RawAttribute[],
  ): KeyPairHandles {
    this.#check('generateKeyPair');
    this.#session(s);
    this.lastMechanism = m;
    this.lastTemplate = [...pub, ...priv];
    return { publicKey: PUBLIC_KEY, privateKey: PRIVATE_KEY };
  }

  generateRandom(s: number, length: number): Uint8Array {
    this.#check('generateRandom');
    this.#session(s);
    return new Uint8Array(randomBytes(length));
  }

  initPin = notImplemented;
  setPin = notImplemented;
  copyObject = notImplemented;
  destroyObject = notImplemented;
  getObjectSize = notImplemented;
  setAttributeValue = notImplemented;
  encrypt = notImplemented;
  encryptUpdate = notImplemented;
  encryptFinal = notImplemented;
  decryptInit = notImplemented;
  decrypt = notImplemented;
  decryptUpdate = notImplemented;
  decryptFinal = notImplemented;
  digestUpdate = notImplemented;
  digestKey = notImplemented;
  digestFinal = notImplemented;
  signUpdate = notImplemented;
  signFinal = notImplemented;
  verifyInit = notImplemented;
  verify = notImplemented;
  verifyUpdate = notImplemented;
  verifyFinal = notImplemented;
  generateKey = notImplemented;
  wrapKey = notImplemented;
  unwrapKey = notImplemented;
  seedRandom = notImplemented;
}
