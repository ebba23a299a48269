import type { RefIncident } from './types';

/** One line for reports, the Web UI and the planner: what was found, what was restored, whose command it was. */
export function describeIncident(i: RefIncident): string {
  const found = i.found ? `moved to ${i.found.slice(0, 12)}` : 'deleted';
  const command = i.command ? ` \`${clip(i.command)}\`` : '';
  const who = i.taskId ? ` by task ${i.taskId}'s command${command}` : '';
  return `${i.ref} was ${found}${who}; restored to ${i.restored.slice(0, 12)} (noticed by ${i.detectedBy})`;
}

function clip(text: string, max = 160): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
