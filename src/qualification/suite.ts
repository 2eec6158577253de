/**
 * The state one qualification run shares between its tests (the C suite's globals: the module, the
 * global session, the configuration) and the helpers the C suite defines around its tests: group
 * setup/teardown, the test slot, destroying and provisioning the test credentials, the per-mechanism
 * object-test loops and the multi-thread helper. Layer L7.
 * @module
 */
import {
  CKA_KEY_TYPE,
  CKA_TOKEN,
  CKK_EC,
  CKK_RSA,
  CKO_CERTIFICATE,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  CKR_GENERAL_ERROR,
  CKR_OK,
  CKR_USER_ALREADY_LOGGED_IN,
} from '../pkcs11/constants.js';
import type { QualificationConfig } from './config.js';
import {
  findObjectWithLabelAndClass,
  getAttribute,
  initializePkcs11,
  initializePkcs11Session,
  readUlong,
} from './cryptoki.js';
import { inProcessHooks } from './hooks.js';
import {
  destroyProvidedObjects,
  generateKeyPairEc,
  provisionCertificate,
  provisionPrivateKey,
  provisionPublicKey,
} from './provisioning.js';
import { MULTI_THREAD_TASK_COUNT, WAIT_THREAD_TIMEOUT_MS } from './tasks.js';
import type {
  EcKeyParts,
  Handle,
  Pkcs11Like,
  PlatformHooks,
  RsaKeyParts,
  TaskData,
  TaskEnv,
  TaskFunction,
  TaskParams,
  Verifier,
} from './types.js';
import { type CallResult, call, check, type Group, type TestCase, TestFailure } from './unity.js';

export type ProvisionMethod = 'preprovisioned' | 'import' | 'generate';

export { MULTI_THREAD_TASK_COUNT } from './tasks.js';

/** The test credentials as the independent verifier reads them. */
export interface DerivedCredentials {
  rsaPrivate: RsaKeyParts;
  rsaCertificateDer: Buffer;
  ecPrivate: EcKeyParts;
  /** CKA_EC_POINT the EC public key must report after an import (the C suite's xEcPointExpected). */
  ecPointDer: Buffer;
  ecCertificateDer: Buffer;
}

export interface SuiteOptions {
  p11: Pkcs11Like;
  verifier: Verifier;
  config: QualificationConfig;
  pin: string;
  slotIndex: number;
  hooks: PlatformHooks;
  credentials: DerivedCredentials;
}

export interface TestObjects {
  privateKey: Handle;
  publicKey: Handle;
  certificate: Handle;
}

export class Suite {
  readonly p11: Pkcs11Like;
  readonly verifier: Verifier;
  readonly config: QualificationConfig;
  readonly pin: string;
  readonly slotIndex: number;
  readonly hooks: PlatformHooks;
  readonly creds: DerivedCredentials;
  /** xGlobalSession. */
  globalSession: Handle | null = null;
  readonly #sameModule = inProcessHooks();

  constructor(o: SuiteOptions) {
    this.p11 = o.p11;
    this.verifier = o.verifier;
    this.config = o.config;
    this.pin = o.pin;
    this.slotIndex = o.slotIndex;
    this.hooks = o.hooks;
    this.creds = o.credentials;
  }

  get env(): TaskEnv {
    return {
      p11: this.p11,
      verifier: this.verifier,
      labels: this.config.labels,
      rsaCertificateLength: this.config.rsaCertificateLength,
    };
  }

  get labels() {
    return this.config.labels;
  }

  initialize(): CallResult<void> {
    return initializePkcs11(this.p11);
  }

  openSession(): { rv: CallResult<void>; session: Handle | null } {
    return initializePkcs11Session(this.p11, this.slotIndex, this.pin);
  }

  session(): Handle {
    const s = this.globalSession;
    check.that(s !== null, 'No PKCS #11 session is open.');
    return s;
  }

  /** prvBeforeRunningTests: reset the module to uninitialised, whatever C_Finalize says. */
  beforeRunningTests(): void {
    call(() => this.p11.C_Finalize());
  }

  /** A test group of the suite: module reset before it, each test between setup and teardown. */
  group(name: string, tests: TestCase[]): Group {
    return {
      name,
      before: () => this.beforeRunningTests(),
      setup: () => this.setup(),
      teardown: () => this.teardown(),
      tests,
    };
  }

  /** prvGetTestSlotId. */
  testSlot(): Handle {
    const count = call(() => this.p11.C_GetSlotList(true));
    check.rv(CKR_OK, count, 'Failed to get slot count.');
    check.that((count.value?.length ?? 0) > 0, 'Slot count incorrectly updated.');
    const list = call(() => this.p11.C_GetSlotList(true));
    check.rv(CKR_OK, list, 'Failed to get slot count.');
    const slot = list.value?.[this.slotIndex];
    check.that(slot !== undefined, `There is no slot at index ${this.slotIndex}.`);
    return slot;
  }

  find(label: string, objectClass: number, session: Handle = this.session()) {
    return findObjectWithLabelAndClass(this.p11, session, label, objectClass);
  }

  /** TEST_SETUP of the Capabilities, NoObject, RSA and EC groups. */
  setup(): void {
    check.rv(CKR_OK, this.initialize(), 'Failed to initialize PKCS #11 module.');
    const { rv, session } = this.openSession();
    this.globalSession = session;
    check.rv(CKR_OK, rv, 'Failed to open PKCS #11 session.');
  }

  /** TEST_TEAR_DOWN of those groups. */
  teardown(): void {
    const session = this.globalSession ?? Buffer.alloc(8);
    this.globalSession = null;
    check.returns(CKR_OK, () => this.p11.C_CloseSession(session), 'Failed to close session.');
    check.returns(CKR_OK, () => this.p11.C_Finalize(), 'Failed to finalize session.');
  }

  private credentialLabels(): { labels: string[]; classes: number[] } {
    const l = this.labels;
    const labels = [l.certificate, l.privateKey, l.publicKey];
    const classes = [CKO_CERTIFICATE, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY];
    if (this.config.jitpCodeVerifyRootCertSupported) {
      labels.push(l.codeVerificationKey, l.jitpCertificate, l.rootCertificate);
      classes.push(CKO_PUBLIC_KEY, CKO_CERTIFICATE, CKO_CERTIFICATE);
    }
    return { labels, classes };
  }

  /**
   * prvDestroyTestCredentials. The C helper asserts a variable that is always CKR_OK instead of the
   * destroy result; this asserts the destroy result, then that nothing is found any more.
   */
  destroyTestCredentials(): CallResult<unknown> {
    const { labels, classes } = this.credentialLabels();
    const destroyed = destroyProvidedObjects(this.p11, this.session(), labels, classes);
    check.rv(CKR_OK, destroyed, 'Failed to destroy credentials.');
    for (const [i, label] of labels.entries()) {
      const found = this.find(label, classes[i] ?? CKO_CERTIFICATE);
      check.rv(CKR_OK, found.rv, 'Found an object after deleting it.');
      check.that(found.handle === null, 'Object found after it was destroyed.');
    }
    return destroyed;
  }

  /** prvFindObjectTest: the three test objects are found by label and class; an unknown label is not. */
  findObjectTest(): TestObjects {
    const l = this.labels;
    const priv = this.find(l.privateKey, CKO_PRIVATE_KEY);
    check.rv(CKR_OK, priv.rv, 'Failed to find private key after closing and reopening a session.');
    check.that(priv.handle !== null, 'Invalid object handle found for private key.');
    const pub = this.find(l.publicKey, CKO_PUBLIC_KEY);
    check.rv(CKR_OK, pub.rv, 'Failed to find public key after closing and reopening a session.');
    check.that(pub.handle !== null, 'Invalid object handle found for public key key.');
    const cert = this.find(l.certificate, CKO_CERTIFICATE);
    check.rv(CKR_OK, cert.rv, 'Failed to find certificate after closing and reopening a session.');
    check.that(cert.handle !== null, 'Invalid object handle found for certificate.');
    const none = this.find("This label doesn't exist", CKO_PUBLIC_KEY);
    check.rv(CKR_OK, none.rv, "Incorrect error code finding object that doesn't exist");
    check.that(none.handle === null, "Incorrect error code finding object that doesn't exist");
    return { privateKey: priv.handle, publicKey: pub.handle, certificate: cert.handle };
  }

  /** prvProvisionRsaCredentialsWithKeyImport (also prvProvisionEcCredentialsWithKeyImport). */
  provisionImport(keyType: 'rsa' | 'ec'): void {
    const c = this.config.credentials;
    const [pubPem, privPem, certPem, name] =
      keyType === 'rsa'
        ? [c.rsaPublicKey, c.rsaPrivateKey, c.rsaCertificate, 'RSA']
        : [c.ecPublicKey, c.ecPrivateKey, c.ecCertificate, 'EC'];
    const s = this.session();
    const kt = keyType === 'rsa' ? CKK_RSA : CKK_EC;
    const pub = provisionPublicKey(this.p11, this.verifier, s, pubPem, kt, this.labels.publicKey);
    check.rv(CKR_OK, pub.rv, `Failed to create ${name} public key.`);
    check.that(pub.handle !== null, `Invalid object handle returned for ${name} public key.`);
    const priv = provisionPrivateKey(this.p11, this.verifier, s, privPem, this.labels.privateKey);
    check.rv(CKR_OK, priv.rv, `Failed to create ${name} private key.`);
    check.that(priv.handle !== null, `Invalid object handle returned for ${name} private key.`);
    const cert = provisionCertificate(this.p11, s, certPem, this.labels.certificate);
    check.rv(CKR_OK, cert.rv, `Failed to create ${name} certificate.`);
    check.that(cert.handle !== null, `Invalid object handle returned for ${name} certificate.`);
  }

  /** prvProvisionEcCredentialsWithGenerateKeyPair: reuse an EC private key if one exists, else generate. */
  provisionEcGenerate(): void {
    const l = this.labels;
    const priv = this.find(l.privateKey, CKO_PRIVATE_KEY);
    check.rv(CKR_OK, priv.rv, 'Failed to find private key.');
    const pub = this.find(l.publicKey, CKO_PUBLIC_KEY);
    check.rv(CKR_OK, pub.rv, 'Failed to find public key.');
    let needed = priv.handle === null;
    if (priv.handle) {
      const keyType = getAttribute(this.p11, this.session(), priv.handle, CKA_KEY_TYPE);
      check.rv(CKR_OK, keyType, "Failed to find private key's type.");
      needed = readUlong(keyType.value) !== CKK_EC;
    }
    if (needed) {
      const pair = generateKeyPairEc(this.p11, this.session(), l.privateKey, l.publicKey);
      check.rv(CKR_OK, pair.rv, 'Failed to generate key pair.');
      check.that(pair.privateKey !== null, 'Invalid object handle returned for EC private key.');
      check.that(pair.publicKey !== null, 'Invalid object handle returned for EC public key.');
    }
    const cert = this.find(l.certificate, CKO_CERTIFICATE);
    // The certificate is for storage and retrieval only; it does not match the generated key.
    if (cert.handle === null) {
      const made = provisionCertificate(
        this.p11,
        this.session(),
        this.config.credentials.ecCertificate,
        l.certificate,
      );
      check.rv(CKR_OK, made.rv, 'Failed to create EC certificate.');
      check.that(made.handle !== null, 'Invalid object handle returned for EC certificate.');
    }
  }

  rsaMethods(): ProvisionMethod[] {
    const c = this.config;
    return [
      ...(c.preprovisionedSupport ? (['preprovisioned'] as const) : []),
      ...(c.importPrivateKeySupport ? (['import'] as const) : []),
    ];
  }

  ecMethods(): ProvisionMethod[] {
    const c = this.config;
    return [...this.rsaMethods(), ...(c.generateKeyPairSupport ? (['generate'] as const) : [])];
  }

  /** PKCS11_RSA/EC_DestroyObject: the test credentials go, the module's pre-provisioned ones stay. */
  destroyObjectTest(keyType: 'rsa' | 'ec'): () => Promise<void> {
    return () =>
      this.objectTest(keyType, (m) => {
        if (m !== 'preprovisioned') this.destroyTestCredentials();
      });
  }

  /** prvRsaObjectTestHelper / prvEcObjectTestHelper: (re)provision per method, run, stop at a failure. */
  async objectTest(
    keyType: 'rsa' | 'ec',
    body: (method: ProvisionMethod) => Promise<void> | void,
  ): Promise<void> {
    const methods = keyType === 'rsa' ? this.rsaMethods() : this.ecMethods();
    for (const method of methods) {
      try {
        if (method !== 'preprovisioned') {
          this.destroyTestCredentials();
          if (method === 'import') this.provisionImport(keyType);
          else this.provisionEcGenerate();
        }
        await body(method);
      } catch (e) {
        // A test runs once per provisioning mechanism; say which one failed.
        if (e instanceof TestFailure) {
          throw new TestFailure(`${e.message} (provisioning: ${method})`, e.location);
        }
        throw e;
      }
    }
  }

  /** Sessions for the tasks, as the MT tests open them: CKR_USER_ALREADY_LOGGED_IN is fine. */
  openTaskSessions(): Handle[] {
    const sessions: Handle[] = [];
    for (let i = 0; i < MULTI_THREAD_TASK_COUNT; i++) {
      const { rv, session } = this.openSession();
      if (rv.rv !== CKR_USER_ALREADY_LOGGED_IN) {
        check.rv(CKR_OK, rv, 'Failed to initialize PKCS #11 session.');
      }
      check.that(session !== null, 'Failed to initialize PKCS #11 session.');
      sessions.push(session);
    }
    return sessions;
  }

  closeTaskSessions(sessions: Handle[]): void {
    for (const s of sessions) {
      check.returns(CKR_OK, () => this.p11.C_CloseSession(s), 'Failed to close session.');
    }
  }

  /** True when every object is a token object (CKA_TOKEN), visible to other module instances. */
  private allTokenObjects(objects: Handle[]): boolean {
    return objects.every((o) => {
      const token = getAttribute(this.p11, this.session(), o, CKA_TOKEN);
      return token.rv === CKR_OK && token.value?.[0] === 1;
    });
  }

  /**
   * prvMultiThreadHelper: start every task, join each with the timeout, fail if any task failed.
   * `objects` are the objects the tasks use; with separate-module hooks (worker threads) and any of
   * them a session object, the tasks run in-process instead (see PlatformHooks.separateModules).
   */
  async multiThread(fn: TaskFunction, data: TaskData[], objects: Handle[] = []): Promise<void> {
    const hooks =
      this.hooks.separateModules && !this.allTokenObjects(objects) ? this.#sameModule : this.hooks;
    const params: TaskParams[] = data.map((d, taskNumber) => ({
      taskNumber,
      testResult: 0,
      data: d,
    }));
    const threads = params.map((p) => {
      const thread = hooks.threadCreate(fn, p, this.env);
      check.that(thread !== null, 'Create thread failed.');
      return thread;
    });
    for (const [i, thread] of threads.entries()) {
      const p = params[i] as TaskParams;
      if ((await hooks.threadTimedJoin(thread, WAIT_THREAD_TIMEOUT_MS)) !== 0) {
        p.testResult = CKR_GENERAL_ERROR;
        p.detail = `Waiting for task ${i} to finish in multi-threaded test failed.`;
      }
    }
    for (const p of params) {
      if (p.testResult !== 0) {
        check.fail(`Multi thread task ${p.taskNumber} returned failure: ${p.detail ?? ''}`.trim());
      }
    }
  }
}
