/**
 * RPC benchmark: per-operation round trips through p11-kit-client.so (driven by pkcs11js in a client
 * process) against our server in front of our token, our server in front of SoftHSMv2, and
 * `p11-kit server` in front of SoftHSMv2, all in one run; SoftHSMv2 loaded directly shows what the
 * transport costs. Every server and client is its own process: pkcs11js calls block, so a server in the
 * client's process could never answer. All servers run at once and the client runs alternate between
 * them for 5 rounds after a warm-up round (median reported). `node dist/bench/rpc.js [--quick] [--json]`.
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchResult, measure } from './harness.js';
import { HAVE_SCHEDSTAT, treeCpuNs } from './server-cpu.js';

/** A client's figure for one operation: round trips per second and the server's CPU time per call. */
type RpcResult = BenchResult & { server_cpu_us?: number };

const SELF = fileURLToPath(import.meta.url);
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const CLIENT_SO = [
  '/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so',
  '/usr/lib/aarch64-linux-gnu/pkcs11/p11-kit-client.so',
].find(existsSync);
const SOFTHSM = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
].find(existsSync);

// ---- client process: pkcs11js over a module, measuring each operation ------------------------------

async function client(module: string, quick: boolean): Promise<void> {
  const C = await import('../src/pkcs11/constants.js');
  const pkcs11js = (await import('pkcs11js')).default;
  const p11 = new pkcs11js.PKCS11();
  p11.load(module);
  // p11-kit-client.so refuses initialize arguments without CKF_OS_LOCKING_OK (CKR_CANT_LOCK).
  p11.C_Initialize({ flags: C.CKF_OS_LOCKING_OK });
  const slot = p11.C_GetSlotList(true)[0] as Buffer;
  if (!(p11.C_GetTokenInfo(slot).flags & C.CKF_TOKEN_INITIALIZED)) {
    p11.C_InitToken(slot, '5678', 'bench');
    const so = p11.C_OpenSession(slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
    p11.C_Login(so, C.CKU_SO, '5678');
    p11.C_InitPIN(so, '1234');
    p11.C_CloseSession(so);
  }
  const s = p11.C_OpenSession(slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
  p11.C_Login(s, C.CKU_USER, '1234');
  const { publicKey, privateKey } = p11.C_GenerateKeyPair(
    s,
    { mechanism: C.CKM_EC_KEY_PAIR_GEN },
    [
      { type: C.CKA_EC_PARAMS, value: Buffer.from('06082a8648ce3d030107', 'hex') },
      { type: C.CKA_VERIFY, value: true },
      { type: C.CKA_LABEL, value: 'bench-ec' },
    ],
    [
      { type: C.CKA_SIGN, value: true },
      { type: C.CKA_LABEL, value: 'bench-ec' },
    ],
  );
  const digest = Buffer.alloc(32, 7);
  const kib = Buffer.alloc(1024, 1);
  const out = Buffer.alloc(512);
  const ecdsa = { mechanism: C.CKM_ECDSA };
  p11.C_SignInit(s, ecdsa, privateKey);
  const sig = Buffer.from(p11.C_Sign(s, digest, out));
  const ops: [string, () => unknown][] = [
    ['C_GetSessionInfo (1 round trip)', () => p11.C_GetSessionInfo(s)],
    ['C_GenerateRandom 32 B (1)', () => p11.C_GenerateRandom(s, Buffer.alloc(32))],
    [
      'SHA-256 of 1 KiB: DigestInit + Digest (2)',
      () => {
        p11.C_DigestInit(s, { mechanism: C.CKM_SHA256 });
        return p11.C_Digest(s, kib, out);
      },
    ],
    [
      'ECDSA P-256: SignInit + Sign (2)',
      () => {
        p11.C_SignInit(s, ecdsa, privateKey);
        return p11.C_Sign(s, digest, out);
      },
    ],
    [
      'ECDSA P-256: VerifyInit + Verify (2)',
      () => {
        p11.C_VerifyInit(s, ecdsa, publicKey);
        return p11.C_Verify(s, digest, sig);
      },
    ],
    [
      'find by label: Init + Find + Final (3)',
      () => {
        p11.C_FindObjectsInit(s, [{ type: C.CKA_LABEL, value: 'bench-ec' }]);
        p11.C_FindObjects(s, 4);
        p11.C_FindObjectsFinal(s);
      },
    ],
    [
      'GetAttributeValue CKA_EC_POINT (2)',
      () => p11.C_GetAttributeValue(s, publicKey, [{ type: C.CKA_EC_POINT }]),
    ],
    [
      'OpenSession + CloseSession (2)',
      () => p11.C_CloseSession(p11.C_OpenSession(slot, C.CKF_SERIAL_SESSION)),
    ],
  ];
  // One untimed pass first: right after the set-up (login, key generation) the first case measured
  // read 0.3-1x of its later figure on any server, from transients of the connection's first calls.
  for (const [op, fn] of ops) measure({ op, ours: fn }, 1, quick ? 10 : 50);
  // The server: the process named by the orchestrator, or (a remote: command) this client's children.
  const pid = process.env.BENCH_SERVER_PID;
  const serverCpu =
    !HAVE_SCHEDSTAT || process.env.BENCH_NO_SERVER
      ? undefined
      : pid
        ? () => treeCpuNs(Number(pid))
        : () => treeCpuNs(process.pid, true);
  for (const [op, fn] of ops) {
    let calls = 0;
    const counted = () => {
      calls++;
      return fn();
    };
    const before = serverCpu?.();
    const r: RpcResult = measure({ op, ours: counted }, 1, quick ? 60 : 400);
    if (serverCpu && before !== undefined) r.server_cpu_us = (serverCpu() - before) / calls / 1000;
    process.stdout.write(`${JSON.stringify(r)}\n`);
  }
  p11.C_Finalize();
}

// ---- server processes --------------------------------------------------------------------------------

async function serveSoftHsm(socket: string, library: string): Promise<void> {
  const { Pkcs11jsModule } = await import('../test/helpers/pkcs11js-backend.js');
  const { startRpcServer } = await import('../src/rpc/server.js');
  const module = await Pkcs11jsModule.load(library);
  await startRpcServer({ socketPath: socket, createApplication: () => module.application() });
  process.stdout.write('ready\n');
}

/**
 * `corepkcs11 remote` as an event loop would serve it: the socket server's Connection over the socket
 * p11-kit hands over as stdin and stdout. Kept to compare with the blocking loop the CLI uses.
 */
async function remoteEventLoop(store: string): Promise<void> {
  const { Socket } = await import('node:net');
  const { openTarget } = await import('../src/create.js');
  const { Connection } = await import('../src/rpc/connection.js');
  const { DEFAULT_CONNECTION_LIMITS } = await import('../src/rpc/server.js');
  const { app, close } = openTarget(store, { pinIterations: 1000, allowWeakPinIterations: true });
  const socket = new Socket({ fd: 0, readable: true, writable: true });
  const conn = new Connection(1, socket, app, DEFAULT_CONNECTION_LIMITS, 2, {});
  await conn.done;
  close();
}

async function serveToken(socket: string): Promise<void> {
  const { createToken } = await import('../src/create.js');
  const { Application } = await import('../src/token/application.js');
  const { startRpcServer } = await import('../src/rpc/server.js');
  // A cheap PIN derivation: login is set-up here, not what is measured.
  const token = createToken({ pinIterations: 1000, allowWeakPinIterations: true });
  await startRpcServer({ socketPath: socket, createApplication: () => new Application(token) });
  process.stdout.write('ready\n');
}

// ---- orchestration -----------------------------------------------------------------------------------

interface Target {
  name: string;
  /** Starts the server; returns the module for the client and its environment. */
  start(
    dir: string,
  ): Promise<{ module: string; env: Record<string, string>; child?: ChildProcess }>;
}

function softhsmConf(dir: string, name: string): string {
  const tokens = join(dir, `${name}-tokens`);
  mkdirSync(tokens);
  const conf = join(dir, `${name}.conf`);
  writeFileSync(
    conf,
    `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`,
  );
  const r = spawnSync(
    'softhsm2-util',
    ['--init-token', '--free', '--label', 'bench', '--so-pin', '5678', '--pin', '1234'],
    {
      env: { ...process.env, SOFTHSM2_CONF: conf },
    },
  );
  if (r.status !== 0) throw new Error(`softhsm2-util: ${r.stderr}`);
  return conf;
}

function startChild(args: string[], env: Record<string, string>, ready: (out: string) => boolean) {
  const child = spawn(args[0] as string, args.slice(1), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise<ChildProcess>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      if (ready(out)) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
}

const TARGETS: Target[] = [
  {
    name: 'corepkcs11 serve + token',
    async start(dir) {
      const socket = join(dir, 'token.sock');
      const child = await startChild([process.execPath, SELF, '--serve-token', socket], {}, (o) =>
        o.includes('ready'),
      );
      return {
        module: CLIENT_SO as string,
        env: { P11_KIT_SERVER_ADDRESS: `unix:path=${socket}` },
        child,
      };
    },
  },
  {
    name: 'corepkcs11 serve + SoftHSMv2',
    async start(dir) {
      const socket = join(dir, 'ours.sock');
      const conf = softhsmConf(dir, 'ours');
      const args = [process.execPath, SELF, '--serve-softhsm', socket, SOFTHSM as string];
      const child = await startChild(args, { SOFTHSM2_CONF: conf }, (o) => o.includes('ready'));
      return {
        module: CLIENT_SO as string,
        env: { P11_KIT_SERVER_ADDRESS: `unix:path=${socket}` },
        child,
      };
    },
  },
  {
    name: 'p11-kit server + SoftHSMv2',
    async start(dir) {
      const socket = join(dir, 'p11kit.sock');
      const conf = softhsmConf(dir, 'p11kit');
      const args = [
        'p11-kit',
        'server',
        '-f',
        '--provider',
        SOFTHSM as string,
        '-n',
        socket,
        'pkcs11:',
      ];
      const child = await startChild(args, { SOFTHSM2_CONF: conf }, (o) =>
        o.includes('P11_KIT_SERVER_PID'),
      );
      return {
        module: CLIENT_SO as string,
        env: { P11_KIT_SERVER_ADDRESS: `unix:path=${socket}` },
        child,
      };
    },
  },
  {
    name: 'corepkcs11 remote + token',
    async start(dir) {
      const store = join(dir, 'remote-token');
      mkdirSync(store);
      return {
        module: CLIENT_SO as string,
        env: {
          P11_KIT_SERVER_ADDRESS: `|${process.execPath} ${CLI} remote --store ${store}`,
          COREPKCS11_PIN_ITERATIONS: '1000',
          COREPKCS11_ALLOW_WEAK_PIN_ITERATIONS: '1',
        },
      };
    },
  },
  {
    name: 'corepkcs11 remote, event loop',
    async start(dir) {
      const store = join(dir, 'remote-loop-token');
      mkdirSync(store);
      return {
        module: CLIENT_SO as string,
        env: {
          P11_KIT_SERVER_ADDRESS: `|${process.execPath} ${SELF} --remote-event-loop ${store}`,
        },
      };
    },
  },
  {
    name: 'p11-kit remote + SoftHSMv2',
    async start(dir) {
      return {
        module: CLIENT_SO as string,
        env: {
          P11_KIT_SERVER_ADDRESS: `|p11-kit remote ${SOFTHSM as string}`,
          SOFTHSM2_CONF: softhsmConf(dir, 'remote'),
        },
      };
    },
  },
  {
    name: 'SoftHSMv2 direct (no RPC)',
    async start(dir) {
      return { module: SOFTHSM as string, env: { SOFTHSM2_CONF: softhsmConf(dir, 'direct') } };
    },
  },
];

function runClient(target: Started, quick: boolean): RpcResult[] {
  const { module, env, child } = target;
  // Whose CPU the client reads: the server's process tree, none for SoftHSMv2 in the client itself, or
  // (neither set) the client's children, where p11-kit-client.so runs a `remote:` command.
  const server: Record<string, string> = child?.pid
    ? { BENCH_SERVER_PID: String(child.pid) }
    : module === SOFTHSM
      ? { BENCH_NO_SERVER: '1' }
      : {};
  const r = spawnSync(process.execPath, [SELF, '--client', module, ...(quick ? ['--quick'] : [])], {
    env: { ...process.env, ...env, ...server },
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0)
    throw new Error(`client failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as RpcResult);
}

type Started = Awaited<ReturnType<Target['start']>>;
/** Per operation, per target, one figure per round. */
type Samples = Map<string, Map<string, number[]>>;

function add(samples: Samples, op: string, target: string, x: number | undefined): void {
  if (x === undefined) return;
  if (!samples.has(op)) samples.set(op, new Map());
  const row = samples.get(op) as Map<string, number[]>;
  row.set(target, [...(row.get(target) ?? []), x]);
}

/** Ratios printed: each is the median of per-round ratios (a round runs every target back to back). */
const PAIRS: [string, string, string][] = [
  ['serve ÷ p11-kit server', 'corepkcs11 serve + token', 'p11-kit server + SoftHSMv2'],
  ['serve+SoftHSM ÷ p11-kit server', 'corepkcs11 serve + SoftHSMv2', 'p11-kit server + SoftHSMv2'],
  ['remote ÷ p11-kit remote', 'corepkcs11 remote + token', 'p11-kit remote + SoftHSMv2'],
  [
    'remote event loop ÷ p11-kit remote',
    'corepkcs11 remote, event loop',
    'p11-kit remote + SoftHSMv2',
  ],
];

export async function rpcBench(argv: string[]): Promise<number> {
  const quick = argv.includes('--quick');
  const json = argv.includes('--json');
  const at = argv.indexOf('--targets');
  const wanted = at >= 0 ? (argv[at + 1] ?? '').split(',') : [];
  const targets = TARGETS.filter(
    (t) => wanted.length === 0 || wanted.some((w) => t.name.includes(w)),
  );
  const missing = [
    !CLIENT_SO && 'p11-kit-client.so (p11-kit-modules)',
    !SOFTHSM && 'libsofthsm2.so (softhsm2)',
    spawnSync('p11-kit', ['list-modules']).error && 'p11-kit',
  ].filter(Boolean);
  if (missing.length) {
    process.stderr.write(`rpc bench skipped: missing ${missing.join(', ')}\n`);
    return 0;
  }
  const dir = mkdtempSync(join(tmpdir(), 'corepkcs11-rpc-bench-'));
  const samples: Samples = new Map();
  const cpu: Samples = new Map();
  const started: Started[] = [];
  const rounds = quick ? 1 : Number(argv[argv.indexOf('--rounds') + 1] ?? 5) || 5;
  try {
    for (const t of targets) started.push(await t.start(dir));
    // Rounds interleave the targets, so load from other processes on the machine hits all alike.
    // Round -1 warms the servers' JIT up and is not counted.
    for (let round = quick ? 0 : -1; round < rounds; round++) {
      targets.forEach((t, i) => {
        const results = runClient(started[i] as Started, quick || round < 0);
        if (round < 0) return;
        for (const r of results) {
          add(samples, r.op, t.name, r.ops_per_s);
          // CPU per call inverted, so that a ratio reads as round trips do: above 1, ours costs less.
          add(cpu, r.op, t.name, r.server_cpu_us === undefined ? undefined : 1 / r.server_cpu_us);
          if (json) process.stdout.write(`${JSON.stringify({ target: t.name, round, ...r })}\n`);
        }
      });
    }
  } finally {
    for (const s of started) s.child?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
  if (!json) {
    const names = targets.map((t) => t.name);
    const title = `RPC round trips through p11-kit-client.so (pkcs11js client), ops/s — Node ${process.version}, load ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`;
    print(samples, names, title, (x) => Math.round(x).toLocaleString('en-US'));
    const cpuTitle =
      "Server CPU time per call, µs (the server's process tree, all threads; ratio: theirs ÷ ours)";
    print(cpu, names, cpuTitle, (x) => (1 / x).toFixed(1));
  }
  return 0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function print(
  samples: Samples,
  names: string[],
  title: string,
  show: (x: number) => string,
): void {
  if (samples.size === 0) return;
  const pairs = PAIRS.filter(([, a, b]) => names.includes(a) && names.includes(b));
  const n = (xs: number[] | undefined) => (xs === undefined ? '—' : show(median(xs)));
  const ratio = (a: number[] | undefined, b: number[] | undefined) =>
    a && b && a.length === b.length
      ? `${median(a.map((x, i) => x / (b[i] as number))).toFixed(2)}x`
      : '—';
  const lines = [
    title,
    `| operation | ${names.join(' | ')} | ${pairs.map(([label]) => label).join(' | ')} |`,
    `|---|${names.map(() => '---:').join('|')}|${pairs.map(() => '---:').join('|')}|`,
  ];
  for (const [op, row] of samples) {
    const cells = names.map((name) => n(row.get(name)));
    const ratios = pairs.map(([, a, b]) => ratio(row.get(a), row.get(b)));
    lines.push(`| ${op} | ${cells.join(' | ')} | ${ratios.join(' | ')} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

const [mode, a, b] = process.argv.slice(2);
if (mode?.startsWith('--serve-')) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0));
}
if (mode === '--client') await client(a as string, process.argv.includes('--quick'));
else if (mode === '--serve-softhsm') await serveSoftHsm(a as string, b as string);
else if (mode === '--serve-token') await serveToken(a as string);
else if (mode === '--remote-event-loop') await remoteEventLoop(a as string);
else if (process.argv[1] === SELF) process.exitCode = await rpcBench(process.argv.slice(2));
