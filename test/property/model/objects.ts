/**
 * A model of which objects a token holds, for fast-check's model-based testing (fc.commands): creates
 * (data objects, EC key pairs, AES keys; token or session, public or private), destroys, renames,
 * copies, logins, logouts, sessions opened and closed, and restarts of the token over the same
 * storage. After every command the objects the token shows are exactly the model's: token objects
 * always, private ones only while logged in, session objects only while their session is open.
 * @module
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Handle } from '../../../src/api/convert.js';
import * as C from '../../../src/pkcs11/constants.js';
import { attr, findAll } from '../../helpers/material.js';
import { type TestModule, USER_PIN } from '../../helpers/token.js';
import { progress } from '../harness/progress.js';

export type Kind = 'data' | 'ecPrivate' | 'ecPublic' | 'aes';

export interface ModelObject {
  label: string;
  kind: Kind;
  token: boolean;
  priv: boolean;
  /** For session objects: the session (index into Model.sessions) that owns it. */
  owner?: number;
}

export interface Model {
  objects: ModelObject[];
  /** Open sessions by index; false once closed. */
  sessions: boolean[];
  loggedIn: boolean;
  next: number;
}

export interface Real {
  m: TestModule;
  sessions: Handle[];
  /** Token restarts so far (a restart replaces `m`). */
  restarts: number;
}

const CLASS_OF: Record<Kind, number> = {
  data: C.CKO_DATA,
  ecPrivate: C.CKO_PRIVATE_KEY,
  ecPublic: C.CKO_PUBLIC_KEY,
  aes: C.CKO_SECRET_KEY,
};
const KIND_OF = new Map<number, Kind>(Object.entries(CLASS_OF).map(([k, v]) => [v, k as Kind]));
const P256 = Buffer.from('06082a8648ce3d030107', 'hex');

function openSessions(model: Model): number[] {
  return model.sessions.flatMap((open, i) => (open ? [i] : []));
}

function visible(model: Model): ModelObject[] {
  return model.objects.filter((o) => !o.priv || model.loggedIn);
}

/** What the token shows, as sorted "label kind token private" lines, seen from session `s`. */
function shown(real: Real, s: Handle): string[] {
  const p11 = real.m.p11;
  return findAll(p11, s, [])
    .map((o) => {
      const label = attr(p11, s, o, C.CKA_LABEL).toString('utf8');
      const kind = KIND_OF.get(Number(attr(p11, s, o, C.CKA_CLASS).readBigUInt64LE(0)));
      const token = attr(p11, s, o, C.CKA_TOKEN)[0] === 1;
      const priv = attr(p11, s, o, C.CKA_PRIVATE)[0] === 1;
      return `${label} ${kind} ${token} ${priv}`;
    })
    .sort();
}

function expected(model: Model): string[] {
  return visible(model)
    .map((o) => `${o.label} ${o.kind} ${o.token} ${o.priv}`)
    .sort();
}

/** The invariant: from any open session (or a fresh one), the token shows exactly the model. */
export function checkAgainst(model: Model, real: Real): void {
  const open = openSessions(model);
  const s =
    open.length > 0
      ? (real.sessions[open[0] as number] as Handle)
      : real.m.p11.C_OpenSession(real.m.slot, C.CKF_SERIAL_SESSION);
  try {
    assert.deepEqual(shown(real, s), expected(model), 'the token shows exactly the model objects');
  } finally {
    if (open.length === 0) real.m.p11.C_CloseSession(s);
  }
}

/** The handle of a model object, found by its (unique) label. */
function handleOf(real: Real, s: Handle, label: string): Handle {
  const found = findAll(real.m.p11, s, [{ type: C.CKA_LABEL, value: label }]);
  assert.equal(found.length, 1, `exactly one object labelled ${label}`);
  return found[0] as Handle;
}

abstract class Step implements fc.Command<Model, Real> {
  abstract check(m: Readonly<Model>): boolean;
  abstract apply(model: Model, real: Real): void;
  run(model: Model, real: Real): void {
    progress(`objects: ${this.toString()}`);
    this.apply(model, real);
    checkAgainst(model, real);
  }
  abstract toString(): string;
}

/** Commands that act through a session pick one of the open ones. */
abstract class InSession extends Step {
  readonly pick: number;
  constructor(pick: number) {
    super();
    this.pick = pick;
  }
  check(m: Readonly<Model>): boolean {
    return openSessions(m).length > 0;
  }
  session(model: Model): number {
    const open = openSessions(model);
    return open[this.pick % open.length] as number;
  }
}

export class Create extends InSession {
  readonly kind: 'data' | 'ecPair' | 'aes';
  readonly token: boolean;
  readonly priv: boolean;
  constructor(pick: number, kind: 'data' | 'ecPair' | 'aes', token: boolean, priv: boolean) {
    super(pick);
    this.kind = kind;
    this.token = token;
    this.priv = priv;
  }
  override check(m: Readonly<Model>): boolean {
    return super.check(m) && (m.loggedIn || !this.priv);
  }
  apply(model: Model, real: Real): void {
    const i = this.session(model);
    const s = real.sessions[i] as Handle;
    const p11 = real.m.p11;
    const label = `o${model.next++}`;
    const common = [
      { type: C.CKA_TOKEN, value: this.token },
      { type: C.CKA_PRIVATE, value: this.priv },
      { type: C.CKA_LABEL, value: label },
    ];
    const owner = this.token ? {} : { owner: i };
    const add = (kind: Kind, lbl = label) =>
      model.objects.push({ label: lbl, kind, token: this.token, priv: this.priv, ...owner });
    if (this.kind === 'data') {
      p11.C_CreateObject(s, [{ type: C.CKA_CLASS, value: C.CKO_DATA }, ...common]);
      add('data');
    } else if (this.kind === 'aes') {
      p11.C_GenerateKey(s, { mechanism: C.CKM_AES_KEY_GEN }, [
        ...common,
        { type: C.CKA_VALUE_LEN, value: 16 },
      ]);
      add('aes');
    } else {
      // Both halves share the storage flags, so both follow the same visibility rules.
      const pubLabel = `${label}.pub`;
      p11.C_GenerateKeyPair(
        s,
        { mechanism: C.CKM_EC_KEY_PAIR_GEN },
        [
          ...common.filter((a) => a.type !== C.CKA_LABEL),
          { type: C.CKA_LABEL, value: pubLabel },
          { type: C.CKA_EC_PARAMS, value: P256 },
        ],
        common,
      );
      add('ecPublic', pubLabel);
      add('ecPrivate');
    }
  }
  toString(): string {
    return `create ${this.kind} token=${this.token} private=${this.priv} in #${this.pick}`;
  }
}

/** Commands on an existing visible object pick one by index. */
abstract class OnObject extends InSession {
  readonly which: number;
  constructor(pick: number, which: number) {
    super(pick);
    this.which = which;
  }
  override check(m: Readonly<Model>): boolean {
    return super.check(m) && visible(m as Model).length > 0;
  }
  target(model: Model): ModelObject {
    const v = visible(model);
    return v[this.which % v.length] as ModelObject;
  }
}

export class Destroy extends OnObject {
  apply(model: Model, real: Real): void {
    const s = real.sessions[this.session(model)] as Handle;
    const o = this.target(model);
    real.m.p11.C_DestroyObject(s, handleOf(real, s, o.label));
    model.objects.splice(model.objects.indexOf(o), 1);
  }
  toString(): string {
    return `destroy object ${this.which} in #${this.pick}`;
  }
}

export class Rename extends OnObject {
  apply(model: Model, real: Real): void {
    const s = real.sessions[this.session(model)] as Handle;
    const o = this.target(model);
    const label = `o${model.next++}`;
    real.m.p11.C_SetAttributeValue(s, handleOf(real, s, o.label), [
      { type: C.CKA_LABEL, value: label },
    ]);
    o.label = label;
  }
  toString(): string {
    return `rename object ${this.which} in #${this.pick}`;
  }
}

export class Copy extends OnObject {
  readonly token: boolean;
  /** CKA_PRIVATE of the copy (changeable on C_CopyObject); only asked for while logged in. */
  readonly priv: boolean | undefined;
  constructor(pick: number, which: number, token: boolean, priv: boolean | undefined) {
    super(pick, which);
    this.token = token;
    this.priv = priv;
  }
  apply(model: Model, real: Real): void {
    const i = this.session(model);
    const s = real.sessions[i] as Handle;
    const o = this.target(model);
    const label = `o${model.next++}`;
    const priv = model.loggedIn ? (this.priv ?? o.priv) : o.priv;
    const copy = () =>
      real.m.p11.C_CopyObject(s, handleOf(real, s, o.label), [
        { type: C.CKA_TOKEN, value: this.token },
        { type: C.CKA_LABEL, value: label },
        ...(priv === o.priv ? [] : [{ type: C.CKA_PRIVATE, value: priv }]),
      ]);
    // A private or secret key's CKA_PRIVATE only goes to true, on copy too: nothing is made.
    if (o.priv && !priv && (o.kind === 'ecPrivate' || o.kind === 'aes')) {
      assert.throws(copy, (e: Error) => e.message === 'CKR_ATTRIBUTE_READ_ONLY');
      return;
    }
    copy();
    const { owner: _, ...rest } = o;
    model.objects.push({
      ...rest,
      label,
      token: this.token,
      priv,
      ...(this.token ? {} : { owner: i }),
    });
  }
  toString(): string {
    return `copy object ${this.which} to token=${this.token} private=${this.priv} in #${this.pick}`;
  }
}

export class Login extends InSession {
  override check(m: Readonly<Model>): boolean {
    return super.check(m) && !m.loggedIn;
  }
  apply(model: Model, real: Real): void {
    real.m.p11.C_Login(real.sessions[this.session(model)] as Handle, C.CKU_USER, USER_PIN);
    model.loggedIn = true;
  }
  toString(): string {
    return `login in #${this.pick}`;
  }
}

export class Logout extends InSession {
  override check(m: Readonly<Model>): boolean {
    return super.check(m) && m.loggedIn;
  }
  apply(model: Model, real: Real): void {
    real.m.p11.C_Logout(real.sessions[this.session(model)] as Handle);
    model.loggedIn = false;
    // v2.40 §5.6: private session objects do not survive a logout.
    model.objects = model.objects.filter((o) => o.token || !o.priv);
  }
  toString(): string {
    return `logout in #${this.pick}`;
  }
}

export class Open extends Step {
  check(m: Readonly<Model>): boolean {
    return openSessions(m).length < 4;
  }
  apply(model: Model, real: Real): void {
    real.sessions.push(
      real.m.p11.C_OpenSession(real.m.slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION),
    );
    model.sessions.push(true);
  }
  toString(): string {
    return 'open a session';
  }
}

export class Close extends InSession {
  apply(model: Model, real: Real): void {
    const i = this.session(model);
    real.m.p11.C_CloseSession(real.sessions[i] as Handle);
    model.sessions[i] = false;
    model.objects = model.objects.filter((o) => o.owner !== i);
    // Closing an application's last session logs it out.
    if (openSessions(model).length === 0 && model.loggedIn) {
      model.loggedIn = false;
      model.objects = model.objects.filter((o) => o.token || !o.priv);
    }
  }
  toString(): string {
    return `close #${this.pick}`;
  }
}

/** The process restarts: sessions, login and session objects go; the token objects must all remain. */
export class Restart extends Step {
  check(): boolean {
    return true;
  }
  apply(model: Model, real: Real): void {
    real.m = real.m.restart();
    real.restarts++;
    real.sessions = [];
    model.sessions = [];
    model.loggedIn = false;
    model.objects = model.objects.filter((o) => o.token);
  }
  toString(): string {
    return 'restart the token over its storage';
  }
}

export const objectCommands = [
  fc
    .tuple(fc.nat(3), fc.constantFrom('data', 'ecPair', 'aes'), fc.boolean(), fc.boolean())
    .map(([p, k, t, v]) => new Create(p, k as 'data' | 'ecPair' | 'aes', t, v)),
  fc.tuple(fc.nat(3), fc.nat(20)).map(([p, w]) => new Destroy(p, w)),
  fc.tuple(fc.nat(3), fc.nat(20)).map(([p, w]) => new Rename(p, w)),
  fc
    .tuple(fc.nat(3), fc.nat(20), fc.boolean(), fc.option(fc.boolean(), { nil: undefined }))
    .map(([p, w, t, v]) => new Copy(p, w, t, v)),
  fc.nat(3).map((p) => new Login(p)),
  fc.nat(3).map((p) => new Logout(p)),
  fc.constant(new Open()),
  fc.nat(3).map((p) => new Close(p)),
  fc.constant(new Restart()),
];
