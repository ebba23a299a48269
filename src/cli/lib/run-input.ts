/**
 * `longrun run` flags → RunInput, and the run's problems phrased in terms of the flags the user typed
 * ("--max-cycles: Too big" rather than "limits.maxCycles: Too big"). Pure, except for path resolution.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import type { RunInput } from '../../core/schemas';
import { PROVIDERS, ROLES, type ProviderName, type Role } from '../../core/types';
import { inferProvider } from '../../models/defaults';
import { isLocalRepo } from '../../workspace/names';

export interface RunFlags {
  repo: string;
  goal: string;
  testCmd?: string;
  model?: string[];
  maxAgents?: number;
  maxCostUsd?: number;
  maxCycles?: number;
  guidance?: string;
  modelCalls?: string;
}

/**
 * Parses `--model ROLE=provider:model` (repeatable). The provider may be omitted when the model name tells it
 * (`worker=gpt-5-mini`); everything after the provider's colon is the model, so `openai-compatible:llama3.1:70b` works.
 */
export function parseModelFlags(values: string[]): {
  models: Partial<Record<Role, { provider: ProviderName; model: string }>>;
  problems: string[];
} {
  const models: Partial<Record<Role, { provider: ProviderName; model: string }>> = {};
  const problems: string[] = [];
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq <= 0 || eq === value.length - 1) {
      problems.push(`--model: expected ROLE=provider:model (e.g. worker=anthropic:claude-haiku-4-5), got '${value}'`);
      continue;
    }
    const role = value.slice(0, eq).trim();
    const spec = value.slice(eq + 1).trim();
    if (!(ROLES as readonly string[]).includes(role)) {
      problems.push(`--model: unknown role '${role}'; roles are ${ROLES.join(', ')}`);
      continue;
    }
    const colon = spec.indexOf(':');
    const prefix = colon > 0 ? spec.slice(0, colon) : '';
    let provider: ProviderName | undefined;
    let model = spec;
    if ((PROVIDERS as readonly string[]).includes(prefix)) {
      provider = prefix as ProviderName;
      model = spec.slice(colon + 1);
    } else {
      provider = inferProvider(spec);
    }
    if (!model) {
      problems.push(`--model: '${value}' names no model; e.g. ${role}=${provider ?? 'openai'}:gpt-5`);
    } else if (!provider) {
      const hint = prefix ? `unknown provider '${prefix}'` : `cannot tell the provider of '${spec}'`;
      problems.push(
        `--model: ${hint} in '${value}'; write ${role}=PROVIDER:MODEL with PROVIDER one of ${PROVIDERS.join(', ')}`,
      );
    } else if (models[role as Role]) {
      problems.push(`--model: role '${role}' is given twice; keep one`);
    } else {
      models[role as Role] = { provider, model };
    }
  }
  return { models, problems };
}

/** Absolute path for a local repo (the worker resolves paths on its own host), unchanged for URLs. */
export function normalizeRepo(repo: string, cwd = process.cwd()): string {
  const trimmed = repo.trim();
  if (!trimmed || !isLocalRepo(trimmed)) return trimmed;
  return path.resolve(cwd, trimmed.replace(/^file:\/\//, ''));
}

export function buildRunInput(flags: RunFlags, cwd = process.cwd()): { input: RunInput; problems: string[] } {
  const { models, problems } = parseModelFlags(flags.model ?? []);
  const limits: NonNullable<RunInput['limits']> = {};
  if (flags.maxAgents !== undefined) limits.maxParallelAgents = flags.maxAgents;
  if (flags.maxCostUsd !== undefined) limits.maxCostUsd = flags.maxCostUsd;
  if (flags.maxCycles !== undefined) limits.maxCycles = flags.maxCycles;
  const input: RunInput = { repo: normalizeRepo(flags.repo, cwd), goal: flags.goal };
  if (flags.testCmd !== undefined) input.testCommand = flags.testCmd;
  if (Object.keys(models).length) input.models = models;
  if (Object.keys(limits).length) input.limits = limits;
  if (flags.guidance) input.guidance = flags.guidance;
  if (flags.modelCalls !== undefined) input.modelCalls = flags.modelCalls as RunInput['modelCalls'];
  return { input, problems };
}

/** Field of RunInput → the flag that sets it. */
const FLAG_OF: Array<[RegExp, string]> = [
  [/^repo\b/, '--repo'],
  [/^goal\b/, '--goal'],
  [/^testCommand\b/, '--test-cmd'],
  [/^guidance\b/, '--guidance'],
  [/^modelCalls\b/, '--model-calls'],
  [/^models\b(\.\w+)*/, '--model'],
  [/^limits\.maxParallelAgents\b/, '--max-agents'],
  [/^limits\.maxCostUsd\b/, '--max-cost-usd'],
  [/^limits\.maxCycles\b/, '--max-cycles'],
];

/**
 * "limits.maxCycles: Too big…" → "--max-cycles: Too big…", and advice about `models.<role>.provider` becomes
 * advice about --model; other lines are unchanged.
 */
export function problemForFlags(problem: string): string {
  if (problem.startsWith('workflow id ')) return `--id ${problem.slice('workflow id '.length)}`;
  let out = problem.replace(/(models\.\w+\.provider)( \/ models\.\w+\.provider)*/g, '--model ROLE=provider:model');
  for (const [re, flag] of FLAG_OF) {
    const m = re.exec(out);
    if (m) {
      out = `${flag}${out.slice(m[0].length)}`;
      break;
    }
  }
  return out;
}

/** run-<yyyymmdd-hhmmss>-<4 random>, in local time: sortable, readable, and a valid git ref. */
export function defaultRunId(now = new Date(), random = randomBytes(4)): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const suffix = [...random].map((b) => alphabet[b % alphabet.length]).join('');
  return `run-${stamp}-${suffix}`;
}
