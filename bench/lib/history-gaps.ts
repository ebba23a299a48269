/**
 * Where a workflow's time goes, from the server's own event timestamps: dispatch latency of workflow tasks and
 * activity tasks (scheduled → started), workflow-task processing in the worker (started → completed), and
 * activity execution as the server sees it (started → completed, including the report back).
 */
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

type Event = temporal.api.history.v1.IHistoryEvent;

export interface Gaps {
  wftDispatch: number[];
  wftProcessing: number[];
  activityDispatch: number[];
  activityRun: number[];
}

const ms = (e: Event) => Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;

export function gapsOf(
  events: Event[],
  into: Gaps = { wftDispatch: [], wftProcessing: [], activityDispatch: [], activityRun: [] },
): Gaps {
  const byId = new Map<number, Event>();
  for (const e of events) byId.set(Number(e.eventId), e);
  for (const e of events) {
    if (e.workflowTaskStartedEventAttributes) {
      const scheduled = byId.get(Number(e.workflowTaskStartedEventAttributes.scheduledEventId));
      if (scheduled) into.wftDispatch.push(ms(e) - ms(scheduled));
    } else if (e.workflowTaskCompletedEventAttributes) {
      const started = byId.get(Number(e.workflowTaskCompletedEventAttributes.startedEventId));
      if (started) into.wftProcessing.push(ms(e) - ms(started));
    } else if (e.activityTaskStartedEventAttributes) {
      const scheduled = byId.get(Number(e.activityTaskStartedEventAttributes.scheduledEventId));
      if (scheduled) into.activityDispatch.push(ms(e) - ms(scheduled));
    } else if (e.activityTaskCompletedEventAttributes) {
      const started = byId.get(Number(e.activityTaskCompletedEventAttributes.startedEventId));
      if (started) into.activityRun.push(ms(e) - ms(started));
    }
  }
  return into;
}

export async function gapsOfWorkflows(client: Client, workflowIds: string[]): Promise<Gaps> {
  const gaps: Gaps = { wftDispatch: [], wftProcessing: [], activityDispatch: [], activityRun: [] };
  for (const id of workflowIds) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    gapsOf(history.events ?? [], gaps);
  }
  return gaps;
}
