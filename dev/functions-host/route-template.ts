/**
 * ASP.NET Core route templates as the Functions host accepts them in an HTTP trigger's
 * `route`: literal segments (matched case-insensitively), `{name}`, optional `{name?}`,
 * defaults `{name=value}`, catch-all `{*name}`, complex segments like `{file}.{ext}`, and
 * the common inline constraints (`{id:int}`, `:guid`, `:bool`, `:alpha`, `:long`, `:double`,
 * `:decimal`, `:float`, `:datetime`, `:min(n)`, `:max(n)`, `:range(a,b)`, `:minlength(n)`,
 * `:maxlength(n)`, `:length(n[,m])`, `:regex(expr)`).
 * https://learn.microsoft.com/aspnet/core/fundamentals/routing#route-constraints
 */

export class RouteTemplateError extends Error {
  readonly code = 'RouteTemplateError';
}

type Constraint = (value: string) => boolean;

interface RouteParameter {
  readonly name: string;
  readonly optional: boolean;
  readonly catchAll: boolean;
  readonly defaultValue?: string;
  readonly constraints: readonly Constraint[];
}

type TemplatePart = { readonly kind: 'literal'; readonly text: string } | { readonly kind: 'parameter'; readonly parameter: RouteParameter };

interface TemplateSegment {
  readonly parts: readonly TemplatePart[];
}

export interface RouteTemplate {
  readonly template: string;
  /** Returns the route values when `path` (no leading slash, not decoded) matches; undefined otherwise. */
  match(path: string): Record<string, string> | undefined;
  /** Lower sorts first: literal segments beat parameters, which beat catch-alls (as ASP.NET orders routes). */
  readonly precedence: readonly number[];
}

const numberPattern = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const integerPattern = /^[+-]?\d+$/;

function isGuid(value: string): boolean {
  // JS has no conditional groups: strip one pair of braces or parentheses, then check the body.
  const body = /^\{.*\}$|^\(.*\)$/.test(value) ? value.slice(1, -1) : value;
  return /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(body);
}

function numericArguments(name: string, args: string, count: readonly number[]): number[] {
  const values = args.split(',').map((a) => a.trim());
  if (!count.includes(values.length) || values.some((v) => !integerPattern.test(v))) {
    throw new RouteTemplateError(`Route constraint '${name}(${args})' needs ${count.join(' or ')} integer argument(s)`);
  }
  return values.map(Number);
}

function inInt32(value: string): boolean {
  return integerPattern.test(value) && Number(value) >= -2147483648 && Number(value) <= 2147483647;
}

function constraintFor(spec: string): Constraint {
  const call = /^([a-zA-Z]+)(?:\((.*)\))?$/s.exec(spec);
  if (!call) throw new RouteTemplateError(`Unknown route constraint '${spec}'`);
  const name = call[1]!.toLowerCase();
  const args = call[2];
  switch (name) {
    case 'int':
      return inInt32;
    case 'long':
      return (v) => integerPattern.test(v) && Number.isSafeInteger(Number(v));
    case 'bool':
      return (v) => /^(true|false)$/i.test(v);
    case 'guid':
      return isGuid;
    case 'alpha':
      return (v) => /^[a-z]+$/i.test(v);
    case 'double':
    case 'float':
    case 'decimal':
      return (v) => numberPattern.test(v);
    case 'datetime':
      return (v) => !Number.isNaN(Date.parse(v));
    case 'min': {
      const [min] = numericArguments(name, args ?? '', [1]);
      return (v) => integerPattern.test(v) && Number(v) >= min!;
    }
    case 'max': {
      const [max] = numericArguments(name, args ?? '', [1]);
      return (v) => integerPattern.test(v) && Number(v) <= max!;
    }
    case 'range': {
      const [min, max] = numericArguments(name, args ?? '', [2]);
      return (v) => integerPattern.test(v) && Number(v) >= min! && Number(v) <= max!;
    }
    case 'minlength': {
      const [min] = numericArguments(name, args ?? '', [1]);
      return (v) => v.length >= min!;
    }
    case 'maxlength': {
      const [max] = numericArguments(name, args ?? '', [1]);
      return (v) => v.length <= max!;
    }
    case 'length': {
      const [a, b] = numericArguments(name, args ?? '', [1, 2]);
      return b === undefined ? (v) => v.length === a : (v) => v.length >= a! && v.length <= b;
    }
    case 'regex': {
      if (args === undefined) throw new RouteTemplateError('Route constraint regex() needs a pattern');
      // Route templates escape braces by doubling them: regex(^\\d{{4}}$) means ^\\d{4}$.
      const pattern = new RegExp(args.replace(/\{\{/g, '{').replace(/\}\}/g, '}'), 'i');
      return (v) => pattern.test(v);
    }
    default:
      throw new RouteTemplateError(`Unknown route constraint '${name}'`);
  }
}

/** Splits "name:int:min(1)?" on colons that are not inside parentheses. */
function splitConstraints(body: string): string[] {
  const pieces: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of body) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ':' && depth === 0) {
      pieces.push(current);
      current = '';
    } else current += ch;
  }
  pieces.push(current);
  return pieces;
}

function parseParameter(body: string, template: string): RouteParameter {
  let text = body;
  const catchAll = text.startsWith('*');
  if (catchAll) text = text.replace(/^\*{1,2}/, '');
  let defaultValue: string | undefined;
  let optional = false;
  const [nameAndConstraints, ...defaults] = text.split('=');
  let head = nameAndConstraints!;
  if (defaults.length > 0) defaultValue = defaults.join('=');
  if (head.endsWith('?')) {
    optional = true;
    head = head.slice(0, -1);
  }
  const [name, ...constraintSpecs] = splitConstraints(head);
  if (!name || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new RouteTemplateError(`Route '${template}': bad parameter name in '{${body}}'`);
  return { name, optional, catchAll, ...(defaultValue !== undefined ? { defaultValue } : {}), constraints: constraintSpecs.map(constraintFor) };
}

function parseSegment(segment: string, template: string): TemplateSegment {
  const parts: TemplatePart[] = [];
  let rest = segment;
  while (rest.length > 0) {
    const open = rest.indexOf('{');
    if (open === -1) {
      parts.push({ kind: 'literal', text: rest });
      break;
    }
    if (open > 0) parts.push({ kind: 'literal', text: rest.slice(0, open) });
    // A regex constraint may hold braces, so find the matching close brace by depth.
    let depth = 0;
    let close = -1;
    for (let i = open; i < rest.length; i++) {
      if (rest[i] === '{') depth++;
      if (rest[i] === '}' && --depth === 0) {
        close = i;
        break;
      }
    }
    if (close === -1) throw new RouteTemplateError(`Route '${template}': unclosed '{' in segment '${segment}'`);
    parts.push({ kind: 'parameter', parameter: parseParameter(rest.slice(open + 1, close), template) });
    rest = rest.slice(close + 1);
  }
  return { parts };
}

function segmentRank(segment: TemplateSegment): number {
  if (segment.parts.length === 1 && segment.parts[0]!.kind === 'literal') return 1;
  if (segment.parts.length > 1) return 2;
  const parameter = (segment.parts[0] as { parameter: RouteParameter }).parameter;
  if (parameter.catchAll) return parameter.constraints.length > 0 ? 5 : 6;
  return parameter.constraints.length > 0 ? 3 : 4;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function decodeValue(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function satisfies(parameter: RouteParameter, value: string): boolean {
  return parameter.constraints.every((check) => check(value));
}

/** Matches one path segment against a template segment, adding route values on success. */
function matchSegment(segment: TemplateSegment, raw: string, values: Record<string, string>): boolean {
  const only = segment.parts.length === 1 ? segment.parts[0]! : undefined;
  if (only?.kind === 'literal') return decodeValue(raw).toLowerCase() === only.text.toLowerCase();
  if (only?.kind === 'parameter') {
    const value = decodeValue(raw);
    if (value === '' || !satisfies(only.parameter, value)) return false;
    values[only.parameter.name] = value;
    return true;
  }
  // Complex segment: literals must appear in order, parameters take the shortest text between them.
  const source = segment.parts.map((part) => (part.kind === 'literal' ? escapeRegExp(part.text) : '(.+?)')).join('');
  const found = new RegExp(`^${source}$`, 'i').exec(decodeValue(raw));
  if (!found) return false;
  const parameters = segment.parts.flatMap((part) => (part.kind === 'parameter' ? [part.parameter] : []));
  for (const [i, parameter] of parameters.entries()) {
    const value = found[i + 1]!;
    if (!satisfies(parameter, value)) return false;
    values[parameter.name] = value;
  }
  return true;
}

function soleParameter(segment: TemplateSegment): RouteParameter | undefined {
  const only = segment.parts.length === 1 ? segment.parts[0] : undefined;
  return only?.kind === 'parameter' ? only.parameter : undefined;
}

export function parseRouteTemplate(template: string): RouteTemplate {
  const trimmed = template.replace(/^[~]?\/+/, '').replace(/\/+$/, '');
  const segments = trimmed === '' ? [] : trimmed.split('/').map((s) => parseSegment(s, template));
  segments.forEach((segment, i) => {
    const parameter = soleParameter(segment);
    if (parameter?.catchAll && i !== segments.length - 1) throw new RouteTemplateError(`Route '${template}': a catch-all parameter must be the last segment`);
    if (segment.parts.some((p) => p.kind === 'literal' && p.text === '')) throw new RouteTemplateError(`Route '${template}': empty segment`);
  });

  const match = (path: string): Record<string, string> | undefined => {
    const raw = path.replace(/^\/+/, '').replace(/\/+$/, '');
    const pathSegments = raw === '' ? [] : raw.split('/');
    const values: Record<string, string> = {};
    for (const [i, segment] of segments.entries()) {
      const parameter = soleParameter(segment);
      if (parameter?.catchAll) {
        const rest = pathSegments.slice(i).map(decodeValue).join('/');
        const value = rest === '' ? parameter.defaultValue : rest;
        if (value !== undefined) {
          if (!satisfies(parameter, value)) return undefined;
          values[parameter.name] = value;
        }
        return values;
      }
      const rawSegment = pathSegments[i];
      if (rawSegment === undefined) {
        // Path ran out: what is left of the template must be optional or defaulted.
        if (!parameter || (!parameter.optional && parameter.defaultValue === undefined)) return undefined;
        if (parameter.defaultValue !== undefined) values[parameter.name] = parameter.defaultValue;
        continue;
      }
      if (!matchSegment(segment, rawSegment, values)) return undefined;
    }
    return pathSegments.length > segments.length ? undefined : values;
  };

  return { template, match, precedence: segments.map(segmentRank) };
}

/** Orders templates so the most specific is tried first. */
export function compareRoutePrecedence(a: RouteTemplate, b: RouteTemplate): number {
  const length = Math.max(a.precedence.length, b.precedence.length);
  for (let i = 0; i < length; i++) {
    const left = a.precedence[i] ?? 0;
    const right = b.precedence[i] ?? 0;
    if (left !== right) return left - right;
  }
  return 0;
}
