/**
 * The generated part of docs/BENCHMARKS.md: one block per bench between `<!-- bench:<name> -->` and
 * `<!-- /bench:<name> -->`, rebuilt from bench/results/<name>.json. Everything outside the blocks is prose and is
 * kept as written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RESULTS_DIR } from './report';

export const DOC = path.join(__dirname, '..', '..', 'docs', 'BENCHMARKS.md');

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const table = (head: string[], rows: Array<Array<string | number | undefined | null>>) =>
  [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map((c) => c ?? '—').join(' | ')} |`),
  ].join('\n');

function header(r: Json): string {
  const m = r.machine ?? {};
  const machine = [
    `${m.nproc ?? m.cpus ?? '?'} CPU${m.cpuModel ? ` (${m.cpuModel})` : ''}`,
    m.ramGb ? `${m.ramGb} GB RAM` : null,
    m.node ? `Node ${m.node}` : null,
    m.os ?? null,
    m.git ?? null,
    m.temporalCli ?? null,
  ]
    .filter(Boolean)
    .join(', ');
  const lines = [`- **Machine**: ${machine}`, `- **Date**: ${r.date}`];
  if (r.command) lines.push(`- **Command**: \`${r.command}\``);
  if (r.durationS !== undefined) lines.push(`- **Duration**: ${r.durationS} s`);
  const load = m.loadAverage ?? m.loadAverageAtEnd;
  if (load) lines.push(`- **Load average** (1/5/15 min) when written: ${load.join(' / ')}`);
  return lines.join('\n');
}

function devServer(r: Json): string {
  const d = r.parameters?.devServer;
  if (!d) return '';
  return `\n- **Dev server**: dynamic config \`${JSON.stringify(d.dynamicConfig)}\`, SQLite pragmas \`${JSON.stringify(d.sqlitePragmas)}\``;
}

function targets(r: Json): string {
  if (!r.targets?.length) return '';
  return (
    '\n\n' +
    table(
      ['Target', 'Wanted', 'Measured', 'Met'],
      r.targets.map((t: Json) => [t.name, t.target, t.value, t.met ? 'yes' : '**no**']),
    )
  );
}

const s = (x: Json | undefined, k: string) => (x ? x[k] : undefined);

/** The CPU columns: per worker turn, per model turn (all roles) and in cores, for each component and the total. */
function cpuCells(cpu: Json | undefined, components: string[]): Array<string | number | undefined> {
  if (!cpu?.perWorkerTurnMs) return CPU_HEAD.map(() => undefined);
  const per = (x: Json) => [...components.map((c) => x[c]), `**${x.total}**`].join(' / ');
  const children = components.map((c) => cpu.childSeconds?.[c] ?? 0).reduce((a, b) => a + b, 0);
  return [
    `${per(cpu.perWorkerTurnMs)} (machine ${cpu.perWorkerTurnMs.machine})`,
    `${per(cpu.perModelTurnMs)} (machine ${cpu.perModelTurnMs.machine})`,
    `${cpu.workerTurns} / ${cpu.modelTurns}`,
    cpu.seconds.total,
    Math.round((children * 10_000) / Math.max(1, cpu.workerTurns)) / 10,
  ];
}

const CPU_HEAD = [
  'CPU ms per worker turn',
  'CPU ms per model turn',
  'Worker / model turns',
  'CPU total (s)',
  '… of it in child processes (git helper, git), ms per worker turn',
];

const RENDER: Record<string, (r: Json) => string> = {
  overhead(r) {
    const row = (name: string, x: Json | undefined) => [
      name,
      s(x, 'p50'),
      s(x, 'p90'),
      s(x, 'p99'),
      s(x, 'max'),
      s(x, 'n'),
    ];
    const runs: Json[] = r.figures.runs ?? [];
    const parts = [
      `Parameters: ${r.parameters.turnsPerAgent} \`${r.parameters.toolPerTurn}\` turns per worker, simulated latency ` +
        `${r.parameters.simulatedLatencyMs} ms; ${r.parameters.worker}.`,
    ];
    parts.push(
      '',
      'CPU per component, server / worker (the bench process, with the git helper below it) / simulator / ' +
        '**total**, divided by worker model turns and by all model turns (planner and judge included):',
      '',
      table(
        ['Workers', 'Model calls', ...CPU_HEAD],
        runs.map((f) => [f.agents, f.modelCalls, ...cpuCells(f.cpu, ['server', 'worker', 'simulator'])]),
      ),
    );
    for (const f of runs) {
      const sv = f.serverViewMs ?? {};
      parts.push(
        '',
        `**${f.agents} worker(s), model calls as ${f.modelCalls === 'local' ? 'local activities' : 'activities'}** — ${f.steps} steps, ${f.stepsPerSecond} steps/s` +
          (f.cpu
            ? `; CPU ${f.cpu.cores.total} cores busy (whole machine ${f.cpu.machineSeconds} s in ${f.cpu.elapsedS} s)`
            : ''),
        '',
        table(
          ['Per worker step (ms)', 'p50', 'p90', 'p99', 'max', 'n'],
          [
            row('**orchestration overhead**', f.overheadMs),
            row('… Temporal (between the model activity and the next)', f.temporalMs),
            row('… activities: SDK + transcript I/O', f.activityMs),
            row('excluded: runTool execution', f.excluded?.toolExecMs),
            row('excluded: simulator handling', f.excluded?.simHandlingMs),
            row('step period (request to request)', f.stepPeriodMs),
            row('server view: workflow task dispatch', sv.workflowTaskDispatch),
            row('server view: workflow task processing', sv.workflowTaskProcessing),
            row('server view: activity dispatch', sv.activityDispatch),
            row('server view: activity started → completed', sv.activityRun),
          ],
        ),
      );
    }
    return parts.join('\n');
  },
  scaling(r) {
    const rows: Json[] = r.figures.rows;
    return [
      `Parameters: ${r.parameters.turnsPerWorker} model turns per worker, lognormal latency p50 ${r.parameters.latency.p50Ms} ms / ` +
        `p90 ${r.parameters.latency.p90Ms} ms; worker env \`${JSON.stringify(r.parameters.workerEnv)}\`; ${r.parameters.worker}; ` +
        `idle worker RSS ${r.parameters.workerIdleRssMb} MB.`,
      '',
      table(
        [
          'Model calls',
          'N',
          'Latency',
          'Efficiency',
          'Ceiling',
          'Eff. ÷ ceiling',
          'Per-agent eff.',
          'Max in flight',
          'Wall (s)',
          'Start spread (s)',
          'Step gap (ms)',
          'RSS peak (MB)',
          'CPU cores total',
        ],
        rows.map((x) => [
          x.modelCalls ?? 'activity',
          x.n,
          x.latency,
          `**${x.efficiency}**`,
          x.ceiling,
          x.relativeEfficiency,
          x.perAgentEfficiency,
          x.maxInFlight,
          x.wallS,
          x.startSpreadS,
          x.stepGapMs,
          x.rssPeakMb,
          x.cpu?.cores.total,
        ]),
      ),
      '',
      'CPU per component, server / worker (with its git helper and git commands) / simulator (the bench process) / ' +
        '**total**, divided by worker model turns and by all model turns (planners and judge included):',
      '',
      table(
        ['Model calls', 'N', 'Latency', ...CPU_HEAD],
        rows.map((x) => [
          x.modelCalls ?? 'activity',
          x.n,
          x.latency,
          ...cpuCells(x.cpu, ['server', 'worker', 'simulator']),
        ]),
      ),
    ].join('\n');
  },
  'outside-meter'(r) {
    const windows: Json[] = r.figures?.windows ?? [];
    const pct = (a: number, b: number) => `${a >= b ? '+' : ''}${Math.round(((a - b) / (b || 1)) * 1000) / 10} %`;
    return table(
      [
        'Bench',
        'Window',
        'Elapsed (s)',
        'Bench: total CPU (s)',
        'Outside: bench process tree (s)',
        'Difference',
        'Whole machine busy (s)',
        'Bench ms per model turn',
        'Outside ms per model turn',
      ],
      windows.map((w) => [
        w.bench,
        w.label,
        w.inside.elapsedS,
        w.inside.seconds.total,
        Math.round(w.outside.treeSeconds * 100) / 100,
        pct(w.inside.seconds.total, w.outside.treeSeconds),
        Math.round(w.outside.machineSeconds * 100) / 100,
        w.inside.perModelTurnMs.total,
        Math.round((w.outside.treeSeconds * 10_000) / Math.max(1, w.inside.modelTurns)) / 10,
      ]),
    );
  },
  history(r) {
    const f = r.figures;
    const kinds = Object.entries(f.perKind as Record<string, Json>);
    return [
      `Run: ${f.runStatus}, tasks ${JSON.stringify(f.tasks)}, ${f.workflowsInTree} workflows / ${f.runsInTree} runs in the tree, ` +
        `${f.modelRequests} model requests. ` +
        `Largest run: \`${f.largestRun?.workflowId}\` (${f.largestRun?.events} events, ${f.largestRun?.bytes} bytes).`,
      '',
      table(
        [
          'Kind',
          'Workflows',
          'Runs',
          'Continued as new',
          'Events/run p50',
          'Events/run max',
          'Bytes/run p50',
          'Bytes/run max',
          'Events/workflow max',
        ],
        kinds.map(([k, v]) => [
          k,
          v.workflows,
          v.runs,
          v.continuedAsNew,
          v.eventsPerRun.p50,
          v.eventsPerRun.max,
          v.bytesPerRun.p50,
          v.bytesPerRun.max,
          v.eventsPerWorkflow.max,
        ]),
      ),
    ].join('\n');
  },
  merges(r) {
    const rows: Json[] = r.summary ?? r.results ?? [];
    if (!rows.length) return '(no summary in the result file)';
    const keys = Object.keys(rows[0]).filter((k) => typeof rows[0][k] !== 'object');
    return [
      r.note ?? '',
      '',
      table(
        keys,
        rows.map((x) => keys.map((k) => x[k])),
      ),
    ].join('\n');
  },
  'green-branch'(r) {
    const GREEN_SETTING_HEADERS: Record<string, string> = {
      off: 'controls off',
      on: 'controls on (defaults)',
      strict: 'on + mergePolicy tests-pass',
    };
    const p = r.parameters;
    const rows: Json[] = r.figures.rows ?? [];
    const col = (k: string, f: (x: Json) => unknown = (x) => x[k]) => [k, ...rows.map((x) => f(x))];
    const lines = [
      col('red share', (x) => x.redShare),
      col('break → green, p50 / max (s)', (x) =>
        x.breakToGreenS.n ? `${x.breakToGreenS.p50} / ${x.breakToGreenS.max}` : '— (never red)',
      ),
      col('red intervals', (x) => `${x.redIntervals}${x.stillRedAtEnd ? ' (red at the end)' : ''}`),
      col('breaking tasks (wrote BROKEN)', (x) => x.breaksMerged),
      col('pile-on per break', (x) => x.pileOnPerBreak),
      col('pile-on by broken file', (x) =>
        Object.entries(x.pileOnByBreak ?? {})
          .map(([f, n]) => `${f}: ${n}`)
          .join(', '),
      ),
      col('held back by the known-red note', (x) => x.heldBackByNote),
      col('red alerts / fixers planned', (x) => `${x.redAlerts} / ${x.fixersPlanned}`),
      col(
        'checks (red), pattern per cycle',
        // Cycles are separated by ' · ' here: a '|' would split the table's cell.
        (x) => `${x.checks.count} (${x.checks.red}) \`${(x.checks.pattern || '-').replace(/ \| /g, ' · ')}\``,
      ),
      col('judge done refused / false done accepted', (x) => `${x.judgeDoneRefused} / ${x.falseDoneAccepted}`),
      col('loopers / finished without tests', (x) => `${x.loopers} / ${x.finishedWithoutTests}`),
      col('run: status, cycles, seconds', (x) => `${x.runStatus}, ${x.cycles}, ${x.runS}`),
    ];
    return [
      `Parameters: ${p.agents} agents, ${p.tasks} tasks, p(break) ${p.pBreak}, p(loop) ${p.pLoop}, p(finish without ` +
        `tests) ${p.pSkipTests}, p(pile on when not told) ${p.pPileOn}, seed ${p.seed}; the judge always says done.`,
      '',
      table(
        ['figure', ...rows.map((x) => GREEN_SETTING_HEADERS[x.setting] ?? `controls ${x.setting}`)],
        lines.map((l) => [l[0] as string, ...l.slice(1).map((v) => v as string)]),
      ),
      ...(r.notes?.length ? ['', ...r.notes.map((n: string) => `- ${n}`)] : []),
    ].join('\n');
  },
  'remote-hub'(r) {
    const f = r.figures;
    const ops: Array<[string, string]> = [
      ['open', '`openWorkspace` (new task)'],
      ['checkpoint', '`checkpointWorkspace` (one file, 20-entry transcript)'],
      ['integrate', '`integrateTask` (merge onto the target)'],
      ['close', '`closeWorkspace`'],
    ];
    const ms = (m: Json, op: string) => (m?.ms?.[op] ? `${m.ms[op].p50} / ${m.ms[op].p90}` : undefined);
    const git = (m: Json, op: string) => {
      const g = m?.git?.[op];
      if (!g) return undefined;
      const net = ['fetch', 'push'].map((c) => `${g.byCommand[c] ?? 0} ${c}`).join(', ');
      return `${g.perOperation} (${net})`;
    };
    const extra = (op: string) => {
      const [l, x] = [f.local?.ms?.[op]?.p50, f.remote?.ms?.[op]?.p50];
      return typeof l === 'number' && typeof x === 'number' ? `+${Math.round((x - l) * 10) / 10}` : undefined;
    };
    const h = f.twoHosts ?? {};
    return [
      `Parameters: ${r.parameters.repoFiles}-file repository, ${r.parameters.tasksSequential} tasks one at a time on ` +
        `each hub; remote: ${r.parameters.remote}.`,
      '',
      table(
        [
          'Operation',
          'Local p50 / p90 (ms)',
          'Remote p50 / p90 (ms)',
          'Remote − local, p50 (ms)',
          'git commands, local',
          'git commands, remote',
        ],
        ops.map(([op, label]) => [
          label,
          ms(f.local, op),
          ms(f.remote, op),
          extra(op),
          git(f.local, op),
          git(f.remote, op),
        ]),
      ),
      '',
      `Two hosts (two \`LONGRUN_HOME\`s, one remote), ${h.tasksPerHost} integrations each, all at once:`,
      '',
      table(
        ['Merges', 'Wall (ms)', 'Merges/s', 'Latency p50 / p90 (ms)', 'CAS retries (per merge)', 'Lost'],
        [
          [
            Object.entries(h.statuses ?? {})
              .map(([k, v]) => `${v} ${k}`)
              .join(', '),
            h.elapsedMs,
            `**${h.mergesPerSecond}**`,
            h.latencyMs ? `${h.latencyMs.p50} / ${h.latencyMs.p90}` : undefined,
            `${h.casRetries} (${h.casRetriesPerMerge})`,
            h.lost,
          ],
        ],
      ),
      ...(r.notes?.length ? ['', ...r.notes.map((n: string) => `- ${n}`)] : []),
    ].join('\n');
  },
  'model-overhead'(r) {
    const rows: Json[] = r.results ?? [];
    const p = (x: Json | undefined) => (x ? `${x.p50Ms} / ${x.p99Ms}` : undefined);
    return [
      r.note ?? '',
      '',
      table(
        [
          'Provider',
          'Model',
          'Calls',
          'Raw fetch p50/p99 (ms)',
          'Provider p50/p99',
          'callModel p50/p99',
          'Transcript read+write p50/p99',
        ],
        rows.map((x) => [
          x.provider,
          x.model,
          x.calls,
          p(x.rawFetch),
          p(x.viaProvider),
          p(x.callModel),
          p(x.transcriptReadWrite),
        ]),
      ),
    ].join('\n');
  },
};

/** Targets of issue 7 for result files that do not list their own (the merge bench's). */
function derivedTargets(name: string, r: Json): Json[] {
  if (name !== 'merges' || !Array.isArray(r.summary)) return [];
  // The default configuration: one merge queue per hub, batched.
  const d = r.summary.find((x: Json) => x.scenario === 'queue-batch') ?? r.summary[0];
  if (!d) return [];
  const rate = d.medianMergesPerSecond ?? d.mergesPerSecond;
  return [
    {
      name: `merges/s, 100 concurrent integrations (${d.scenario}, median)`,
      target: '>= 20/s',
      value: rate,
      met: rate >= 20,
    },
    { name: 'lost merges', target: '0', value: d.lost, met: d.lost === 0 },
  ];
}

/** One line per target of every bench that has one, for the top of the document. */
export function renderSummary(): string {
  const rows: Array<Array<string | number>> = [];
  for (const name of Object.keys(RENDER)) {
    const file = path.join(RESULTS_DIR, `${name}.json`);
    if (!fs.existsSync(file)) continue;
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as Json;
    for (const t of r.targets ?? derivedTargets(name, r))
      rows.push([name, t.name, t.target, t.value, t.met ? 'yes' : '**no**', String(r.date).slice(0, 10)]);
  }
  return rows.length ? table(['Bench', 'Target', 'Wanted', 'Measured', 'Met', 'Date'], rows) : '_No results yet._';
}

export function renderBench(name: string): string {
  const file = path.join(RESULTS_DIR, `${name}.json`);
  if (!fs.existsSync(file)) return `_Not run yet: \`npm run bench -- ${name}\`._`;
  const r = JSON.parse(fs.readFileSync(file, 'utf8')) as Json;
  const body = RENDER[name]?.(r) ?? '```json\n' + JSON.stringify(r.figures ?? r, null, 2) + '\n```';
  return `${header(r)}${devServer(r)}\n\n${body}${targets(r)}`;
}

/** Rewrites every generated block of docs/BENCHMARKS.md (formatted with the project's Prettier settings); returns the file's path. */
export async function updateBenchmarksDoc(doc = DOC): Promise<string> {
  let text = fs.existsSync(doc) ? fs.readFileSync(doc, 'utf8') : '# Benchmarks\n';
  for (const name of ['summary', ...Object.keys(RENDER)]) {
    const open = `<!-- bench:${name} -->`;
    const close = `<!-- /bench:${name} -->`;
    const block = `${open}\n${name === 'summary' ? renderSummary() : renderBench(name)}\n${close}`;
    const start = text.indexOf(open);
    const end = text.indexOf(close);
    text =
      start >= 0 && end > start
        ? text.slice(0, start) + block + text.slice(end + close.length)
        : `${text.trimEnd()}\n\n## ${name}\n\n${block}\n`;
  }
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(doc)) ?? {};
  text = await prettier.format(text, { ...options, filepath: doc });
  fs.mkdirSync(path.dirname(doc), { recursive: true });
  fs.writeFileSync(doc, text);
  return doc;
}
