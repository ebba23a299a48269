/**
 * The control tools' names (control-tools.ts has their specs). Apart, without zod, because workflows need only the
 * names and evaluate their imports afresh for every workflow (defaults.ts).
 */
export const CONTROL = { finish: 'finish', submitPlan: 'submit_plan', submitVerdict: 'submit_verdict' } as const;
