import type { HttpResponseInit } from '@azure/functions';

/** One field at fault, named by its JSON pointer into the request (RFC 6901). */
export interface FieldProblem {
  readonly pointer: string;
  readonly detail: string;
}

/** An RFC 9457 problem details body. */
export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly instance?: string;
  readonly code?: string;
  readonly errors?: readonly FieldProblem[];
}

const PROBLEM_TYPE_BASE = 'https://exchange-connector.dev/problems/';

/** A problem the caller can act on; functions map it to an application/problem+json response. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail?: string,
    readonly errors?: readonly FieldProblem[],
  ) {
    super(detail ?? title);
    this.name = 'HttpProblem';
  }

  toDetails(instance?: string): ProblemDetails {
    return {
      type: PROBLEM_TYPE_BASE + this.code,
      title: this.title,
      status: this.status,
      code: this.code,
      ...(this.detail ? { detail: this.detail } : {}),
      ...(instance ? { instance } : {}),
      ...(this.errors && this.errors.length > 0 ? { errors: this.errors } : {}),
    };
  }
}

export function problemResponse(problem: HttpProblem, instance?: string, headers: Record<string, string> = {}): HttpResponseInit {
  return {
    status: problem.status,
    headers: { 'content-type': 'application/problem+json', ...headers },
    body: JSON.stringify(problem.toDetails(instance)),
  };
}

export function validationProblem(errors: readonly FieldProblem[]): HttpProblem {
  return new HttpProblem(400, 'ValidationFailed', 'The request is not valid', `${errors.length} field(s) at fault`, errors);
}
