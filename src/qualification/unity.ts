/**
 * A small Unity-fixture runner: the assertions the C suite uses (TEST_ASSERT_MESSAGE, TEST_ASSERT_EQUAL,
 * TEST_ASSERT_EQUAL_INT8_ARRAY, TEST_FAIL), group setup/teardown, and Unity's verbose output, byte for
 * byte where it matters to log scrapers: `TEST(Group, Name) PASS`, `TEST(Group, Name) file:line::FAIL:
 * message`, then a blank line, 23 dashes, `N Tests F Failures I Ignored` and `OK` or `FAIL`.
 * An assertion that fails aborts the test as Unity's longjmp does; only the first failure is reported.
 * Layer L7.
 * @module
 */
import { ckrName } from '../errors.js';

/** Thrown by a failed assertion; the runner catches it and prints the Unity failure line. */
export class TestFailure extends Error {
  override readonly name = 'TestFailure';
  readonly location: string;
  constructor(message: string, location: string) {
    super(message);
    this.location = location;
  }
}

const SELF = /[/\\]unity\.[jt]s$/;

/** `file:line` of the first stack frame outside this file: where the failing assertion was written. */
function locate(stack: string | undefined): string {
  for (const line of (stack ?? '').split('\n').slice(1)) {
    const m = /([^\s()]+):(\d+):\d+\)?\s*$/.exec(line);
    if (!m?.[1] || m[1].startsWith('node:') || SELF.test(m[1])) continue;
    const file = m[1].replace(/^file:\/\//, '');
    return `${file.slice(file.search(/[^/\\]+$/))}:${m[2]}`;
  }
  return 'unknown:0';
}

/** The outcome of a Cryptoki call made the C way: its CK_RV, its value when it succeeded. */
export interface CallResult<T> {
  rv: number;
  value?: T;
  /** A thrown value that was not a PKCS#11 error (a binding TypeError, a bug). */
  error?: unknown;
}

/** CK_RV recorded for an exception that carries no PKCS#11 code. */
export const NOT_A_CKR = -1;

/** The CK_RV a thrown value stands for: its numeric `code` when it is a PKCS#11 error. */
export function rvOf(e: unknown): number {
  if (e !== null && typeof e === 'object') {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'number' && typeof message === 'string' && message.startsWith('CKR_')) {
      return code;
    }
  }
  return NOT_A_CKR;
}

/** Runs a call and captures its CK_RV instead of throwing (0 = CKR_OK). */
export function call<T>(fn: () => T): CallResult<T> {
  try {
    return { rv: 0, value: fn() };
  } catch (error) {
    return { rv: rvOf(error), error };
  }
}

/** Awaits an async call and captures its CK_RV. */
export async function callAsync<T>(fn: () => Promise<T>): Promise<CallResult<T>> {
  try {
    return { rv: 0, value: await fn() };
  } catch (error) {
    return { rv: rvOf(error), error };
  }
}

/** Human form of a captured result: the CKR name, or the foreign exception. */
export function describeRv(r: CallResult<unknown> | number): string {
  const rv = typeof r === 'number' ? r : r.rv;
  if (rv !== NOT_A_CKR) return ckrName(rv);
  const e = typeof r === 'number' ? undefined : r.error;
  return `a non-PKCS#11 exception (${e instanceof Error ? `${e.name}: ${e.message}` : String(e)})`;
}

function fail(message: string): never {
  const probe = new Error();
  throw new TestFailure(message, locate(probe.stack));
}

/** The assertions, named after Unity's. Each throws TestFailure on failure. */
export interface Checks {
  that(condition: boolean, message: string): asserts condition;
  rv(expected: number | readonly number[], result: CallResult<unknown>, message?: string): void;
  /** rv on what calling `fn` returns (`TEST_ASSERT_EQUAL(expected, C_Fn(...))`). */
  returns(expected: number | readonly number[], fn: () => unknown, message?: string): void;
  equal(expected: number, actual: number | undefined, message?: string): void;
  bytes(expected: Uint8Array, actual: Uint8Array | undefined, message: string): void;
  fail(message: string): never;
}

export const check: Checks = {
  /** TEST_ASSERT_MESSAGE / TEST_ASSERT_TRUE. */
  that(condition: boolean, message: string): asserts condition {
    if (!condition) fail(message);
  },
  /** TEST_ASSERT_MESSAGE(expected == xResult): the call returned one of the expected CK_RVs. */
  rv(expected: number | readonly number[], result: CallResult<unknown>, message = ''): void {
    const ok = typeof expected === 'number' ? [expected] : expected;
    if (!ok.includes(result.rv)) {
      const expectation = `Expected ${ok.map(ckrName).join(' or ')} Was ${describeRv(result)}`;
      fail(message ? `${message} ${expectation}` : expectation);
    }
  },
  returns(expected: number | readonly number[], fn: () => unknown, message = ''): void {
    check.rv(expected, call(fn), message);
  },
  /** TEST_ASSERT_EQUAL for plain numbers. */
  equal(expected: number, actual: number | undefined, message = ''): void {
    if (expected !== actual) fail(`Expected ${expected} Was ${String(actual)}. ${message}`.trim());
  },
  /** TEST_ASSERT_EQUAL_INT8_ARRAY_MESSAGE over `expected.length` bytes. */
  bytes(expected: Uint8Array, actual: Uint8Array | undefined, message: string): void {
    if (actual === undefined || actual.length < expected.length) {
      fail(`${message} Expected ${expected.length} bytes Was ${actual?.length ?? 'none'}`);
    }
    for (let i = 0; i < expected.length; i++) {
      if (expected[i] !== actual[i]) {
        fail(`${message} Element ${i} Expected ${expected[i]} Was ${actual[i]}`);
      }
    }
  },
  /** TEST_FAIL_MESSAGE. */
  fail,
};

export interface TestCase {
  group: string;
  name: string;
  run(): Promise<void> | void;
}

export interface Group {
  name: string;
  /** The C group runner's prvBeforeRunningTests (result ignored). */
  before?(): void;
  setup?(): Promise<void> | void;
  teardown?(): Promise<void> | void;
  tests: TestCase[];
}

export interface TestResult {
  group: string;
  name: string;
  status: 'PASS' | 'FAIL';
  message?: string;
  location?: string;
}

export interface UnityReport {
  tests: number;
  failures: number;
  ignored: number;
  results: TestResult[];
}

function asFailure(e: unknown): TestFailure {
  if (e instanceof TestFailure) return e;
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  const stack = e instanceof Error ? e.stack : undefined;
  return new TestFailure(`Unexpected exception ${what}`, locate(`\n${stack ?? ''}`));
}

async function runOne(group: Group, test: TestCase, write: (s: string) => void) {
  write(`TEST(${test.group}, ${test.name})`);
  let failure: TestFailure | undefined;
  try {
    await group.setup?.();
    await test.run();
  } catch (e) {
    failure = asFailure(e);
  }
  try {
    await group.teardown?.();
  } catch (e) {
    failure ??= asFailure(e);
  }
  const result: TestResult = { group: test.group, name: test.name, status: 'PASS' };
  if (failure) {
    result.status = 'FAIL';
    result.message = failure.message;
    result.location = failure.location;
    write(` ${failure.location}::FAIL: ${failure.message}\n`);
  } else {
    write(' PASS\n');
  }
  return result;
}

/** UNITY_BEGIN, the group runners in order, UNITY_END. */
export async function runGroups(groups: Group[], write: (s: string) => void): Promise<UnityReport> {
  const results: TestResult[] = [];
  for (const group of groups) {
    if (group.tests.length === 0) continue;
    try {
      group.before?.();
    } catch {
      // prvBeforeRunningTests ignores the C_Finalize result.
    }
    for (const test of group.tests) results.push(await runOne(group, test, write));
  }
  const failures = results.filter((r) => r.status === 'FAIL').length;
  write('\n-----------------------\n');
  write(`${results.length} Tests ${failures} Failures 0 Ignored\n`);
  write(failures === 0 ? 'OK\n' : 'FAIL\n');
  return { tests: results.length, failures, ignored: 0, results };
}
