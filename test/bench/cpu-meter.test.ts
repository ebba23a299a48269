import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import {
  componentTicks,
  cpuBetween,
  cpuMeter,
  cpuPerTurn,
  parseMachineStat,
  parseProcStat,
  readProcTable,
  type CpuSample,
} from '../../bench/lib/cpu-meter';
import { meterFromOutside, outsideTarget, treeTicks, type OutsideWindow } from '../../bench/lib/outside-meter';

/** A /proc/<pid>/stat line as the kernel writes it (fields after cstime shortened). */
const statLine = (pid: number, comm: string, ppid: number, [u, s, cu, cs]: number[]) =>
  `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1 4194560 3999 42478 0 70 ${u} ${s} ${cu} ${cs} 20 0 1 0 40112 5124096 916 18446744073709551615\n`;

const MACHINE_STAT = `cpu  27656 12 8609 74169 575 3 264 256 0 0
cpu0 13000 6 4300 37000 300 1 130 128 0 0
cpu1 14656 6 4309 37169 275 2 134 128 0 0
intr 123456 0 0
ctxt 987654
`;

describe('parsing /proc', () => {
  it('reads pid, ppid and the four times from a stat line', () => {
    const line =
      '3207 (bash) S 3206 3207 3207 0 -1 4194560 3999 42478 0 70 1 5 34 23 20 0 1 0 40112 5124096 916 ' +
      '18446744073709551615 94485795934208 94485796723613 140721171064640 0 0 0 65536 4 1132560123 1 0 0 17 1 0 0 0 0 0\n';
    expect(parseProcStat(line)).toEqual({
      pid: 3207,
      comm: 'bash',
      ppid: 3206,
      utime: 1,
      stime: 5,
      cutime: 34,
      cstime: 23,
    });
  });

  it('counts fields from the last parenthesis, so a comm with spaces and parentheses parses', () => {
    expect(parseProcStat(statLine(41, 'node (git) 2 ) S', 40, [7, 8, 9, 10]))).toMatchObject({
      pid: 41,
      comm: 'node (git) 2 ) S',
      ppid: 40,
      utime: 7,
      cstime: 10,
    });
  });

  it('rejects text that is not a stat line', () => {
    expect(() => parseProcStat('Name:\tbash\nState:\tS\n')).toThrow(/not a \/proc\/<pid>\/stat line/);
    expect(() => parseProcStat('12 (x) S 1 2')).toThrow(/not a \/proc\/<pid>\/stat line/);
  });

  it('sums the busy columns of the aggregate cpu line (idle and iowait are not busy)', () => {
    expect(parseMachineStat(MACHINE_STAT)).toEqual({
      busy: 27656 + 12 + 8609 + 3 + 264 + 256,
      total: 27656 + 12 + 8609 + 3 + 264 + 256 + 74169 + 575,
    });
    expect(() => parseMachineStat('intr 1 2 3\n')).toThrow(/no aggregate "cpu" line/);
  });

  it('reads a process table from a /proc directory, skipping entries that are not processes', () => {
    const proc = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-fake-proc-'));
    try {
      for (const [pid, ppid] of [
        [10, 1],
        [11, 10],
      ]) {
        fs.mkdirSync(path.join(proc, String(pid)));
        fs.writeFileSync(path.join(proc, String(pid), 'stat'), statLine(pid, 'node', ppid, [1, 2, 3, 4]));
      }
      fs.mkdirSync(path.join(proc, '12')); // exited between readdir and read: no stat file
      fs.writeFileSync(path.join(proc, 'stat'), MACHINE_STAT);
      expect(
        readProcTable(proc)
          .map((p) => p.pid)
          .sort(),
      ).toEqual([10, 11]);
    } finally {
      fs.rmSync(proc, { recursive: true, force: true });
    }
  });
});

describe('components', () => {
  // bench (100) ─┬─ dev server (200) ── its fork (201)
  //              ├─ git helper (300) ─┬─ git (301)
  //              │                    └─ git (302) ── git-remote (303)
  //              └─ worker (400) ── its git helper (401)
  // unrelated (500)
  const table = (times: Record<number, number[]>) =>
    [
      [100, 1],
      [200, 100],
      [201, 200],
      [300, 100],
      [301, 300],
      [302, 300],
      [303, 302],
      [400, 100],
      [401, 400],
      [500, 1],
    ]
      .filter(([pid]) => times[pid])
      .map(([pid, ppid]) => parseProcStat(statLine(pid, 'p', ppid, times[pid])));

  it('gives each process to its nearest root: the server under the bench is the server, not the bench', () => {
    const procs = table({
      100: [10, 1, 5, 0],
      200: [30, 3, 0, 0],
      201: [7, 0, 0, 0],
      300: [2, 1, 0, 0],
      301: [4, 0, 0, 0],
      302: [1, 0, 6, 1],
      303: [100, 0, 0, 0],
      400: [50, 5, 0, 0],
      401: [9, 1, 2, 0],
      500: [999, 0, 0, 0],
    });
    const { components, missing } = componentTicks(procs, { server: 200, worker: 400, bench: 100 });
    expect(components).toEqual({
      server: { own: 33, children: 7 },
      worker: { own: 55, children: 12 },
      // the bench's own 11, its reaped children 5; the helper tree 3 + 4 + 8 + 100
      bench: { own: 11, children: 5 + 115 },
    });
    expect(missing).toEqual([]);
  });

  it('counts a child that exited between two samples through its parent’s cutime', () => {
    // At the start git 301 runs (4 ticks so far); it ends after 6 more, and the helper reaps it: +10 in cutime.
    const start: CpuSample = {
      at: 1_000,
      ...componentTicks(table({ 100: [10, 0, 0, 0], 300: [2, 0, 0, 0], 301: [4, 0, 0, 0] }), { bench: 100 }),
      machine: { busy: 1_000, total: 2_000 },
    };
    const end: CpuSample = {
      at: 3_000,
      ...componentTicks(table({ 100: [30, 0, 0, 0], 300: [3, 0, 10, 0], 302: [5, 0, 0, 0] }), { bench: 100 }),
      machine: { busy: 1_100, total: 2_400 },
    };
    const reading = cpuBetween(start, end);
    // bench +20, helper +1, git 301 +6 (in the helper's cutime), git 302 +5 (started and still running)
    expect(reading.seconds).toEqual({ bench: 0.32, total: 0.32 });
    expect(reading.childSeconds).toEqual({ bench: 0.12 });
    expect(reading.cores).toEqual({ bench: 0.16, total: 0.16 });
    expect(reading.machineSeconds).toBe(1);
    expect(reading.elapsedS).toBe(2);
  });

  it('reports a root that exited, and sums the components into a total', () => {
    const procs = table({ 100: [10, 0, 0, 0], 200: [5, 0, 0, 0] });
    const sample = (p: typeof procs, at: number): CpuSample => ({
      at,
      ...componentTicks(p, { server: 200, worker: 400, bench: 100 }),
      machine: { busy: 0, total: 0 },
    });
    const later = table({ 100: [20, 0, 0, 0], 200: [25, 0, 0, 0] });
    const reading = cpuBetween(sample(procs, 0), sample(later, 1_000));
    expect(reading.missing).toEqual(['worker']);
    expect(reading.seconds).toEqual({ server: 0.2, worker: 0, bench: 0.1, total: 0.3 });
  });

  it('divides by worker turns and by all model turns, for every component, the total and the machine', () => {
    const reading = cpuBetween(
      {
        at: 0,
        components: { server: { own: 40, children: 0 }, worker: { own: 0, children: 0 } },
        missing: [],
        machine: { busy: 0, total: 0 },
      },
      {
        at: 1_000,
        components: { server: { own: 60, children: 0 }, worker: { own: 30, children: 10 } },
        missing: [],
        machine: { busy: 70, total: 200 },
      },
    );
    expect(cpuPerTurn(reading, { worker: 20, all: 25 })).toEqual({
      workerTurns: 20,
      modelTurns: 25,
      perWorkerTurnMs: { server: 10, worker: 20, total: 30, machine: 35 },
      perModelTurnMs: { server: 8, worker: 16, total: 24, machine: 28 },
    });
  });
});

describe('metering real processes', () => {
  /**
   * A helper process (like the worker's git helper) that, on request, runs a child burning `ms` of CPU and waits
   * for it; it prints the child's own count of its CPU time and stays alive.
   */
  const HELPER = `
    const { execFile } = require('child_process');
    const burn = "const t=process.cpuUsage(); let x=0; while ((process.cpuUsage(t).user+process.cpuUsage(t).system)/1000 < Number(process.argv[1])) x++;" +
      "const u=process.cpuUsage(); process.stdout.write(String((u.user+u.system)/1000));";
    require('readline').createInterface({ input: process.stdin }).on('line', (ms) =>
      execFile(process.execPath, ['-e', burn, ms], (err, out) => process.stdout.write(out + '\\n')));
  `;

  it('counts a child that started and exited inside the window, by its whole CPU time', async () => {
    const helper = spawn(process.execPath, ['-e', HELPER], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = readline.createInterface({ input: helper.stdout });
    const reply = () => new Promise<string>((resolve) => lines.once('line', resolve));
    try {
      const meter = cpuMeter({ helper: helper.pid! });
      const outsideBefore = treeTicks(helper.pid!);
      helper.stdin.write('400\n');
      const childMs = Number(await reply()); // the burner's own account, from getrusage, just before it exited
      const reading = meter();
      const outsideMs = (treeTicks(helper.pid!) - outsideBefore) * 10;

      expect(childMs).toBeGreaterThanOrEqual(400);
      // The kernel's account of the exited child, through the helper's cutime: what the child saw, to a few ticks.
      expect(Math.abs(reading.childSeconds.helper * 1000 - childMs)).toBeLessThanOrEqual(50);
      expect(reading.seconds.helper).toBeGreaterThanOrEqual(reading.childSeconds.helper);
      expect(reading.missing).toEqual([]);
      // The outside meter's own tree walk sees the same.
      expect(Math.abs(outsideMs - reading.seconds.helper * 1000)).toBeLessThanOrEqual(30);
    } finally {
      helper.kill();
    }
  });

  it('the process table holds this process with its parent', () => {
    const me = readProcTable().find((p) => p.pid === process.pid);
    expect(me?.ppid).toBe(process.ppid);
  });
});

describe('the outside meter', () => {
  it('answers every window mark and records the bench’s and its own figures for the window', () => {
    const child = Object.assign(new EventEmitter(), { pid: process.pid, sent: [] as unknown[] });
    const send = (m: unknown) => (child.sent.push(m), true);
    const windows: OutsideWindow[] = [];
    meterFromOutside('overhead', Object.assign(child, { send }), windows);
    const reading = cpuBetween(
      { at: 0, components: { a: { own: 0, children: 0 } }, missing: [], machine: { busy: 0, total: 0 } },
      { at: 1_000, components: { a: { own: 50, children: 0 } }, missing: [], machine: { busy: 60, total: 200 } },
    );
    const inside = { ...reading, ...cpuPerTurn(reading, { worker: 10, all: 12 }) };
    child.emit('message', { type: 'cpu-window', label: '1 worker(s)', phase: 'start' });
    child.emit('message', { type: 'something else' });
    child.emit('message', { type: 'cpu-window', label: '1 worker(s)', phase: 'end', inside });
    expect(child.sent).toEqual([{ type: 'cpu-window-ack' }, { type: 'cpu-window-ack' }]);
    expect(windows).toHaveLength(1);
    expect(windows[0]).toMatchObject({ bench: 'overhead', label: '1 worker(s)', inside });
    expect(windows[0].outside.treeSeconds).toBeGreaterThanOrEqual(0);
  });

  it('meets its target within 10 % of the outside tree, and says by how much', () => {
    const window = (inside: number, outside: number) =>
      ({
        bench: 'overhead',
        label: 'w',
        inside: { seconds: { total: inside } },
        outside: { elapsedS: 1, treeSeconds: outside, machineSeconds: outside },
      }) as unknown as OutsideWindow;
    expect(outsideTarget(window(1.05, 1))).toMatchObject({ value: '+5 %', met: true });
    expect(outsideTarget(window(0.8, 1))).toMatchObject({ value: '-20 %', met: false });
  });
});
