/**
 * Times every model request at the simulator: arrival (when the scenario is asked, right after the body is read)
 * and response sent (the simulator's log line is written right after `res.end`), per agent. High-resolution
 * epoch milliseconds, so intervals are comparable with the worker's own timestamps.
 */
import { performance } from 'node:perf_hooks';
import type { ScenarioFn, SimRequest, SimResponse } from '../../src/sim/types';
import { classify, type Classified } from './team';

export interface TimedRequest extends Classified {
  index: number;
  turn: number;
  arrival: number;
  /** NaN until the response is sent (or forever, when the client went away). */
  sent: number;
  status: number;
}

export const now = () => performance.timeOrigin + performance.now();

export interface Timeline {
  scenario: ScenarioFn;
  /** Pass as the simulator's `log` option. */
  log: (line: string) => void;
  requests: TimedRequest[];
  /** Requests grouped by agent, in arrival order. */
  byAgent(): Map<string, TimedRequest[]>;
}

/** `notify` sees each record when the request arrives and again when its response is sent. */
export function recordTimeline(
  inner: (req: SimRequest) => SimResponse | null,
  notify?: (rec: TimedRequest) => void,
): Timeline {
  const requests: TimedRequest[] = [];
  const byIndex = new Map<number, TimedRequest>();
  return {
    requests,
    scenario: (req) => {
      const rec: TimedRequest = {
        ...classify(req),
        index: req.index,
        turn: req.turn,
        arrival: now(),
        sent: NaN,
        status: 0,
      };
      requests.push(rec);
      byIndex.set(req.index, rec);
      notify?.(rec);
      return inner(req);
    },
    log: (line) => {
      const m = /^sim #(\d+) .* -> (\d+) /.exec(line);
      const rec = m ? byIndex.get(Number(m[1])) : undefined;
      if (rec && Number.isNaN(rec.sent)) {
        rec.sent = now();
        rec.status = Number(m![2]);
        notify?.(rec);
      }
    },
    byAgent() {
      const out = new Map<string, TimedRequest[]>();
      for (const r of requests) {
        const list = out.get(r.agent) ?? [];
        list.push(r);
        out.set(r.agent, list);
      }
      return out;
    },
  };
}
