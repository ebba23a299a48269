// Type-only import: workflows word validation errors with this, and must not evaluate zod at import (defaults.ts).
import type { ZodError } from 'zod';

/** Turns zod issues into lines a person can act on: "limits.maxDepth: Too big: expected number to be <=5". */
export function describeIssues(error: ZodError, prefix = ''): string[] {
  return error.issues.map((issue) => {
    const where = [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(input)';
    return `${where}: ${issue.message}`;
  });
}
