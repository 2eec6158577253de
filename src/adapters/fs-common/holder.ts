/**
 * Who holds a lock or wrote a temp file, told precisely enough to know whether that process still runs:
 * a pid alone is not (a pid is reused, means another process in another PID namespace — every container
 * has its own pid 1 — and nothing at all on another host sharing the file system).
 *
 * A holder is recorded as a short tag: the kernel's boot id, the identity of the /proc the holder saw
 * (its device number: one procfs per PID namespace), its pid as that /proc numbers it, its start time in
 * clock ticks since boot, its own PID namespace and its own pid. Another process judges the tag:
 * - same kernel, same /proc: the pid is looked up there; gone, or started at another time (a reused
 *   pid), means dead — at once, whatever the PID namespaces (a holder started by `unshare --pid` is
 *   seen through its parent's /proc);
 * - same kernel, another /proc (a container that mounted its own): the holder's start time is searched
 *   among the processes this /proc shows; from the initial PID namespace every process is shown, so
 *   not finding it means dead;
 * - anything else (another kernel: another host, or this one before a reboot; a namespace this process
 *   cannot see into) is unknown, and the lock says how old it is (lock.ts breaks it only when old).
 * Linux /proc is used where present; elsewhere a holder is its pid, checked with kill(pid, 0).
 * @module
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';

export type Liveness = 'alive' | 'dead' | 'unknown';

/** The inode number of the initial PID namespace (PROC_PID_INIT_INO in the kernel). */
const INIT_PID_NS = 0xeffffffc;

export interface Holder {
  /** First 12 hex digits of the kernel's boot id ('' when unknown). */
  boot: string;
  /** Device number of the /proc the holder saw (base 36, '' when unknown). */
  procDev: string;
  /** The holder's pid in that /proc. */
  procPid: number;
  /** Start time in clock ticks after boot (base 36, '' when unknown). */
  start: string;
  /** Inode number of the holder's own PID namespace (0 when unknown). */
  pidNs: number;
  /** The holder's pid in its own namespace (what it would call itself). */
  pid: number;
}

const TAG = /^2\.([0-9a-f]*)\.([0-9a-z]*)\.([0-9a-z]+)\.([0-9a-z]*)\.([0-9a-z]*)\.([0-9a-z]+)$/;

function quietly<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

/**
 * Field 22 (starttime) of /proc/PID/stat, after the command name (which may hold spaces and parens);
 * undefined for a process that has ended, a zombie included (killed, not yet reaped by its parent).
 */
function startTimeOf(procPid: string | number): string | undefined {
  const stat = quietly(() => readFileSync(`/proc/${procPid}/stat`, 'latin1'));
  const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [state, ticks] = [fields?.[0], fields?.[19]];
  if (state === 'Z' || state === 'X') return undefined;
  return ticks && /^\d+$/.test(ticks) ? BigInt(ticks).toString(36) : undefined;
}

function pidNsOf(procPid: string | number): number | undefined {
  const link = quietly(() => readlinkSync(`/proc/${procPid}/ns/pid`));
  const m = link ? /^pid:\[(\d+)\]$/.exec(link) : null;
  return m ? Number(m[1]) : undefined;
}

function procDev(): string {
  return quietly(() => statSync('/proc').dev.toString(36)) ?? '';
}

function bootId(): string {
  const id = quietly(() => readFileSync('/proc/sys/kernel/random/boot_id', 'latin1'));
  return id ? id.replace(/[^0-9a-f]/g, '').slice(0, 12) : '';
}

let self: Holder | undefined;

/** This process as a holder (computed once: none of it changes while the process runs). */
export function selfHolder(): Holder {
  if (self) return self;
  const procPid = Number(quietly(() => readlinkSync('/proc/self')) ?? process.pid);
  self = {
    boot: bootId(),
    procDev: procDev(),
    procPid: Number.isSafeInteger(procPid) ? procPid : process.pid,
    start: startTimeOf('self') ?? '',
    pidNs: pidNsOf('self') ?? 0,
    pid: process.pid,
  };
  return self;
}

/** The tag naming `h`: [0-9a-z.] only, 55 bytes at most (a lock's symlink target stays in its inode). */
export function tagOf(h: Holder): string {
  return `2.${h.boot}.${h.procDev}.${h.procPid.toString(36)}.${h.start}.${h.pidNs.toString(36)}.${h.pid.toString(36)}`;
}

export function parseTag(tag: string): Holder | undefined {
  const m = TAG.exec(tag);
  if (!m) return undefined;
  const [, boot = '', dev = '', procPid = '', start = '', ns = '', pid = ''] = m;
  return {
    boot,
    procDev: dev,
    procPid: Number.parseInt(procPid, 36),
    start,
    pidNs: ns === '' ? 0 : Number.parseInt(ns, 36),
    pid: Number.parseInt(pid, 36),
  };
}

/** Whether `pid` exists in this process's PID namespace (EPERM: it does, owned by someone else). */
export function pidExists(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A holder recorded by pid only (an older version's lock or temp file): a live pid may be anyone. */
export function pidLiveness(pid: number): Liveness {
  return pidExists(pid) ? 'unknown' : 'dead';
}

/** Looks for the holder among the processes this /proc shows, by start time, then namespace and pid. */
function searchProc(h: Holder): Liveness {
  const me = selfHolder();
  let unsure = false;
  for (const name of quietly(() => readdirSync('/proc')) ?? []) {
    if (!/^\d+$/.test(name) || startTimeOf(name) !== h.start) continue;
    const ns = pidNsOf(name);
    if (ns === undefined)
      unsure = true; // not ours to inspect: it might be the holder
    else if (ns === h.pidNs) {
      const status = quietly(() => readFileSync(`/proc/${name}/status`, 'latin1'));
      const nspid = status ? /^NSpid:\s*(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/) : undefined;
      if (nspid === undefined || Number(nspid.at(-1)) === h.pid) return 'alive';
    }
  }
  return !unsure && me.pidNs === INIT_PID_NS ? 'dead' : 'unknown';
}

/** Whether the process `h` names still runs, as far as this process can tell. */
export function livenessOf(h: Holder): Liveness {
  const me = selfHolder();
  // No /proc here or there (not Linux): the pid is all there is, as before namespaces.
  if (me.boot === '' && h.boot === '') return pidExists(h.pid) ? 'alive' : 'dead';
  if (me.boot === '' || h.boot !== me.boot || h.start === '') return 'unknown';
  if (h.procDev !== '' && h.procDev === me.procDev) {
    const start = startTimeOf(h.procPid);
    if (start !== undefined) return start === h.start ? 'alive' : 'dead';
    // Not in /proc. Where this /proc is our own namespace's, kill() can tell gone from hidden (hidepid).
    if (me.procPid === me.pid) return pidExists(h.procPid) ? 'unknown' : 'dead';
    return 'dead';
  }
  if (h.pidNs === 0 || me.start === '') return 'unknown';
  return searchProc(h);
}

/**
 * `.tmp-TAG-` in a temp file's name marks this process as its writer, so that a store can remove the
 * file once its writer is gone (and never while it runs).
 */
export function tempMark(): string {
  return `.tmp-${tagOf(selfHolder())}-`;
}

/** The writer of a temp file named with tempMark (or an older version's `.tmp-PID-`), judged. */
export function tempWriterLiveness(name: string): Liveness | undefined {
  const m = /\.tmp-([0-9a-z.]+)-/.exec(name);
  if (!m) return undefined;
  const mark = m[1] as string;
  if (/^\d+$/.test(mark)) return pidLiveness(Number(mark));
  const h = parseTag(mark);
  return h ? livenessOf(h) : undefined;
}

/** How a holder reads in a message: its pid, and where when that pid means little here. */
export function describeHolder(h: Holder): string {
  const me = selfHolder();
  if (h.boot !== me.boot)
    return `process ${h.pid} under another kernel (another host, or before a reboot)`;
  if (h.pidNs !== me.pidNs) return `process ${h.pid} of PID namespace ${h.pidNs}`;
  return `process ${h.pid}`;
}
