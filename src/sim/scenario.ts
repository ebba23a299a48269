import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import type { Rule, RuleMatch, RulesScenario, Scenario, ScenarioFn, SimRequest, SimResponse } from './types';

const regex = z.string().refine(
  (s) => {
    try {
      new RegExp(s, 'm');
      return true;
    } catch {
      return false;
    }
  },
  { message: 'is not a valid regular expression' },
);

const latencySchema = z.union(
  [
    z.object({ ms: z.number().min(0) }).strict(),
    z
      .object({ p50Ms: z.number().positive(), p90Ms: z.number().positive() })
      .strict()
      .refine((l) => l.p90Ms >= l.p50Ms, { message: 'p90Ms must be >= p50Ms' }),
  ],
  { error: 'must be {"ms": N} or {"p50Ms": N, "p90Ms": M} with M >= N' },
);

const faultSchema = z.union(
  [
    z
      .object({
        status: z.number().int().min(400).max(599),
        message: z.string().optional(),
        code: z.string().optional(),
        retryAfterSeconds: z.number().min(0).optional(),
        retryAfterMs: z.number().min(0).optional(),
      })
      .strict(),
    z.object({ kind: z.enum(['hang', 'reset', 'malformed-tool-json', 'context-length']) }).strict(),
  ],
  {
    error:
      'must be {"status": 400..599, "retryAfterSeconds"?: N, "message"?: "..."} or ' +
      '{"kind": "hang" | "reset" | "malformed-tool-json" | "context-length"}',
  },
);

const toolCallSchema = z
  .object({ id: z.string().optional(), name: z.string().min(1), arguments: z.unknown().optional() })
  .strict();

const respondSchema = z
  .object({
    text: z.string().optional(),
    toolCalls: z.array(toolCallSchema).optional(),
    stopReason: z.enum(['end_turn', 'tool_use', 'max_tokens']).optional(),
  })
  .strict();

const matchSchema = z
  .object({
    model: regex.optional(),
    contains: regex.optional(),
    system: regex.optional(),
    last: regex.optional(),
    turn: z
      .union([
        z.number().int().min(0),
        z.object({ min: z.number().int().min(0).optional(), max: z.number().int().min(0).optional() }).strict(),
      ])
      .optional(),
    api: z.enum(['openai', 'anthropic']).optional(),
    tool: regex.optional(),
  })
  .strict();

const ruleSchema = z
  .object({
    name: z.string().optional(),
    match: matchSchema.optional(),
    respond: respondSchema.optional(),
    latency: latencySchema.optional(),
    fault: faultSchema.optional(),
    times: z.number().int().positive().optional(),
  })
  .strict()
  .refine((r) => r.respond !== undefined || r.fault !== undefined, {
    message: 'needs "respond" (text and/or toolCalls) or "fault"',
  });

export const scenarioSchema = z
  .object({
    rules: z.array(ruleSchema).min(1, { message: 'needs at least one rule' }),
    latency: latencySchema.optional(),
    seed: z.number().int().optional(),
    apiKey: z.string().optional(),
  })
  .strict();

/** Validates a rules scenario; the error names the rule index and field, e.g. `rules[2].fault.status: ...`. */
export function parseScenario(data: unknown, source = 'scenario'): RulesScenario {
  const result = scenarioSchema.safeParse(data);
  if (result.success) return result.data as RulesScenario;
  const lines = result.error.issues.map((issue) => {
    const where = issue.path.reduce<string>(
      (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
      '',
    );
    return `  ${where || '(top level)'}: ${issue.message}`;
  });
  throw new Error(`${source} is invalid:\n${lines.join('\n')}`);
}

/**
 * Loads a scenario from a file: `.json` (rules), or a JS/TS module whose default export (or
 * `scenario` export) is a rules object or a ScenarioFn (scripted scenario).
 */
export function loadScenario(file: string): Scenario {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) throw new Error(`scenario file ${abs} does not exist`);
  if (abs.endsWith('.json')) {
    let data: unknown;
    try {
      data = JSON.parse(fs.readFileSync(abs, 'utf8'));
    } catch (err) {
      throw new Error(`scenario ${abs} is not valid JSON: ${(err as Error).message}`);
    }
    return parseScenario(data, `scenario ${abs}`);
  }
  if (/\.[cm]?ts$/.test(abs) && !require.extensions['.ts']) {
    // Lets `longrun sim --scenario my.ts` work from a compiled CLI too.
    require('ts-node').register({ transpileOnly: true });
  }
  const mod = require(abs) as { default?: unknown; scenario?: unknown };
  const exported = mod.default ?? mod.scenario ?? mod;
  if (typeof exported === 'function') return exported as ScenarioFn;
  return parseScenario(exported, `scenario ${abs}`);
}

export function resolveScenario(scenario: Scenario | string): Scenario {
  if (typeof scenario === 'string') return loadScenario(scenario);
  if (typeof scenario === 'function') return scenario;
  return parseScenario(scenario);
}

/** The answer to a request and which rule gave it (null for scripted scenarios). */
export interface Answer {
  response: SimResponse;
  rule: number | null;
}

export type Responder = (request: SimRequest) => Promise<Answer | null>;

interface CompiledRule {
  rule: Rule;
  model?: RegExp;
  contains?: RegExp;
  system?: RegExp;
  last?: RegExp;
  tool?: RegExp;
  used: number;
}

function turnMatches(want: RuleMatch['turn'], turn: number): boolean {
  if (want === undefined) return true;
  if (typeof want === 'number') return turn === want;
  return (want.min === undefined || turn >= want.min) && (want.max === undefined || turn <= want.max);
}

/** Compiles rules (or wraps a ScenarioFn) into a responder with per-rule use counters. */
export function createResponder(scenario: Scenario): Responder {
  if (typeof scenario === 'function') {
    return async (req) => {
      const response = await scenario(req);
      return response ? { response, rule: null } : null;
    };
  }
  const rx = (s?: string) => (s === undefined ? undefined : new RegExp(s, 'm'));
  const compiled: CompiledRule[] = scenario.rules.map((rule) => ({
    rule,
    model: rx(rule.match?.model),
    contains: rx(rule.match?.contains),
    system: rx(rule.match?.system),
    last: rx(rule.match?.last),
    tool: rx(rule.match?.tool),
    used: 0,
  }));
  return async (req) => {
    for (let i = 0; i < compiled.length; i++) {
      const c = compiled[i];
      const m = c.rule.match ?? {};
      if (c.rule.times !== undefined && c.used >= c.rule.times) continue;
      if (m.api && m.api !== req.api) continue;
      if (!turnMatches(m.turn, req.turn)) continue;
      if (c.model && !c.model.test(req.model)) continue;
      if (c.tool && !req.tools.some((t) => c.tool!.test(t))) continue;
      const groups: Record<string, string> = {};
      let ok = true;
      for (const [field, re, text] of [
        ['contains', c.contains, req.text],
        ['system', c.system, req.system],
        ['last', c.last, req.lastText],
      ] as const) {
        if (!re) continue;
        const hit = re.exec(text);
        if (!hit) {
          ok = false;
          break;
        }
        hit.forEach((g, n) => (groups[`${field}.${n}`] = g ?? ''));
        Object.assign(groups, hit.groups ?? {});
      }
      if (!ok) continue;
      c.used++;
      const vars = { ...groups, turn: String(req.turn), model: req.model, api: req.api, request: String(req.index) };
      const response: SimResponse = {
        ...(c.rule.respond ? (fillTemplates(c.rule.respond, vars, i) as SimResponse) : {}),
        ...(c.rule.latency ? { latency: c.rule.latency } : scenario.latency ? { latency: scenario.latency } : {}),
        ...(c.rule.fault ? { fault: c.rule.fault } : {}),
      };
      return { response, rule: i };
    }
    return null;
  };
}

/** Thrown for a `{{name}}` the request cannot fill; the server answers it with a 400 naming the rule. */
export class TemplateError extends Error {
  constructor(
    message: string,
    readonly rule: number,
  ) {
    super(message);
  }
}

/**
 * Replaces `{{var}}` in every string of a response: turn, model, api, request (index), capture groups
 * of the match regexes as `contains.1`, `last.2`, `system.0`, and named groups by name.
 */
export function fillTemplates(value: unknown, vars: Record<string, string>, ruleIndex: number): unknown {
  if (typeof value === 'string') {
    return value.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_, name: string) => {
      if (!(name in vars)) {
        throw new TemplateError(
          `rules[${ruleIndex}].respond uses {{${name}}}, which this request does not define (known: ${Object.keys(vars).join(', ')})`,
          ruleIndex,
        );
      }
      return vars[name];
    });
  }
  if (Array.isArray(value)) return value.map((v) => fillTemplates(v, vars, ruleIndex));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillTemplates(v, vars, ruleIndex)]));
  }
  return value;
}
