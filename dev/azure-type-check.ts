/**
 * Every resource body in infra/ checked against Azure's own Bicep type definitions
 * (Azure/bicep-types-az, one types.json per provider and API version in ../shared/azure-types;
 * SOURCES.md there describes the format). These are the definitions the Bicep compiler checks
 * against; no compiler can be installed here, so this does the part of its work that catches
 * first-deploy failures:
 *  - the resource type exists at the API version, and may be deployed at the file's scope;
 *  - every property path exists and is not read-only; required properties are present;
 *  - literals have the right primitive type and lie in the allowed set (enums, string length
 *    and pattern, integer range); a `param` is checked through its declared type and @allowed;
 *  - child resources: nested declarations and `parent:` point at the right parent type;
 *  - module calls pass only parameters the module declares, and every required one.
 * What the Bicep reader cannot understand where it matters is reported (rule
 * 'unreadable-construct'), never passed silently. Not covered: see docs/deployment.md.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseObject, parseValue, valueScope, type BicepValue, type ValueScope } from './bicep-values';
import {
  bicepFiles,
  entry,
  lineOf,
  resourcesIn,
  scanBicep,
  skipSpaces,
  type Finding,
  type ResourceInFile,
  type ScannedFile,
} from './infra-check';

// ---------------------------------------------------------------------------------------
// The type definitions (bicep-types format)

interface TypeRef {
  readonly $ref: string;
}
interface PropertyDef {
  readonly type: TypeRef;
  readonly flags: number;
  readonly description?: string;
}
/** A node of a types.json; the interfaces below narrow it by $type. */
interface TypeNode {
  readonly $type: string;
}
interface ResourceTypeNode extends TypeNode {
  readonly name: string;
  readonly body: TypeRef;
  readonly readableScopes?: number;
  readonly writableScopes?: number;
}
interface ObjectNode extends TypeNode {
  readonly name: string;
  readonly properties: Readonly<Record<string, PropertyDef>>;
  readonly additionalProperties?: TypeRef;
}
interface DiscriminatedNode extends TypeNode {
  readonly name: string;
  readonly discriminator: string;
  readonly baseProperties: Readonly<Record<string, PropertyDef>>;
  readonly elements: Readonly<Record<string, TypeRef>>;
}
interface UnionNode extends TypeNode {
  readonly elements: readonly TypeRef[];
}
interface StringLiteralNode extends TypeNode {
  readonly value: string;
}
interface StringNode extends TypeNode {
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
}
interface IntegerNode extends TypeNode {
  readonly minValue?: number;
  readonly maxValue?: number;
}
interface ArrayNode extends TypeNode {
  readonly itemType: TypeRef;
}

/** An own key of a record parsed from JSON: 'constructor' or '__proto__' in a template is no property. */
function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

const REQUIRED = 1;
const READ_ONLY = 2;

/** bicep-types ScopeType bits. */
const SCOPE_BITS: Readonly<Record<string, number>> = { tenant: 1, managementGroup: 2, subscription: 4, resourceGroup: 8, extension: 16 };

interface TypesFile {
  readonly path: string;
  readonly nodes: readonly TypeNode[];
  /** Lower-cased 'Provider/type' -> ResourceType nodes. */
  readonly resources: ReadonlyMap<string, readonly ResourceTypeNode[]>;
}

export class AzureTypes {
  private readonly files = new Map<string, TypesFile | undefined>();

  constructor(readonly dir: string) {}

  /** Versions available for a provider namespace (from the file names). */
  versionsOf(namespace: string): string[] {
    if (!existsSync(this.dir)) return [];
    const prefix = namespace.toLowerCase() + '@';
    return readdirSync(this.dir)
      .filter((f) => f.toLowerCase().startsWith(prefix) && f.endsWith('.json'))
      .map((f) => f.slice(prefix.length, -'.json'.length))
      .sort();
  }

  file(namespace: string, version: string): TypesFile | undefined {
    const key = `${namespace.toLowerCase()}@${version}`;
    if (!this.files.has(key)) {
      const path = join(this.dir, `${key}.json`);
      if (!existsSync(path)) this.files.set(key, undefined);
      else {
        const nodes = JSON.parse(readFileSync(path, 'utf8')) as TypeNode[];
        const resources = new Map<string, ResourceTypeNode[]>();
        for (const node of nodes) {
          if (node.$type !== 'ResourceType') continue;
          const resource = node as ResourceTypeNode;
          const name = resource.name.split('@')[0].toLowerCase();
          resources.set(name, [...(resources.get(name) ?? []), resource]);
        }
        this.files.set(key, { path, nodes, resources });
      }
    }
    return this.files.get(key);
  }
}

function deref(file: TypesFile, ref: TypeRef): TypeNode {
  const index = Number(ref.$ref.replace('#/', ''));
  const node = file.nodes[index];
  if (!node) throw new Error(`${file.path}: dangling reference ${ref.$ref}`);
  return node;
}

/** How a type reads in a finding: `'a' | 'b'`, `string (max 24, pattern ...)`, `object SiteConfig`. */
function describe(file: TypesFile, node: TypeNode, depth = 0): string {
  switch (node.$type) {
    case 'StringLiteralType':
      return `'${(node as StringLiteralNode).value}'`;
    case 'StringType': {
      const s = node as StringNode;
      const limits = [s.minLength !== undefined ? `min length ${s.minLength}` : '', s.maxLength !== undefined ? `max length ${s.maxLength}` : '', s.pattern ? `pattern ${s.pattern}` : ''].filter(Boolean);
      return limits.length ? `string (${limits.join(', ')})` : 'string';
    }
    case 'IntegerType': {
      const n = node as IntegerNode;
      return n.minValue !== undefined || n.maxValue !== undefined ? `int (${n.minValue ?? ''}..${n.maxValue ?? ''})` : 'int';
    }
    case 'BooleanType':
      return 'bool';
    case 'AnyType':
      return 'any';
    case 'NullType':
      return 'null';
    case 'ObjectType':
      return `object ${(node as ObjectNode).name}`;
    case 'DiscriminatedObjectType':
      return `object ${(node as ObjectNode).name}`;
    case 'ArrayType':
      return depth > 2 ? 'array' : `array of ${describe(file, deref(file, (node as ArrayNode).itemType), depth + 1)}`;
    case 'UnionType': {
      const parts = (node as UnionNode).elements.map((e) => describe(file, deref(file, e), depth + 1));
      return parts.length > 16 ? `${parts.slice(0, 16).join(' | ')} | ... (${parts.length} in all)` : parts.join(' | ');
    }
    default:
      return node.$type;
  }
}

// ---------------------------------------------------------------------------------------
// Known gaps in the generated definitions. Each is a documented inaccuracy, with its source;
// nothing else may deviate from the definitions.

export interface KnownTypeGap {
  readonly resourceType: string;
  readonly property: string;
  /** The real API needs it even though the definitions omit it. */
  readonly requiredByArm: boolean;
  readonly source: string;
}

export const KNOWN_TYPE_GAPS: readonly KnownTypeGap[] = [
  {
    // The definitions have no `location` here, but ARM refuses the PUT without one
    // ("parameter 'location' has an invalid value"); Bicep only warns (BCP187).
    resourceType: 'Microsoft.Web/sites/basicPublishingCredentialsPolicies',
    property: 'location',
    requiredByArm: true,
    source: 'https://github.com/Azure/bicep-types-az/issues/1529',
  },
];

// ---------------------------------------------------------------------------------------
// Checking values against types

export type TypeFindingRule =
  | 'unknown-resource-type'
  | 'scope'
  | 'unknown-property'
  | 'read-only-property'
  | 'missing-required-property'
  | 'invalid-value'
  | 'wrong-type'
  | 'bad-parent'
  | 'module-params'
  | 'unreadable-construct';

export interface TypeFinding extends Finding {
  readonly rule: TypeFindingRule;
  /** Property path inside the resource body ('properties.siteConfig.minTlsVersion'); '' for the resource itself. */
  readonly path: string;
}

interface Context {
  readonly scope: ValueScope;
  readonly types: TypesFile;
  readonly relPath: string;
  readonly label: string;
  readonly findings: TypeFinding[];
}

function report(ctx: Context, rule: TypeFindingRule, offset: number, path: string, message: string): void {
  ctx.findings.push({ rule, file: ctx.relPath, line: lineOf(ctx.scope.file, offset), path, message: `${ctx.label}: ${path || '(body)'}: ${message}` });
}

function join_(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** Types with named parts the reader must see to check (an opaque value there is reported). */
function isStructured(file: TypesFile, node: TypeNode, depth = 0): boolean {
  if (depth > 4) return false;
  if (node.$type === 'ObjectType') return Object.keys((node as ObjectNode).properties).length > 0;
  if (node.$type === 'DiscriminatedObjectType') return true;
  if (node.$type === 'ArrayType') return isStructured(file, deref(file, (node as ArrayNode).itemType), depth + 1);
  if (node.$type === 'UnionType') return (node as UnionNode).elements.every((e) => isStructured(file, deref(file, e), depth + 1));
  return false;
}

/** The primitive kind a type expects, for comparing with a value's kind. */
function expectedKind(file: TypesFile, node: TypeNode): Set<string> {
  switch (node.$type) {
    case 'StringLiteralType':
    case 'StringType':
      return new Set(['string']);
    case 'IntegerType':
      return new Set(['int']);
    case 'BooleanType':
      return new Set(['bool']);
    case 'ObjectType':
    case 'DiscriminatedObjectType':
      return new Set(['object']);
    case 'ArrayType':
      return new Set(['array']);
    case 'NullType':
      return new Set(['null']);
    case 'UnionType':
      return new Set((node as UnionNode).elements.flatMap((e) => [...expectedKind(file, deref(file, e))]));
    default:
      return new Set(['string', 'int', 'bool', 'object', 'array', 'null']);
  }
}

const PARAM_KINDS: Readonly<Record<string, string>> = { string: 'string', int: 'int', bool: 'bool', object: 'object', array: 'array' };

function checkValue(ctx: Context, value: BicepValue, ref: TypeRef, path: string): void {
  const node = deref(ctx.types, ref);
  if (node.$type === 'AnyType' || node.$type === 'ResourceFunctionType') return;
  switch (value.kind) {
    case 'alternatives':
      for (const branch of value.branches) checkValue(ctx, branch, ref, path);
      return;
    case 'param': {
      const kind = own(PARAM_KINDS, value.type.endsWith('[]') ? 'array' : value.type);
      if (value.allowed) {
        for (const allowed of value.allowed) checkValue(ctx, allowed, ref, path);
        return;
      }
      if (!kind) {
        report(ctx, 'unreadable-construct', value.offset, path, `parameter ${value.name} has type ${value.type}, which the reader does not resolve; expected ${describe(ctx.types, node)}`);
        return;
      }
      if (!expectedKind(ctx.types, node).has(kind)) {
        report(ctx, 'wrong-type', value.offset, path, `parameter ${value.name} is ${value.type}; expected ${describe(ctx.types, node)}`);
      } else if (isStructured(ctx.types, node)) {
        report(ctx, 'unreadable-construct', value.offset, path, `parameter ${value.name} (${value.type}) cannot be checked against ${describe(ctx.types, node)}: pass an object literal`);
      }
      return;
    }
    case 'typed':
      if (!expectedKind(ctx.types, node).has(value.type)) {
        report(ctx, 'wrong-type', value.offset, path, `'${value.text.slice(0, 50)}' is ${value.type}; expected ${describe(ctx.types, node)}`);
      } else if (isStructured(ctx.types, node)) {
        report(ctx, 'unreadable-construct', value.offset, path, `cannot check '${value.text.slice(0, 50)}' against ${describe(ctx.types, node)}: use an object literal`);
      }
      return;
    case 'opaque':
      if (isStructured(ctx.types, node)) {
        report(ctx, 'unreadable-construct', value.offset, path, `the reader cannot read '${value.text.slice(0, 50)}'${value.why ? ` (${value.why})` : ''}, so ${describe(ctx.types, node)} goes unchecked`);
      }
      return;
    default:
      break;
  }
  switch (node.$type) {
    case 'UnionType':
      return checkUnion(ctx, value, node as UnionNode, ref, path);
    case 'StringLiteralType':
      if (value.kind !== 'string' || value.interpolated || value.value !== (node as StringLiteralNode).value) {
        if (value.kind === 'string' && value.interpolated) return;
        report(ctx, value.kind === 'string' ? 'invalid-value' : 'wrong-type', value.offset, path, `${show(value)} is not allowed; expected ${describe(ctx.types, node)}`);
      }
      return;
    case 'StringType':
      if (value.kind !== 'string') return mismatch(ctx, value, node, path);
      if (!value.interpolated) checkStringLimits(ctx, value, node as StringNode, path);
      return;
    case 'IntegerType': {
      if (value.kind !== 'int') return mismatch(ctx, value, node, path);
      const limits = node as IntegerNode;
      if ((limits.minValue !== undefined && value.value < limits.minValue) || (limits.maxValue !== undefined && value.value > limits.maxValue)) {
        report(ctx, 'invalid-value', value.offset, path, `${value.value} is out of range; expected ${describe(ctx.types, node)}`);
      }
      return;
    }
    case 'BooleanType':
      if (value.kind !== 'bool') mismatch(ctx, value, node, path);
      return;
    case 'NullType':
      if (value.kind !== 'null') mismatch(ctx, value, node, path);
      return;
    case 'ArrayType':
      if (value.kind !== 'array') return mismatch(ctx, value, node, path);
      value.items.forEach((item, index) => checkValue(ctx, item, (node as ArrayNode).itemType, `${path}[${index}]`));
      return;
    case 'ObjectType':
      if (value.kind !== 'object') return mismatch(ctx, value, node, path);
      return checkObject(ctx, value, node as ObjectNode, path);
    case 'DiscriminatedObjectType':
      if (value.kind !== 'object') return mismatch(ctx, value, node, path);
      return checkDiscriminated(ctx, value, node as DiscriminatedNode, path);
    default:
      return;
  }
}


function show(value: BicepValue): string {
  switch (value.kind) {
    case 'string':
      return `'${value.value}'`;
    case 'int':
      return String(value.value);
    case 'bool':
      return String(value.value);
    case 'null':
      return 'null';
    case 'object':
      return 'an object';
    case 'array':
      return 'an array';
    default:
      return 'the value';
  }
}

function mismatch(ctx: Context, value: BicepValue, node: TypeNode, path: string): void {
  report(ctx, 'wrong-type', value.offset, path, `${show(value)} (${value.kind}) given; expected ${describe(ctx.types, node)}`);
}

function checkStringLimits(ctx: Context, value: BicepValue & { kind: 'string' }, limits: StringNode, path: string): void {
  const problems: string[] = [];
  if (limits.minLength !== undefined && value.value.length < limits.minLength) problems.push(`is shorter than ${limits.minLength}`);
  if (limits.maxLength !== undefined && value.value.length > limits.maxLength) problems.push(`is longer than ${limits.maxLength}`);
  if (limits.pattern) {
    try {
      if (!new RegExp(limits.pattern).test(value.value)) problems.push(`does not match ${limits.pattern}`);
    } catch {
      // A .NET-only pattern construct: JavaScript cannot test it; length limits still apply.
    }
  }
  if (problems.length) report(ctx, 'invalid-value', value.offset, path, `'${value.value}' ${problems.join(' and ')}`);
}

function checkUnion(ctx: Context, value: BicepValue, node: UnionNode, ref: TypeRef, path: string): void {
  // Enums: a union of string literals (plus, for open enums, any string).
  const members = node.elements.map((e) => deref(ctx.types, e));
  if (value.kind === 'string') {
    const open = members.some((m) => m.$type === 'StringType');
    const literals = members.filter((m) => m.$type === 'StringLiteralType').map((m) => (m as StringLiteralNode).value);
    if (value.interpolated || literals.includes(value.value)) return;
    if (literals.length === 0) {
      if (!open && !members.some((m) => m.$type === 'AnyType')) mismatch(ctx, value, deref(ctx.types, ref), path);
      return;
    }
    // An extensible enum (literals | string) accepts any string at the API, as the Bicep
    // compiler does; a value outside the listed ones is nearly always a typo, so it is a
    // finding here too. A value Azure added later comes with a newer API version's types.
    const caseOnly = literals.find((l) => l.toLowerCase() === value.value.toLowerCase());
    const listed = literals.map((l) => `'${l}'`).join(' | ');
    report(
      ctx,
      'invalid-value',
      value.offset,
      path,
      `'${value.value}' is not allowed${caseOnly ? ` (did you mean '${caseOnly}'?)` : ''}; expected ${listed}${open ? ' (an extensible enum: these are the values the definitions list)' : ''}`,
    );
    return;
  }
  // Otherwise: the value must fit one member; report the closest fit's findings.
  let best: TypeFinding[] | undefined;
  for (const member of node.elements) {
    const trial: Context = { ...ctx, findings: [] };
    checkValue(trial, value, member, path);
    if (trial.findings.length === 0) return;
    if (!best || trial.findings.length < best.length) best = trial.findings;
  }
  if (!expectedKind(ctx.types, deref(ctx.types, ref)).has(value.kind)) return mismatch(ctx, value, deref(ctx.types, ref), path);
  ctx.findings.push(...(best ?? []));
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const saved = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      previous = saved;
    }
  }
  return row[b.length];
}

function suggestion(key: string, names: readonly string[]): string {
  const scored = names.map((n) => ({ n, d: distance(key, n) })).sort((a, b) => a.d - b.d);
  const close = scored.filter((s) => s.d <= Math.max(2, Math.floor(key.length / 4)));
  if (close.length > 0) return `did you mean ${close.slice(0, 3).map((s) => s.n).join(' or ')}?`;
  return names.length <= 12 ? `allowed: ${names.join(', ')}` : `${names.length} properties allowed, none close to '${key}'`;
}

/** Keys that are Bicep syntax on a resource body, not properties of the type. */
const RESOURCE_KEYWORDS = new Set(['scope', 'parent', 'dependsOn']);

function checkProperties(
  ctx: Context,
  value: BicepValue & { kind: 'object' },
  properties: Readonly<Record<string, PropertyDef>>,
  additional: TypeRef | undefined,
  typeName: string,
  path: string,
  options: { resourceBody?: boolean; skip?: ReadonlySet<string>; gaps?: readonly KnownTypeGap[] } = {},
): void {
  const names = Object.keys(properties);
  const writable = names.filter((n) => !(properties[n].flags & READ_ONLY));
  for (const unreadable of value.unreadable) {
    report(ctx, 'unreadable-construct', unreadable.offset, path, `the reader cannot read '${unreadable.text}' in this object, so ${typeName} goes unchecked here`);
  }
  for (const item of value.entries) {
    const itemPath = join_(path, item.key);
    if (options.skip?.has(item.key)) continue;
    if (options.resourceBody && RESOURCE_KEYWORDS.has(item.key)) continue;
    if (options.gaps?.some((g) => g.property === item.key)) continue;
    if (item.computedKey) {
      if (additional) checkValue(ctx, item.value, additional, itemPath);
      else report(ctx, 'unreadable-construct', item.offset, itemPath, `a computed key on ${typeName}, which has only named properties (${writable.join(', ')})`);
      continue;
    }
    const property = own(properties, item.key);
    if (!property) {
      if (additional) {
        checkValue(ctx, item.value, additional, itemPath);
        continue;
      }
      const caseOnly = names.find((n) => n.toLowerCase() === item.key.toLowerCase());
      report(ctx, 'unknown-property', item.offset, itemPath, caseOnly ? `no such property on ${typeName}; the definition spells it ${caseOnly}` : `no such property on ${typeName} (${suggestion(item.key, writable)})`);
      continue;
    }
    if (property.flags & READ_ONLY) {
      report(ctx, 'read-only-property', item.offset, itemPath, `read-only on ${typeName}: Azure sets it, a template cannot`);
      continue;
    }
    checkValue(ctx, item.value, property.type, itemPath);
  }
  if (value.unreadable.length > 0) return; // a spread may hold the required keys
  const present = new Set(value.entries.map((e) => e.key));
  for (const name of names) {
    const flags = properties[name].flags;
    if (flags & REQUIRED && !(flags & READ_ONLY) && !present.has(name)) {
      report(ctx, 'missing-required-property', value.offset, join_(path, name), `required by ${typeName} (${describe(ctx.types, deref(ctx.types, properties[name].type))}) but not set`);
    }
  }
  for (const gap of options.gaps ?? []) {
    if (gap.requiredByArm && !present.has(gap.property)) {
      report(ctx, 'missing-required-property', value.offset, join_(path, gap.property), `ARM requires it although the type definition omits it (${gap.source})`);
    }
  }
}

function checkObject(ctx: Context, value: BicepValue & { kind: 'object' }, node: ObjectNode, path: string, options?: Parameters<typeof checkProperties>[6]): void {
  checkProperties(ctx, value, node.properties, node.additionalProperties, node.name, path, options);
}

function checkDiscriminated(ctx: Context, value: BicepValue & { kind: 'object' }, node: DiscriminatedNode, path: string, options?: Parameters<typeof checkProperties>[6]): void {
  const discriminator = value.entries.find((e) => e.key === node.discriminator);
  const keys = Object.keys(node.elements);
  if (!discriminator) {
    report(ctx, 'missing-required-property', value.offset, join_(path, node.discriminator), `required by ${node.name} to choose its shape: one of ${keys.map((k) => `'${k}'`).join(', ')}`);
    return;
  }
  const chosen = discriminator.value;
  if (chosen.kind !== 'string' || chosen.interpolated) {
    report(ctx, 'unreadable-construct', discriminator.offset, join_(path, node.discriminator), `${node.name} takes its shape from ${node.discriminator}, which must be a literal: one of ${keys.map((k) => `'${k}'`).join(', ')}`);
    return;
  }
  const elementRef = own(node.elements, chosen.value);
  if (!elementRef) {
    report(ctx, 'invalid-value', chosen.offset, join_(path, node.discriminator), `'${chosen.value}' is not allowed; expected one of ${keys.map((k) => `'${k}'`).join(', ')}`);
    return;
  }
  const element = deref(ctx.types, elementRef) as ObjectNode;
  const properties = { ...node.baseProperties, ...element.properties };
  // The discriminator itself is typed as its literal in the element: already checked.
  checkProperties(ctx, value, properties, element.additionalProperties, element.name, path, { ...options, skip: new Set([node.discriminator]) });
}

// ---------------------------------------------------------------------------------------
// Resources

interface FileModel {
  readonly file: ScannedFile;
  readonly relPath: string;
  readonly scope: ValueScope;
  readonly resources: readonly ResourceInFile[];
  readonly targetScope: string;
}

function targetScopeOf(file: ScannedFile): string {
  return /^\s*targetScope\s*=\s*'(\w+)'/m.exec(file.text)?.[1] ?? 'resourceGroup';
}

/** The resource's effective API version: a nested child without '@version' takes its parent's. */
function apiVersionOf(resource: ResourceInFile, all: readonly ResourceInFile[]): string | undefined {
  if (resource.apiVersion) return resource.apiVersion;
  const enclosing = all.find((r) => r.symbol === resource.enclosing);
  return enclosing ? apiVersionOf(enclosing, all) : undefined;
}

function checkResource(types: AzureTypes, model: FileModel, resource: ResourceInFile, findings: TypeFinding[]): void {
  const { file, relPath } = model;
  const version = apiVersionOf(resource, model.resources);
  const label = `${resource.symbol} (${resource.fullType}@${version ?? '?'})`;
  const at = (rule: TypeFindingRule, path: string, message: string, offset = resource.declStart): void => {
    findings.push({ rule, file: relPath, line: lineOf(file, offset), path, message: `${label}: ${path || '(resource)'}: ${message}` });
  };
  const between = file.skeleton.slice(resource.declStart, resource.bodyOpen);
  if (/=\s*\[/.test(between)) {
    at('unreadable-construct', '', 'a resource `for` loop: the reader does not check loop bodies; declare the resources one by one');
    return;
  }
  if (!version) return; // missing-api-version is reported by the reader
  const namespace = resource.fullType.split('/')[0];
  const typesFile = types.file(namespace, version);
  if (!typesFile) {
    const versions = types.versionsOf(namespace);
    at(
      'unknown-resource-type',
      '',
      `no type definitions for ${namespace} at API version ${version} in ${types.dir} (${versions.length ? `available: ${versions.join(', ')}` : 'none for this provider'}); ` +
        'adopting an API version means adding its types.json there (docs/deployment.md)',
    );
    return;
  }
  const candidates = typesFile.resources.get(resource.fullType.toLowerCase());
  if (!candidates || candidates.length === 0) {
    const known = [...typesFile.resources.keys()];
    const name = resource.fullType;
    const close = known.map((k) => ({ k, d: distance(name.toLowerCase(), k) })).sort((a, b) => a.d - b.d)[0];
    at('unknown-resource-type', '', `${name} is not a resource type of ${namespace}@${version}${close && close.d <= 4 ? ` (did you mean ${typesFile.resources.get(close.k)?.[0].name.split('@')[0]}?)` : ''}`);
    return;
  }
  const resourceType: ResourceTypeNode = candidates[0];
  if (resourceType.name.split('@')[0] !== resource.fullType) {
    at('unknown-resource-type', '', `the type is spelled ${resourceType.name.split('@')[0]} in the definitions`);
  }
  const scopeBit = deploymentScopeBit(model, resource, at);
  const allowedScopes = (resource.existing ? resourceType.readableScopes : resourceType.writableScopes) ?? 0;
  if (allowedScopes === 0) {
    at('scope', '', resource.existing ? 'the definitions allow no reads of this type' : 'the definitions mark this type read-only: it cannot be deployed (use `existing`, or the writable parent type)');
  } else if (scopeBit !== undefined && !(allowedScopes & scopeBit)) {
    const names = Object.entries(SCOPE_BITS).filter(([, bit]) => allowedScopes & bit).map(([n]) => n);
    const where = Object.entries(SCOPE_BITS).find(([, bit]) => bit === scopeBit)?.[0];
    at('scope', '', `cannot be ${resource.existing ? 'read' : 'deployed'} at ${where} scope; the definitions allow ${names.join(', ')}`);
  }
  checkParent(model, resource, at);

  const body = parseObject(model.scope, resource.bodyOpen);
  const ctx: Context = { scope: model.scope, types: typesFile, relPath, label, findings };
  if (resource.existing) {
    for (const item of body.entries.filter((e) => !['name', 'scope', 'parent'].includes(e.key))) {
      report(ctx, 'unknown-property', item.offset, item.key, 'an `existing` resource takes only name, scope and parent');
    }
    if (!body.entries.some((e) => e.key === 'name')) report(ctx, 'missing-required-property', body.offset, 'name', 'required');
    return;
  }
  const bodyType = deref(typesFile, resourceType.body);
  const gaps = KNOWN_TYPE_GAPS.filter((g) => g.resourceType.toLowerCase() === resource.fullType.toLowerCase());
  if (bodyType.$type === 'DiscriminatedObjectType') checkDiscriminated(ctx, body, bodyType as DiscriminatedNode, '', { resourceBody: true, gaps });
  else if (bodyType.$type === 'ObjectType') checkObject(ctx, body, bodyType as ObjectNode, '', { resourceBody: true, gaps });
  else at('unreadable-construct', '', `the definitions describe the body as ${bodyType.$type}, which this check does not handle`);
}

/** The resource's type definition, when its file and type exist (checkResource reports when not). */
function typeOf(types: AzureTypes, model: FileModel, resource: ResourceInFile): { typesFile: TypesFile; resourceType: ResourceTypeNode } | undefined {
  const version = apiVersionOf(resource, model.resources);
  if (!version) return undefined;
  const typesFile = types.file(resource.fullType.split('/')[0], version);
  const resourceType = typesFile?.resources.get(resource.fullType.toLowerCase())?.[0];
  return typesFile && resourceType ? { typesFile, resourceType } : undefined;
}

/** The named properties of an object or discriminated type (all shapes), else undefined. */
function propertiesOf(file: TypesFile, node: TypeNode): { properties: Record<string, PropertyDef>; additional?: TypeRef; name: string } | undefined {
  if (node.$type === 'ObjectType') {
    const o = node as ObjectNode;
    return { properties: { ...o.properties }, additional: o.additionalProperties, name: o.name };
  }
  if (node.$type === 'DiscriminatedObjectType') {
    const d = node as DiscriminatedNode;
    const properties: Record<string, PropertyDef> = { ...d.baseProperties };
    for (const ref of Object.values(d.elements)) Object.assign(properties, (deref(file, ref) as ObjectNode).properties);
    return { properties, name: d.name };
  }
  return undefined;
}

/** The skeleton with the code inside string interpolations ('${x.y}') put back, for reading references. */
function withInterpolations(file: ScannedFile): string {
  const code = file.skeleton.split('');
  for (const literal of file.strings.values()) {
    if (!literal.interpolated) continue;
    for (let i = literal.start + 1; i < literal.end - 1; i++) {
      if (file.text[i] !== '$' || file.text[i + 1] !== '{') continue;
      let depth = 0;
      let j = i + 1;
      for (; j < literal.end; j++) {
        if (file.text[j] === '{') depth++;
        else if (file.text[j] === '}' && --depth === 0) break;
      }
      for (let k = i; k <= j && k < literal.end - 1; k++) code[k] = file.text[k];
      i = j;
    }
  }
  return code.join('');
}

/**
 * Reads of a resource's properties (`plan.id`, `functionApp.properties.defaultHostName`) and of
 * a module's outputs (`identity.outputs.clientId`): each path must exist in the type or the
 * module. A misspelled one fails compilation; read-only properties are what reads are for.
 */
function checkReferences(types: AzureTypes, model: FileModel, infraDir: string, findings: TypeFinding[]): void {
  const { file, relPath } = model;
  const code = withInterpolations(file);
  for (const resource of model.resources) {
    const resolved = typeOf(types, model, resource);
    if (!resolved) continue;
    for (const match of code.matchAll(new RegExp(`(?<![\\w.$])${resource.symbol}((?:\\.[A-Za-z_]\\w*)+)`, 'g'))) {
      let segments = match[1].split('.').slice(1);
      const after = /^[ \t]*\(/.test(code.slice((match.index ?? 0) + match[0].length, (match.index ?? 0) + match[0].length + 40));
      if (after) segments = segments.slice(0, -1); // a resource function: storage.listKeys()
      let node: TypeNode = deref(resolved.typesFile, resolved.resourceType.body);
      const walked: string[] = [resource.symbol];
      for (const segment of segments) {
        const shape = propertiesOf(resolved.typesFile, node);
        if (!shape) break; // a string, array or any: nothing more to check
        const property = own(shape.properties, segment);
        walked.push(segment);
        if (property) {
          node = deref(resolved.typesFile, property.type);
          continue;
        }
        if (shape.additional) {
          node = deref(resolved.typesFile, shape.additional);
          continue;
        }
        const names = Object.keys(shape.properties);
        const caseOnly = names.find((n) => n.toLowerCase() === segment.toLowerCase());
        findings.push({
          rule: 'unknown-property',
          file: relPath,
          line: lineOf(file, match.index ?? 0),
          path: walked.slice(1).join('.'),
          message: `${walked.join('.')}: ${resource.fullType} has no such property on ${shape.name} (${caseOnly ? `the definition spells it ${caseOnly}` : suggestion(segment, names)})`,
        });
        break;
      }
    }
  }
  for (const module of file.skeleton.matchAll(/\bmodule\s+([A-Za-z_]\w*)\s+'/g)) {
    const pathLiteral = file.strings.get((module.index ?? 0) + module[0].length - 1);
    if (!pathLiteral || /^(br|ts)[:/]/.test(pathLiteral.value)) continue;
    const modulePath = resolve(dirname(file.path), pathLiteral.value);
    if (!existsSync(modulePath)) continue;
    const outputs = new Set([...readFileSync(modulePath, 'utf8').matchAll(/^[ \t]*output\s+([A-Za-z_]\w*)/gm)].map((m) => m[1]));
    for (const read of code.matchAll(new RegExp(`(?<![\\w.$])${module[1]}\\.outputs\\.([A-Za-z_]\\w*)`, 'g'))) {
      if (outputs.has(read[1])) continue;
      findings.push({
        rule: 'module-params',
        file: relPath,
        line: lineOf(file, read.index ?? 0),
        path: `outputs.${read[1]}`,
        message: `module ${module[1]} ('${pathLiteral.value}'): reads output ${read[1]}, which ${relative(infraDir, modulePath)} does not declare (${suggestion(read[1], [...outputs])})`,
      });
    }
  }
}

function deploymentScopeBit(model: FileModel, resource: ResourceInFile, at: (rule: TypeFindingRule, path: string, message: string, offset?: number) => void): number | undefined {
  if (resource.enclosing) return own(SCOPE_BITS, model.targetScope);
  const scope = entry(model.file, resource.bodyOpen, 'scope');
  if (!scope) return own(SCOPE_BITS, model.targetScope);
  const target = model.file.text.slice(scope.value.start, scope.value.end).trim();
  if (model.resources.some((r) => r.symbol === target)) return SCOPE_BITS.extension;
  const call = /^(resourceGroup|subscription|managementGroup|tenant)\s*\(/.exec(target);
  if (call) return own(SCOPE_BITS, call[1]);
  at('unreadable-construct', 'scope', `the reader cannot tell which scope '${target.slice(0, 50)}' is`, scope.keyStart);
  return undefined;
}

function checkParent(model: FileModel, resource: ResourceInFile, at: (rule: TypeFindingRule, path: string, message: string, offset?: number) => void): void {
  const segments = resource.fullType.split('/').length - 1; // 'Microsoft.Web/sites' = 1
  const parentEntry = entry(model.file, resource.bodyOpen, 'parent');
  const parentType = resource.fullType.split('/').slice(0, -1).join('/');
  if (resource.enclosing) {
    const enclosing = model.resources.find((r) => r.symbol === resource.enclosing);
    if (parentEntry) at('bad-parent', 'parent', 'a nested resource takes its parent from where it is declared; remove parent:', parentEntry.keyStart);
    if (!resource.declaredType.split('@')[0].includes('/') && enclosing && segments < 2) {
      at('bad-parent', '', `${resource.declaredType} is nested in ${enclosing.symbol} but is not a child type`);
    }
    return;
  }
  if (parentEntry) {
    const target = model.file.text.slice(parentEntry.value.start, parentEntry.value.end).trim();
    const parent = model.resources.find((r) => r.symbol === target);
    if (!parent) {
      at('bad-parent', 'parent', `'${target}' is not a resource declared in this file`, parentEntry.keyStart);
    } else if (segments < 2) {
      at('bad-parent', 'parent', `${resource.fullType} is a top-level type: it has no parent`, parentEntry.keyStart);
    } else if (parent.fullType.toLowerCase() !== parentType.toLowerCase()) {
      at('bad-parent', 'parent', `${target} is a ${parent.fullType}, but ${resource.fullType} needs a ${parentType} as its parent`, parentEntry.keyStart);
    }
    return;
  }
  if (segments >= 2) {
    // A child type at top level must name its parents in its name: 'site/appsettings'.
    const name = entry(model.file, resource.bodyOpen, 'name');
    const nameText = name ? model.file.text.slice(name.value.start, name.value.end) : '';
    const literal = name ? model.file.strings.get(skipSpaces(model.file, name.value.start)) : undefined;
    const slashes = literal ? (literal.value.match(/\//g) ?? []).length : (nameText.match(/\//g) ?? []).length;
    if (slashes < segments - 1) {
      at('bad-parent', 'name', `${resource.fullType} is a child type: give it parent: <a ${parentType}> or nest it in one (or a name with ${segments - 1} parent segment${segments > 2 ? 's' : ''})`, name?.keyStart);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Modules: parameters passed must exist in the module; required ones must be passed.

function checkModules(model: FileModel, infraDir: string, findings: TypeFinding[]): void {
  const { file, relPath } = model;
  for (const match of file.skeleton.matchAll(/\bmodule\s+([A-Za-z_]\w*)\s+'/g)) {
    const quote = (match.index ?? 0) + match[0].length - 1;
    const pathLiteral = file.strings.get(quote);
    if (!pathLiteral) continue;
    const at = (offset: number, message: string, path = 'params'): void => {
      findings.push({ rule: 'module-params', file: relPath, line: lineOf(file, offset), path, message: `module ${match[1]} ('${pathLiteral.value}'): ${message}` });
    };
    if (/^(br|ts)[:/]/.test(pathLiteral.value)) {
      findings.push({ rule: 'unreadable-construct', file: relPath, line: lineOf(file, quote), path: '', message: `module ${match[1]}: registry module '${pathLiteral.value}' cannot be checked offline` });
      continue;
    }
    const modulePath = resolve(dirname(file.path), pathLiteral.value);
    if (!existsSync(modulePath)) {
      at(quote, `no file ${relative(infraDir, modulePath)}`, '');
      continue;
    }
    const bodyOpen = file.skeleton.indexOf('{', pathLiteral.end);
    if (bodyOpen < 0) continue;
    if (/=\s*\[/.test(file.skeleton.slice(pathLiteral.end, bodyOpen))) {
      findings.push({ rule: 'unreadable-construct', file: relPath, line: lineOf(file, quote), path: '', message: `module ${match[1]}: a module \`for\` loop is not checked` });
      continue;
    }
    const target = scanBicep(modulePath, readFileSync(modulePath, 'utf8'));
    const targetScope = valueScope(target);
    const paramsEntry = entry(file, bodyOpen, 'params');
    const given = paramsEntry ? parseValue(model.scope, paramsEntry.value) : undefined;
    if (given && given.kind !== 'object') {
      at(paramsEntry?.keyStart ?? bodyOpen, 'params is not an object literal: the reader cannot check it');
      continue;
    }
    const entries = given?.kind === 'object' ? given.entries : [];
    for (const item of entries) {
      const param = targetScope.params.get(item.key);
      if (!param) {
        at(item.offset, `${item.key} is not a parameter of the module (${suggestion(item.key, [...targetScope.params.keys()])})`, `params.${item.key}`);
        continue;
      }
      if (param.allowed) {
        const allowed = param.allowed.map((s) => parseValue(targetScope, s));
        for (const candidate of literalsOf(item.value)) {
          if (!allowed.some((a) => sameLiteral(a, candidate))) {
            at(candidate.offset, `${show(candidate)} is not in the module's @allowed for ${item.key}: ${allowed.map(show).join(', ')}`, `params.${item.key}`);
          }
        }
      }
    }
    for (const param of targetScope.params.values()) {
      if (!param.hasDefault && !entries.some((e) => e.key === param.name)) at(paramsEntry?.keyStart ?? bodyOpen, `required parameter ${param.name} is not passed`, `params.${param.name}`);
    }
  }
}

/** The literal values an expression can take: its branches, a parameter's @allowed values. */
function literalsOf(value: BicepValue): BicepValue[] {
  if (value.kind === 'alternatives') return value.branches.flatMap(literalsOf);
  if (value.kind === 'param') return (value.allowed ?? []).flatMap(literalsOf);
  return value.kind === 'string' && !value.interpolated ? [value] : value.kind === 'int' || value.kind === 'bool' ? [value] : [];
}

function sameLiteral(a: BicepValue, b: BicepValue): boolean {
  if (a.kind === 'string' && b.kind === 'string') return a.value === b.value;
  if (a.kind === 'int' && b.kind === 'int') return a.value === b.value;
  if (a.kind === 'bool' && b.kind === 'bool') return a.value === b.value;
  return false;
}

// ---------------------------------------------------------------------------------------
// Entry point

export interface TypeCheckReport {
  readonly typesDir: string;
  readonly resourcesChecked: number;
  readonly findings: readonly TypeFinding[];
  /** Findings about the UNVERIFIED_TYPES below: printed on every run, never counted as passed. */
  readonly unverified: readonly TypeFinding[];
}

/**
 * Resource types infra/ deploys for which ../shared/azure-types has no type definitions at that
 * API version. Type files can only be added to ../shared from outside this repository (its
 * SOURCES.md says how), so until they are these resources are reported as unverified on every
 * run, each with the reason it is deployed. Any other type without definitions is a finding.
 */
export const UNVERIFIED_TYPES: Readonly<Record<string, string>> = {
  'Microsoft.Insights/actionGroups@2023-01-01': 'operator alert e-mail (infra/core/operations.bicep, docs/operations.md)',
  'Microsoft.Insights/scheduledQueryRules@2023-12-01': 'operator alert rules: dead letters, poison queues, failure rate',
  'Microsoft.Insights/workbooks@2023-06-01': 'the operations workbook',
};

function isAboutUnverifiedType(finding: TypeFinding): boolean {
  return Object.keys(UNVERIFIED_TYPES).some((type) => finding.message.includes(`(${type})`));
}

/** Checks every resource body and module call in every .bicep file under infraDir. */
export function checkAzureTypes(infraDir: string, typesDir: string): TypeCheckReport {
  const findings: TypeFinding[] = [];
  if (!existsSync(typesDir)) {
    return {
      typesDir,
      resourcesChecked: 0,
      findings: [{ rule: 'unknown-resource-type', file: '.', line: 0, path: '', message: `no Azure type definitions at ${typesDir}: nothing could be checked` }],
      unverified: [],
    };
  }
  const types = new AzureTypes(typesDir);
  let checked = 0;
  for (const path of bicepFiles(infraDir)) {
    const file = scanBicep(path, readFileSync(path, 'utf8'));
    const relPath = relative(infraDir, path);
    const resources = resourcesIn(file, infraDir, []);
    const model: FileModel = { file, relPath, scope: valueScope(file), resources, targetScope: targetScopeOf(file) };
    for (const resource of resources) {
      checkResource(types, model, resource, findings);
      checked++;
    }
    checkModules(model, infraDir, findings);
    checkReferences(types, model, infraDir, findings);
    // A resource the reader did not see is a resource nobody checked.
    const declared = (file.skeleton.match(/^\s*(@[^\n]*\n\s*)*resource\s/gm) ?? []).length;
    if (declared !== resources.length) {
      findings.push({ rule: 'unreadable-construct', file: relPath, line: 0, path: '', message: `${declared} resource declarations but the reader understood ${resources.length}` });
    }
  }
  return { typesDir, resourcesChecked: checked, findings: findings.filter((f) => !isAboutUnverifiedType(f)), unverified: findings.filter(isAboutUnverifiedType) };
}
