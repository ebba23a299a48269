import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { anthropicError, decodeAnthropic, encodeAnthropic } from './anthropic-wire';
import { contextLengthMessage, defaultFaultMessage, rateLimitHeaders, rng, sampleLatency } from './faults';
import { decodeOpenAI, encodeOpenAI, openAIError } from './openai-wire';
import { createResponder, resolveScenario, TemplateError, type Answer } from './scenario';
import { estimateTokens, PromptCache } from './tokens';
import type { Scenario, SimApi, SimRequest } from './types';
import { WireError, type DecodedRequest, type Reply } from './wire-common';

export interface SimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** A scenario object, a ScenarioFn, or a path to a .json / .js / .ts scenario file. */
  scenario: Scenario | string;
  /** true prints one line per request to stdout; a function receives the lines instead. */
  log?: boolean | ((line: string) => void);
}

/** One request as the simulator saw it. */
export interface SimRecord {
  index: number;
  /** Arrival time, ms since the epoch. */
  time: number;
  path: string;
  api: SimApi | null;
  model: string | null;
  turn: number | null;
  body: unknown;
  /** Index of the rule that answered; null when unmatched or answered by a scripted scenario. */
  rule: number | null;
  /** HTTP status sent; 0 while pending or when the connection was dropped. */
  status: number;
  /** "text", "tool_use", "fault:429", "hang", "reset", "unmatched", ... */
  outcome: string;
}

export interface Simulator {
  url: string;
  port: number;
  requests: SimRecord[];
  /** The environment that points both SDKs (and openai-compatible) at this server. */
  env: Record<string, string>;
  close(): Promise<void>;
}

const ROUTES: Record<string, SimApi> = { '/v1/chat/completions': 'openai', '/v1/messages': 'anthropic' };

/** Starts the simulated model server; the official OpenAI and Anthropic SDKs work against it unmodified. */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const scenario = resolveScenario(options.scenario);
  const rules = typeof scenario === 'function' ? undefined : scenario;
  const respond = createResponder(scenario);
  const random = rng(rules?.seed ?? 1);
  const cache = new PromptCache();
  const requests: SimRecord[] = [];
  const idBase = Date.now().toString(36); // unique across restarts: transcripts may outlive a server
  const log =
    typeof options.log === 'function' ? options.log : options.log ? (line: string) => console.log(line) : undefined;
  const expectedKey = rules?.apiKey;
  const hanging = new Set<() => void>();

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = Date.now();
    const urlPath = (req.url ?? '/').split('?')[0].replace(/\/+$/, '');
    if (req.method === 'GET' && (urlPath === '/health' || urlPath === '')) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('longrun sim\n');
      return;
    }
    const rec: SimRecord = {
      index: requests.length,
      time: started,
      path: urlPath,
      api: ROUTES[urlPath] ?? null,
      model: null,
      turn: null,
      body: undefined,
      rule: null,
      status: 0,
      outcome: 'pending',
    };
    requests.push(rec);
    const api: SimApi = rec.api ?? (urlPath.endsWith('/messages') ? 'anthropic' : 'openai');
    const requestId = `req_sim_${idBase}_${rec.index}`;
    const send = (status: number, body: unknown, headers: Record<string, string> = {}, outcome?: string) => {
      rec.status = status;
      rec.outcome = outcome ?? rec.outcome;
      const idHeader = api === 'anthropic' ? { 'request-id': requestId } : { 'x-request-id': requestId };
      res.writeHead(status, { 'content-type': 'application/json', ...idHeader, ...headers }).end(JSON.stringify(body));
      log?.(
        `sim #${rec.index} ${req.method} ${urlPath} model=${rec.model ?? '-'} turn=${rec.turn ?? '-'} ` +
          `rule=${rec.rule ?? '-'} -> ${status} ${rec.outcome} (${Date.now() - started}ms)`,
      );
    };
    const fail = (status: number, message: string, headers?: Record<string, string>, code?: string) =>
      send(
        status,
        api === 'anthropic' ? anthropicError(status, message, requestId) : openAIError(status, message, code),
        headers,
        rec.outcome === 'pending' ? `error:${status}` : rec.outcome,
      );

    if (req.method !== 'POST' || !rec.api) {
      return fail(
        404,
        `longrun sim serves POST /v1/chat/completions and POST /v1/messages, not ${req.method} ${urlPath}`,
      );
    }
    let decoded: DecodedRequest;
    try {
      rec.body = JSON.parse(await readBody(req));
      decoded = api === 'anthropic' ? decodeAnthropic(rec.body) : decodeOpenAI(rec.body);
    } catch (err) {
      return fail(400, err instanceof WireError ? err.message : `invalid JSON body: ${(err as Error).message}`);
    }
    const simReq = toSimRequest(rec, api, urlPath, decoded);
    rec.model = simReq.model;
    rec.turn = simReq.turn;
    if (expectedKey !== undefined && presentedKey(req) !== expectedKey) {
      rec.outcome = 'fault:401';
      return fail(401, defaultFaultMessage(api, 401));
    }

    let answer: Answer | null;
    try {
      answer = await respond(simReq);
    } catch (err) {
      rec.outcome = 'scenario-error';
      if (err instanceof TemplateError) rec.rule = err.rule;
      const why = err instanceof TemplateError ? err.message : `the scenario threw: ${(err as Error).stack ?? err}`;
      return fail(400, `longrun sim: request #${rec.index} (model "${simReq.model}", turn ${simReq.turn}): ${why}`);
    }
    if (!answer) {
      rec.outcome = 'unmatched';
      const last = simReq.lastText.replace(/\s+/g, ' ').slice(0, 120);
      return fail(
        400,
        `longrun sim: no scenario rule matches request #${rec.index} (${urlPath}, model "${simReq.model}", turn ${simReq.turn}, ` +
          `last message: "${last}"). Add a rule such as {"match":{"model":"${simReq.model}","turn":${simReq.turn}},"respond":{"text":"..."}}`,
      );
    }
    rec.rule = answer.rule;
    const { response } = answer;

    const delay = sampleLatency(response.latency, random);
    if (delay > 0 && !(await wait(delay, res))) {
      rec.outcome = 'client-gone';
      return;
    }
    const fault = response.fault;
    if (fault && 'kind' in fault && fault.kind === 'hang') {
      rec.outcome = 'hang';
      log?.(`sim #${rec.index} ${urlPath} model=${rec.model} turn=${rec.turn} rule=${rec.rule ?? '-'} -> hang`);
      await new Promise<void>((resolve) => {
        const done = () => {
          hanging.delete(done);
          resolve();
        };
        hanging.add(done);
        res.once('close', done);
      });
      return;
    }
    if (fault && 'kind' in fault && fault.kind === 'reset') {
      rec.outcome = 'reset';
      log?.(
        `sim #${rec.index} ${urlPath} model=${rec.model} turn=${rec.turn} rule=${rec.rule ?? '-'} -> connection reset`,
      );
      req.socket.destroy();
      return;
    }
    const prompt = cache.account(simReq.model, decoded.segments, api === 'anthropic' ? 'explicit' : 'auto');
    if (fault && 'kind' in fault && fault.kind === 'context-length') {
      rec.outcome = 'fault:context-length';
      return fail(400, contextLengthMessage(api, prompt.total), {}, 'context_length_exceeded');
    }
    if (fault && 'status' in fault) {
      rec.outcome = `fault:${fault.status}`;
      const retryMs = fault.retryAfterMs ?? (fault.retryAfterSeconds ?? 1) * 1000;
      const headers =
        fault.status === 429
          ? rateLimitHeaders(retryMs, fault.retryAfterMs !== undefined)
          : fault.retryAfterSeconds !== undefined || fault.retryAfterMs !== undefined
            ? { 'retry-after': String(Math.ceil(retryMs / 1000)) }
            : {};
      return fail(fault.status, fault.message ?? defaultFaultMessage(api, fault.status), headers, fault.code);
    }

    const malformed = !!fault && 'kind' in fault && fault.kind === 'malformed-tool-json';
    let specs = response.toolCalls ?? [];
    if (malformed && !specs.length) specs = [{ name: simReq.tools[0] ?? 'tool', arguments: {} }];
    const prefix = api === 'anthropic' ? 'toolu' : 'call';
    const toolCalls = specs.map((c, i) => {
      const json = JSON.stringify(c.arguments ?? {});
      return {
        id: c.id ?? `${prefix}_sim_${idBase}_${rec.index}_${i}`,
        name: c.name,
        arguments: c.arguments ?? {},
        ...(malformed ? { rawArguments: json.slice(0, Math.max(1, json.length - 1)) } : {}),
      };
    });
    const text = response.text ?? '';
    const reply: Reply = {
      id: `sim_${idBase}_${rec.index}`,
      text,
      toolCalls,
      stopReason: response.stopReason ?? (toolCalls.length ? 'tool_use' : 'end_turn'),
      prompt,
      outputTokens: Math.max(
        1,
        estimateTokens(text + toolCalls.map((c) => c.name + JSON.stringify(c.arguments)).join('')),
      ),
    };
    const body =
      api === 'anthropic'
        ? encodeAnthropic(simReq.model, reply)
        : encodeOpenAI(simReq.model, reply, Math.floor(started / 1000));
    const outcome = toolCalls.length
      ? `tool_use[${toolCalls.map((c) => c.name).join(',')}]${malformed ? ' (malformed)' : ''}`
      : 'text';
    send(200, body, api === 'openai' ? { 'openai-processing-ms': String(Date.now() - started) } : {}, outcome);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `longrun sim internal error: ${(err as Error).message}` } }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1'}:${port}`;
  const key = expectedKey ?? 'sim-key';
  return {
    url,
    port,
    requests,
    env: {
      OPENAI_API_KEY: key,
      OPENAI_BASE_URL: `${url}/v1`,
      ANTHROPIC_API_KEY: key,
      ANTHROPIC_BASE_URL: url,
      OPENAI_COMPATIBLE_API_KEY: key,
      OPENAI_COMPATIBLE_BASE_URL: `${url}/v1`,
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const release of [...hanging]) release();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function toSimRequest(rec: SimRecord, api: SimApi, urlPath: string, d: DecodedRequest): SimRequest {
  const last = d.messages[d.messages.length - 1];
  return {
    index: rec.index,
    api,
    path: urlPath,
    model: d.model,
    turn: d.messages.filter((m) => m.role === 'assistant').length,
    system: d.system,
    messages: d.messages,
    text: d.messages.map((m) => m.text).join('\n'),
    lastText: last?.text ?? '',
    tools: d.tools,
    body: rec.body,
  };
}

/** The key a client presented: Anthropic's x-api-key or a bearer token (both SDKs use one of them). */
function presentedKey(req: http.IncomingMessage): string | undefined {
  const xKey = req.headers['x-api-key'];
  if (typeof xKey === 'string') return xKey;
  const auth = req.headers.authorization;
  return auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length) : undefined;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Sleeps `ms`; resolves false early if the client hangs up. */
function wait(ms: number, res: http.ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(true);
    }, ms);
    res.once('close', onClose);
  });
}
