/**
 * Summarises the fault suite's measured figures as a Markdown table.
 *
 *   LONGRUN_FAULTS_REPORT=/tmp/faults.jsonl npm run test:faults     # the long version; or npm run test:slow
 *   npx ts-node --transpile-only scripts/faults-summary.ts /tmp/faults.jsonl
 *
 * Each test appends one JSON line per measured run (test/faults/helpers/runs.ts `report`).
 */
import * as fs from 'node:fs';

interface Line {
  name: string;
  mode: string;
  at: string;
  status?: string;
  durationMs?: number;
  requests?: number;
  faultFreeRequests?: number;
  referenceRequests?: number;
  ratio?: number;
  kills?: number;
  [key: string]: unknown;
}

function main(file: string | undefined): void {
  if (!file || !fs.existsSync(file)) {
    console.error(
      'usage: scripts/faults-summary.ts <report.jsonl>  (written by the fault suite with LONGRUN_FAULTS_REPORT=<file>)',
    );
    process.exit(2);
  }
  const lines = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);
  const seconds = (ms?: number) => (ms === undefined ? '' : (ms / 1000).toFixed(0));
  console.log('| test | mode | status | duration (s) | model requests | baseline requests | ratio | notes |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const l of lines) {
    if (l.durationMs === undefined && l.requests === undefined) continue;
    const baseline = l.faultFreeRequests ?? l.referenceRequests;
    const ratio = l.ratio ?? (baseline && l.requests ? +(l.requests / baseline).toFixed(2) : undefined);
    const notes = [
      l.kills !== undefined ? `${l.kills} kills` : '',
      l.injected ? `injected ${JSON.stringify(l.injected)}` : '',
      Array.isArray(l.restarts) ? `${l.restarts.length} restart(s)` : '',
    ]
      .filter(Boolean)
      .join('; ');
    console.log(
      `| ${l.name} | ${l.mode} | ${l.status ?? ''} | ${seconds(l.durationMs)} | ${l.requests ?? ''} | ${baseline ?? ''} | ${ratio ?? ''} | ${notes} |`,
    );
  }
}

main(process.argv[2]);
