/**
 * The server's memory budget: bytes held for requests across every connection — frames being received
 * (each counted at its announced length from the moment it is given its buffer) and frames waiting to be
 * answered — plus replies not yet taken by their clients. A frame that would take the total past the limit
 * waits, holding nothing but what already arrived, until other connections give bytes back; waiting
 * connections are let in first come, first served. Layer L7.
 * @module
 */

export interface BudgetWaiter {
  /** Tries again; returns true once the waiter got what it waited for (it is then dropped). */
  retry(): boolean;
}

export class MemoryBudget {
  readonly limit: number;
  #used = 0;
  #waiters: BudgetWaiter[] = [];

  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new RangeError(`memory budget must be a positive number of bytes, not ${limit}`);
    }
    this.limit = limit;
  }

  /** Bytes counted now (may exceed the limit by what arrived whole or was answered meanwhile). */
  get used(): number {
    return this.#used;
  }

  /** Connections waiting for room. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /**
   * Whether `bytes` more fit. Waiters go first (no overtaking a large frame with small ones), and a frame
   * larger than the whole limit fits only into an empty budget, so it is served alone rather than never.
   */
  fits(bytes: number, waiter?: BudgetWaiter): boolean {
    const first = this.#waiters.length === 0 || this.#waiters[0] === waiter;
    return first && (this.#used === 0 || this.#used + bytes <= this.limit);
  }

  /** Changes what one holder counts by `delta` bytes; giving back lets waiters in. */
  adjust(delta: number): void {
    this.#used += delta;
    if (delta < 0) this.#wake();
  }

  wait(waiter: BudgetWaiter): void {
    if (!this.#waiters.includes(waiter)) this.#waiters.push(waiter);
  }

  /** Stops waiting (the connection closed); those behind it may now fit. */
  cancel(waiter: BudgetWaiter): void {
    const i = this.#waiters.indexOf(waiter);
    if (i < 0) return;
    this.#waiters.splice(i, 1);
    if (i === 0) this.#wake();
  }

  #waking = false;

  #wake(): void {
    // A waiter let in may give bytes back at once (its request answered): one loop serves both.
    if (this.#waking) return;
    this.#waking = true;
    try {
      while (this.#waiters.length > 0) {
        const next = this.#waiters[0] as BudgetWaiter;
        if (!next.retry()) return;
        if (this.#waiters[0] === next) this.#waiters.shift();
      }
    } finally {
      this.#waking = false;
    }
  }
}
