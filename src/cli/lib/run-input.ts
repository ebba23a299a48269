/**
 * `longrun run` flags → RunInput, and the run's problems phrased in terms of the flags the user typed
 * ("--max-cycles: Too big" rather than "limits.maxCycles: Too big"). Pure, except for path resolution.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { limitsSchema, type Limits, type RunInput } from '../../core/schemas';
import { PROVIDERS, ROLES, type ProviderName, type Role } from '../../core/types';
import { inferProvider } from '../../models/defaults';
import { isLocalRepo } from '../../workspace/names';

export interface RunFlags {
  repo?: string;
  goal?: string;
  base?: string;
  testCmd?: string;
  setup?: string;
  model?: string[];
  guidance?: string;
  modelCalls?: string;
  mergePolicy?: string;
  inputFile?: string;
  /** One entry per field of `limits`, keyed by field name (see LIMIT_FLAGS). */
  limits?: Partial<Record<LimitField, number | null>>;
}

export type LimitField = keyof Limits;

export interface LimitFlag {
  field: LimitField;
  /** `--max-depth`, `--worker-max-steps`, … */
  flag: string;
  description: string;
  integer: boolean;
  /** Accepts `none` (JSON null): no limit. */
  nullable: boolean;
  min: number | null;
}

/** Shorter names kept for flags users already type; every other flag is the field's name in kebab case. */
const FLAG_NAME: Partial<Record<LimitField, string>> = { maxParallelAgents: '--max-agents' };

/**
 * A flag for every field of the run input's `limits`, read from its zod schema: a field added there is a flag here,
 * with the schema's description as help, and its range checked by the same validation as the workflow's.
 */
export const LIMIT_FLAGS: readonly LimitFlag[] = Object.entries(limitsSchema.shape).map(([field, optional]) => {
  const inner = (optional as z.ZodOptional<z.ZodType>).unwrap();
  const nullable = inner instanceof z.ZodNullable;
  const number = (nullable ? (inner as z.ZodNullable<z.ZodNumber>).unwrap() : inner) as z.ZodNumber;
  return {
    field: field as LimitField,
    flag: FLAG_NAME[field as LimitField] ?? `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
    description: inner.description ?? number.description ?? field,
    integer: number.isInt,
    nullable,
    min: Number.isFinite(number.minValue) ? (number.minValue as number) : null,
  };
});

/** commander's argument parser for one limit flag: a number (whole where the field is), or `none` where allowed. */
export function parseLimitValue(spec: LimitFlag): (value: string) => number | null {
  return (value) => {
    const v = value.trim();
    if (spec.nullable && /^(none|null)$/i.test(v)) return null;
    const n = Number(v);
    const kind = spec.integer
      ? spec.min !== null && spec.min >= 1
        ? 'positive whole number'
        : 'whole number'
      : 'number';
    if (
      !v ||
      !Number.isFinite(n) ||
      (spec.integer && !Number.isInteger(n)) ||
      (spec.min !== null && spec.min >= 1 && n <= 0)
    ) {
      throw new InvalidArgumentError(
        `${spec.flag} must be a ${kind}${spec.nullable ? ' or none' : ''}, got "${value}"`,
      );
    }
    return n;
  };
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

/** A run input read from --input-file: the JSON `temporal workflow start --input` takes. */
export function readInputFile(
  file: string,
  cwd = process.cwd(),
): { input: Record<string, unknown>; problems: string[] } {
  const where = path.resolve(cwd, file);
  let text: string;
  try {
    text = fs.readFileSync(where, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    return { input: {}, problems: [`--input-file: ${where} ${why}; pass a JSON file with the run input`] };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { input: {}, problems: [`--input-file: ${where} is not valid JSON (${(err as Error).message})`] };
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return {
      input: {},
      problems: [`--input-file: ${where} must hold one JSON object (the run input), not ${typeof parsed}`],
    };
  }
  const input = parsed as Record<string, unknown>;
  // A relative repo path in the file is relative to the file, as a user reading the file would expect.
  if (typeof input.repo === 'string' && input.repo.trim() && isLocalRepo(input.repo.trim())) {
    input.repo = normalizeRepo(input.repo, path.dirname(where));
  }
  return { input, problems: [] };
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * The run input: --input-file (if any) with every flag given on top of it (flags win; `limits` and `models` merge
 * field by field). `fromFlags` lists the input fields the flags set, so problems can name the flag or the file.
 */
export function buildRunInput(
  flags: RunFlags,
  cwd = process.cwd(),
): { input: RunInput; problems: string[]; fromFlags: Set<string> } {
  const { models, problems } = parseModelFlags(flags.model ?? []);
  const file = flags.inputFile ? readInputFile(flags.inputFile, cwd) : { input: {}, problems: [] };
  problems.push(...file.problems);
  const input: Record<string, unknown> = { ...file.input };
  const fromFlags = new Set<string>();
  const set = (field: string, value: unknown) => {
    input[field] = value;
    fromFlags.add(field);
  };
  if (flags.repo !== undefined) set('repo', normalizeRepo(flags.repo, cwd));
  if (flags.goal !== undefined) set('goal', flags.goal);
  if (flags.base !== undefined) set('base', flags.base);
  if (flags.testCmd !== undefined) set('testCommand', flags.testCmd);
  if (flags.setup !== undefined) set('setup', flags.setup);
  if (flags.guidance) set('guidance', flags.guidance);
  if (flags.modelCalls !== undefined) set('modelCalls', flags.modelCalls);
  if (flags.mergePolicy !== undefined) set('mergePolicy', flags.mergePolicy);
  if (Object.keys(models).length) {
    input.models = { ...(isObject(input.models) ? input.models : {}), ...models };
    for (const role of Object.keys(models)) fromFlags.add(`models.${role}`);
  }
  const limits = Object.entries(flags.limits ?? {}).filter(([, v]) => v !== undefined);
  if (limits.length) {
    input.limits = { ...(isObject(input.limits) ? input.limits : {}), ...Object.fromEntries(limits) };
    for (const [field] of limits) fromFlags.add(`limits.${field}`);
  }
  if (input.repo === undefined)
    problems.push('--repo: required (or "repo" in --input-file): the repository to work on');
  if (input.goal === undefined)
    problems.push('--goal: required (or "goal" in --input-file): what the run should achieve');
  return { input: input as RunInput, problems, fromFlags };
}

/** Field of RunInput → the flag that sets it. */
const FLAG_OF: Array<[RegExp, string]> = [
  [/^repo\b/, '--repo'],
  [/^goal\b/, '--goal'],
  [/^base\b/, '--base'],
  [/^testCommand\b/, '--test-cmd'],
  [/^setup\b/, '--setup'],
  [/^guidance\b/, '--guidance'],
  [/^modelCalls\b/, '--model-calls'],
  [/^mergePolicy\b/, '--merge-policy'],
  [/^models\b(\.\w+)*/, '--model'],
  ...LIMIT_FLAGS.map((l): [RegExp, string] => [new RegExp(`^limits\\.${l.field}\\b`), l.flag]),
];

/**
 * "limits.maxCycles: Too big…" → "--max-cycles: Too big…", and advice about `models.<role>.provider` becomes
 * advice about --model; other lines are unchanged. With an input file, a problem with a field the flags did not set
 * names the file and the field instead: "run.json: limits.maxDepth: Too big…".
 */
export function problemForFlags(problem: string, origin?: { file: string; fromFlags: Set<string> }): string {
  if (problem.startsWith('workflow id ')) return `--id ${problem.slice('workflow id '.length)}`;
  if (origin) {
    const field = /^([\w.]+|\(input\)):/.exec(problem)?.[1] ?? '';
    const parts = field.split('.');
    const setByFlag = parts.some((_, i) => origin.fromFlags.has(parts.slice(0, i + 1).join('.')));
    if (!setByFlag && field !== '') return `${origin.file}: ${problem}`;
  }
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
