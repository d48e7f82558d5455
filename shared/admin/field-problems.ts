import type { z } from 'zod';
import type { FieldProblem } from '../http/problem';

const MAX_REPORTED_PROBLEMS = 50;

/** RFC 6901: '~' and '/' inside a segment are escaped. */
export function jsonPointer(...segments: readonly PropertyKey[]): string {
  // Segments come from caller input (unknown keys), so each is capped to keep problems small.
  return segments.map((segment) => '/' + String(segment).slice(0, 200).replaceAll('~', '~0').replaceAll('/', '~1')).join('');
}

/**
 * Zod issues as field problems, each naming the field by JSON pointer under `base`.
 * Unknown fields get one problem each. Zod's messages describe types and limits, never the
 * rejected value, so nothing a caller sent (a password, say) is echoed back.
 */
export function fieldProblemsOf(error: z.ZodError, base = ''): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const issue of error.issues) {
    const at = base + jsonPointer(...issue.path);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push({ pointer: at + jsonPointer(key), detail: 'is not a known field' });
    } else if (issue.code === 'invalid_type' && issue.input === undefined) {
      problems.push({ pointer: at, detail: 'is required' });
    } else {
      problems.push({ pointer: at, detail: issue.message });
    }
    if (problems.length >= MAX_REPORTED_PROBLEMS) break;
  }
  return problems.slice(0, MAX_REPORTED_PROBLEMS);
}
