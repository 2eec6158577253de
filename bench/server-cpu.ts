/**
 * CPU time a server process tree has spent, read from /proc (Linux): the RPC benchmark divides what the
 * server spent during a case by the calls made, a figure other processes' load disturbs far less than
 * round trips per second (a busy machine delays a round trip, it does not make the server work more).
 * The tree is a process and all its descendants: p11-kit server forks one child per connection, and
 * p11-kit-client.so starts a `remote:` command as a child of the client.
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // the process or thread has ended
  }
}

function tasks(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
}

/** The process and every descendant, through each thread's children list. */
function tree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i] as number;
    for (const tid of tasks(p)) {
      const kids = read(`/proc/${p}/task/${tid}/children`) ?? '';
      for (const k of kids.split(' ').filter(Boolean)) out.push(Number(k));
    }
  }
  return out;
}

/** Nanoseconds on a CPU so far, summed over every thread of the tree (schedstat's first field). */
export function treeCpuNs(root: number, skipRoot = false): number {
  let ns = 0;
  for (const pid of tree(root)) {
    if (skipRoot && pid === root) continue;
    for (const tid of tasks(pid)) {
      const first = read(`/proc/${pid}/task/${tid}/schedstat`)?.split(' ')[0];
      if (first) ns += Number(first);
    }
  }
  return ns;
}

/** Whether this kernel keeps per-thread schedstat (CONFIG_SCHEDSTATS or CONFIG_SCHED_INFO). */
export const HAVE_SCHEDSTAT =
  read(`/proc/${process.pid}/task/${process.pid}/schedstat`) !== undefined;
