/** Readers for docker/ files, shared by the docker tests. Small parsers: enough for our own files, not general. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';

export const ROOT = path.resolve(__dirname, '..', '..');
export const DOCKER = path.join(ROOT, 'docker');

export interface Instruction {
  op: string;
  args: string;
}

export interface Stage {
  from: string;
  name: string | null;
  instructions: Instruction[];
}

/** Dockerfile → stages of instructions (comments dropped, `\` continuations joined, ARG defaults substituted in FROM). */
export function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!current && (line.startsWith('#') || !line)) continue;
    if (line.startsWith('#')) continue; // comment inside a continuation
    if (line.endsWith('\\')) current += `${line.slice(0, -1).trim()} `;
    else {
      logical.push(`${current}${line}`.trim());
      current = '';
    }
  }
  if (current.trim()) logical.push(current.trim());
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of logical) {
    const [op, ...rest] = line.split(/\s+/);
    const argText = rest.join(' ');
    if (op.toUpperCase() === 'ARG' && stages.length === 0) {
      const [name, value = ''] = argText.split('=');
      args[name] = value;
      continue;
    }
    if (op.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(argText);
      if (!m) throw new Error(`cannot parse FROM ${argText}`);
      const from = m[1].replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string, b: string) => args[a ?? b] ?? '');
      stages.push({ from, name: m[2] ?? null, instructions: [] });
      continue;
    }
    if (!stages.length) throw new Error(`instruction before FROM: ${line}`);
    stages[stages.length - 1].instructions.push({ op: op.toUpperCase(), args: argText });
  }
  return { args, stages };
}

export interface WorkerDockerfile {
  stages: Stage[];
  build: Stage;
  runtime: Stage;
  cmd: string[];
  entrypoint: string[];
  user: string | null;
  env: Record<string, string>;
  volumes: string[];
  /** Sources of the runtime stage's COPY lines without --from (paths relative to the build context). */
  runtimeCopies: string[];
  aptPackages: string[];
  runs: string[];
}

export function dockerfile(): WorkerDockerfile {
  const { stages } = parseDockerfile(fs.readFileSync(path.join(DOCKER, 'Dockerfile'), 'utf8'));
  const runtime = stages[stages.length - 1];
  const build = stages[0];
  const last = (op: string) => [...runtime.instructions].reverse().find((i) => i.op === op);
  const json = (i: Instruction | undefined) => (i ? (JSON.parse(i.args) as string[]) : []);
  const env: Record<string, string> = {};
  for (const i of runtime.instructions.filter((x) => x.op === 'ENV')) {
    for (const m of i.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]] = m[2].replace(/^"|"$/g, '');
  }
  const runs = runtime.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
  const aptPackages = runs
    .flatMap((r) => r.split(/&&|;/))
    .filter((cmd) => /apt-get\s+install/.test(cmd))
    .flatMap((cmd) =>
      cmd
        .replace(/.*apt-get\s+install/, '')
        .trim()
        .split(/\s+/),
    )
    .filter((word) => word && !word.startsWith('-'));
  return {
    stages,
    build,
    runtime,
    cmd: json(last('CMD')),
    entrypoint: json(last('ENTRYPOINT')),
    user: last('USER')?.args ?? null,
    env,
    volumes: runtime.instructions.filter((i) => i.op === 'VOLUME').flatMap((i) => json(i)),
    runtimeCopies: runtime.instructions
      .filter((i) => i.op === 'COPY' && !i.args.includes('--from'))
      .flatMap((i) =>
        i.args
          .split(/\s+/)
          .filter((w) => !w.startsWith('--'))
          .slice(0, -1),
      ),
    aptPackages,
    runs,
  };
}

// ---------------------------------------------------------------------------------------------------------------

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string | number | boolean | null>;
  env_file?: string | string[];
  volumes?: string[];
  ports?: string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  deploy?: { replicas?: string | number };
  entrypoint?: string[];
  security_opt?: string[];
  restart?: string;
}

export interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

export function compose(file = 'compose.yaml'): ComposeFile {
  return parse(fs.readFileSync(path.join(DOCKER, file), 'utf8')) as ComposeFile;
}

/** depends_on in either form → { service: condition }. */
export function dependsOn(service: ComposeService): Record<string, string> {
  const d = service.depends_on ?? [];
  if (Array.isArray(d)) return Object.fromEntries(d.map((name) => [name, 'service_started']));
  return Object.fromEntries(Object.entries(d).map(([name, v]) => [name, v.condition ?? 'service_started']));
}

/** "source:target[:mode]" → parts; a source starting with . or / is a bind mount, else a named volume. */
export function mount(spec: string): { source: string; target: string; bind: boolean } {
  const [source, target] = spec.split(':');
  return { source, target, bind: source.startsWith('.') || source.startsWith('/') };
}

/** Names in an env file: set (`NAME=…`) and documented-but-commented (`# NAME=…`). */
export function envFileNames(text: string): { set: Map<string, string>; commented: Set<string> } {
  const set = new Map<string, string>();
  const commented = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^\s*(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    if (m[1]) commented.add(m[2]);
    else set.set(m[2], m[3]);
  }
  return { set, commented };
}
