import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BudgetWaiter, MemoryBudget } from '../../../src/rpc/budget.js';

/** A waiter that wants `n` bytes and takes them when they fit. */
function want(budget: MemoryBudget, n: number, log: string[], name: string): BudgetWaiter {
  const w: BudgetWaiter = {
    retry: () => {
      if (!budget.fits(n, w)) return false;
      budget.adjust(n);
      log.push(name);
      return true;
    },
  };
  return w;
}

describe('MemoryBudget', () => {
  it('fits up to the limit; one request larger than the limit fits an empty budget only', () => {
    const b = new MemoryBudget(100);
    assert.ok(b.fits(100));
    assert.ok(b.fits(500), 'alone rather than never');
    b.adjust(60);
    assert.ok(b.fits(40));
    assert.equal(b.fits(41), false);
    assert.throws(() => new MemoryBudget(0), RangeError);
  });

  it('lets waiters in first come, first served, as bytes are given back; none overtakes the first', () => {
    const b = new MemoryBudget(100);
    const log: string[] = [];
    b.adjust(90);
    const big = want(b, 80, log, 'big');
    const small = want(b, 5, log, 'small');
    b.wait(big);
    b.wait(small);
    assert.equal(b.fits(5), false, 'a newcomer waits behind the queue');
    b.adjust(-10);
    assert.deepEqual(log, [], 'big does not fit yet, so small waits too');
    b.adjust(-60);
    assert.deepEqual(log, ['big'], 'big took 80 of the 100: small still waits');
    assert.equal(b.used, 100);
    b.adjust(-10);
    assert.deepEqual(log, ['big', 'small']);
    assert.equal(b.used, 95);
    assert.equal(b.waiting, 0);
  });

  it('a waiter that leaves lets the next one in', () => {
    const b = new MemoryBudget(100);
    const log: string[] = [];
    b.adjust(50);
    const first = want(b, 80, log, 'first');
    const second = want(b, 40, log, 'second');
    b.wait(first);
    b.wait(second);
    b.cancel(first);
    assert.deepEqual(log, ['second']);
  });
});
