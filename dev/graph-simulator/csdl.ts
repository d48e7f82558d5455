/**
 * A validator for Graph JSON against Microsoft Graph's published CSDL ($metadata, v1.0). It checks
 * what a client's deserializer relies on: every property name exists on the type (or a base type),
 * every value has the property's EDM type (strings, booleans, integers in range, date/time formats,
 * GUIDs, base64, enum members), nullability, collections as arrays, complex and navigation values
 * recursively, and @odata.type naming the declared type or one derived from it.
 *
 * The CSDL is read from ../shared/graph-schema (never copied into the repo).
 */
import { readFileSync } from 'node:fs';
import { DOMParser, type Element } from '@xmldom/xmldom';

interface PropertyDef {
  readonly type: string;
  readonly nullable: boolean;
  readonly navigation: boolean;
}

interface StructuredTypeDef {
  readonly kind: 'entity' | 'complex';
  readonly name: string;
  readonly baseType: string | undefined;
  readonly properties: Map<string, PropertyDef>;
  /**
   * An open type that declares nothing (OpenType="true", no properties, no base), such as a change
   * notification's resourceData: only dynamic properties, so they are not checked. Open types that
   * declare properties (message is one) stay strict: a property they do not declare is a typo here.
   */
  readonly open?: boolean;
}

interface EnumTypeDef {
  readonly kind: 'enum';
  readonly name: string;
  readonly members: ReadonlySet<string>;
  readonly isFlags: boolean;
}

type TypeDef = StructuredTypeDef | EnumTypeDef;

export interface CsdlViolation {
  /** JSON path of the value at fault, e.g. $.value[3].toRecipients[0].emailAddress.address */
  readonly path: string;
  readonly message: string;
}

const EDM_CHECKS: Record<string, (value: unknown) => boolean> = {
  'Edm.String': (v) => typeof v === 'string',
  'Edm.Boolean': (v) => typeof v === 'boolean',
  'Edm.Int16': (v) => Number.isInteger(v) && Math.abs(v as number) <= 32767,
  'Edm.Int32': (v) => Number.isInteger(v) && (v as number) >= -2147483648 && (v as number) <= 2147483647,
  'Edm.Int64': (v) => Number.isInteger(v),
  'Edm.Byte': (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 255,
  'Edm.SByte': (v) => Number.isInteger(v) && Math.abs(v as number) <= 128,
  'Edm.Double': (v) => typeof v === 'number' || v === 'NaN' || v === 'INF' || v === '-INF',
  'Edm.Single': (v) => typeof v === 'number' || v === 'NaN' || v === 'INF' || v === '-INF',
  'Edm.Decimal': (v) => typeof v === 'number',
  'Edm.DateTimeOffset': (v) => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$/.test(v) && !Number.isNaN(Date.parse(v)),
  'Edm.Date': (v) => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v),
  'Edm.TimeOfDay': (v) => typeof v === 'string' && /^\d{2}:\d{2}(:\d{2}(\.\d{1,12})?)?$/.test(v),
  'Edm.Duration': (v) => typeof v === 'string' && /^-?P(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/.test(v),
  'Edm.Guid': (v) => typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v),
  'Edm.Binary': (v) => typeof v === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(v),
  'Edm.Stream': (v) => typeof v === 'string',
};

/** Annotations Graph puts on entities and responses (not properties). */
const INSTANCE_ANNOTATIONS = new Set(['@odata.context', '@odata.etag', '@odata.type', '@odata.id', '@odata.editLink', '@odata.nextLink', '@odata.deltaLink', '@odata.count']);

function elements(parent: Element, localName: string): Element[] {
  const out: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1 && (node as Element).localName === localName) out.push(node as Element);
  }
  return out;
}

export class CsdlSchema {
  private readonly types = new Map<string, TypeDef>();
  private readonly aliases = new Map<string, string>();

  static load(path: string): CsdlSchema {
    return new CsdlSchema(readFileSync(path, 'utf8'));
  }

  constructor(xml: string) {
    const doc = new DOMParser().parseFromString(xml, 'text/xml');
    const root = doc.documentElement;
    if (!root) throw new Error('CSDL: empty document');
    const dataServices = elements(root, 'DataServices')[0];
    if (!dataServices) throw new Error('CSDL: no DataServices');
    const schemas = elements(dataServices, 'Schema');
    for (const schema of schemas) {
      const alias = schema.getAttribute('Alias');
      if (alias) this.aliases.set(alias, schema.getAttribute('Namespace')!);
    }
    for (const schema of schemas) {
      const namespace = schema.getAttribute('Namespace')!;
      for (const enumType of elements(schema, 'EnumType')) {
        const name = `${namespace}.${enumType.getAttribute('Name')}`;
        this.types.set(name, { kind: 'enum', name, members: new Set(elements(enumType, 'Member').map((m) => m.getAttribute('Name')!)), isFlags: enumType.getAttribute('IsFlags') === 'true' });
      }
      for (const [tag, kind] of [['EntityType', 'entity'], ['ComplexType', 'complex']] as const) {
        for (const type of elements(schema, tag)) {
          const name = `${namespace}.${type.getAttribute('Name')}`;
          const properties = new Map<string, PropertyDef>();
          for (const p of elements(type, 'Property')) properties.set(p.getAttribute('Name')!, { type: this.qualify(p.getAttribute('Type')!), nullable: p.getAttribute('Nullable') !== 'false', navigation: false });
          for (const p of elements(type, 'NavigationProperty')) properties.set(p.getAttribute('Name')!, { type: this.qualify(p.getAttribute('Type')!), nullable: p.getAttribute('Nullable') !== 'false', navigation: true });
          const base = type.getAttribute('BaseType');
          this.types.set(name, { kind, name, baseType: base ? this.qualify(base) : undefined, properties, ...(type.getAttribute('OpenType') === 'true' && properties.size === 0 && !base ? { open: true } : {}) });
        }
      }
    }
  }

  /** graph.message -> microsoft.graph.message; Collection(graph.x) -> Collection(microsoft.graph.x). */
  private qualify(type: string): string {
    const collection = /^Collection\((.+)\)$/.exec(type);
    if (collection) return `Collection(${this.qualify(collection[1]!)})`;
    if (type.startsWith('Edm.')) return type;
    const dot = type.indexOf('.');
    const head = type.slice(0, dot);
    const namespace = this.aliases.get(head);
    return namespace ? `${namespace}${type.slice(dot)}` : type;
  }

  /** Whether a type of that name exists (qualified: microsoft.graph.message). */
  has(typeName: string): boolean {
    return this.types.has(typeName);
  }

  typeCount(): number {
    return this.types.size;
  }

  isDerivedFrom(typeName: string, ancestor: string): boolean {
    for (let current: string | undefined = typeName; current; current = (this.types.get(current) as StructuredTypeDef | undefined)?.baseType) {
      if (current === ancestor) return true;
    }
    return false;
  }

  private property(type: StructuredTypeDef, name: string): PropertyDef | undefined {
    for (let current: StructuredTypeDef | undefined = type; current; current = current.baseType ? (this.types.get(current.baseType) as StructuredTypeDef | undefined) : undefined) {
      const found = current.properties.get(name);
      if (found) return found;
    }
    return undefined;
  }

  /** Validates a value against a type name (qualified, Edm.*, or Collection(...)). */
  validate(value: unknown, typeName: string, path = '$', options: { allowRemoved?: boolean } = {}): CsdlViolation[] {
    const violations: CsdlViolation[] = [];
    this.check(value, typeName, path, violations, options.allowRemoved ?? false);
    return violations;
  }

  private check(value: unknown, typeName: string, path: string, out: CsdlViolation[], allowRemoved: boolean): void {
    const collection = /^Collection\((.+)\)$/.exec(typeName);
    if (collection) {
      if (!Array.isArray(value)) return void out.push({ path, message: `expected an array (${typeName})` });
      value.forEach((element, index) => {
        if (element === null) out.push({ path: `${path}[${index}]`, message: 'null in a collection' });
        else this.check(element, collection[1]!, `${path}[${index}]`, out, allowRemoved);
      });
      return;
    }
    const edm = EDM_CHECKS[typeName];
    if (edm) {
      if (!edm(value)) out.push({ path, message: `expected ${typeName}, got ${JSON.stringify(value)}` });
      return;
    }
    const type = this.types.get(typeName);
    if (!type) return void out.push({ path, message: `unknown type ${typeName}` });
    if (type.kind === 'enum') {
      if (typeof value !== 'string') return void out.push({ path, message: `expected a ${typeName} member name, got ${JSON.stringify(value)}` });
      const names = type.isFlags ? value.split(',').map((s) => s.trim()) : [value];
      for (const name of names) if (!type.members.has(name)) out.push({ path, message: `${JSON.stringify(name)} is not a member of ${typeName}` });
      return;
    }
    this.checkStructured(value, type, path, out, allowRemoved);
  }

  private checkStructured(value: unknown, declared: StructuredTypeDef, path: string, out: CsdlViolation[], allowRemoved: boolean): void {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return void out.push({ path, message: `expected an object (${declared.name})` });
    const record = value as Record<string, unknown>;
    let type = declared;
    const odataType = record['@odata.type'];
    // An open type's @odata.type names the dynamic content (Graph: "#Microsoft.Graph.Message" in resourceData), not a CSDL type.
    if (odataType !== undefined && declared.open && typeof odataType !== 'string') out.push({ path: `${path}['@odata.type']`, message: 'annotation values are strings' });
    if (odataType !== undefined && !declared.open) {
      const named = typeof odataType === 'string' && odataType.startsWith('#') ? odataType.slice(1) : undefined;
      const actual = named ? this.types.get(named) : undefined;
      if (!named || !actual || actual.kind === 'enum') out.push({ path: `${path}['@odata.type']`, message: `unknown type ${JSON.stringify(odataType)}` });
      else if (!this.isDerivedFrom(actual.name, declared.name)) out.push({ path: `${path}['@odata.type']`, message: `${actual.name} is not ${declared.name} or derived from it` });
      else type = actual;
    }
    if ('@removed' in record) {
      if (!allowRemoved) out.push({ path, message: '@removed outside a delta response' });
      const removed = record['@removed'] as { reason?: unknown } | null;
      if (!removed || (removed.reason !== 'deleted' && removed.reason !== 'changed')) out.push({ path: `${path}['@removed']`, message: 'expected {"reason":"deleted"|"changed"}' });
      const extra = Object.keys(record).filter((k) => k !== 'id' && k !== '@removed' && k !== '@odata.type');
      if (extra.length > 0) out.push({ path, message: `a removed entry carries only id: also ${extra.join(', ')}` });
      if (typeof record.id !== 'string') out.push({ path: `${path}.id`, message: 'a removed entry needs its id' });
      return;
    }
    for (const [key, propertyValue] of Object.entries(record)) {
      if (key.startsWith('@')) {
        if (!INSTANCE_ANNOTATIONS.has(key)) out.push({ path: `${path}['${key}']`, message: `unknown annotation ${key}` });
        else if (key !== '@odata.count' && typeof propertyValue !== 'string') out.push({ path: `${path}['${key}']`, message: 'annotation values are strings' });
        continue;
      }
      if (key.includes('@')) continue; // property annotations (name@odata.type, ...)
      const property = this.property(type, key);
      if (!property && type.open) continue;
      if (!property) {
        out.push({ path: `${path}.${key}`, message: `${type.name} has no property ${key}` });
        continue;
      }
      if (propertyValue === null) {
        if (!property.nullable || property.type.startsWith('Collection(')) out.push({ path: `${path}.${key}`, message: `${key} is not nullable` });
        continue;
      }
      this.check(propertyValue, property.type, `${path}.${key}`, out, false);
    }
  }
}

/** Checks a collection or delta envelope and each element. */
export function validateCollection(schema: CsdlSchema, body: unknown, elementType: string, delta: boolean): CsdlViolation[] {
  const out: CsdlViolation[] = [];
  if (!body || typeof body !== 'object' || Array.isArray(body)) return [{ path: '$', message: 'expected a JSON object' }];
  const record = body as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (key !== 'value' && !INSTANCE_ANNOTATIONS.has(key)) out.push({ path: `$.${key}`, message: `unexpected member ${key} in a collection response` });
  }
  if (!Array.isArray(record.value)) out.push({ path: '$.value', message: 'expected an array' });
  const next = record['@odata.nextLink'];
  const deltaLink = record['@odata.deltaLink'];
  for (const [name, link] of [['@odata.nextLink', next], ['@odata.deltaLink', deltaLink]] as const) {
    if (link !== undefined && (typeof link !== 'string' || !/^https?:\/\//.test(link))) out.push({ path: `$['${name}']`, message: 'expected an absolute URL' });
  }
  if (delta && (next === undefined) === (deltaLink === undefined)) out.push({ path: '$', message: 'a delta page has exactly one of @odata.nextLink and @odata.deltaLink' });
  if (!delta && deltaLink !== undefined) out.push({ path: '$', message: '@odata.deltaLink outside a delta response' });
  if (Array.isArray(record.value)) {
    record.value.forEach((element, index) => out.push(...schema.validate(element, elementType, `$.value[${index}]`, { allowRemoved: delta })));
  }
  return out;
}

/** Graph's error body: {"error":{"code","message","innerError":{date, request-id, client-request-id}}}. */
export function validateErrorBody(body: unknown): CsdlViolation[] {
  const out: CsdlViolation[] = [];
  const error = (body as { error?: Record<string, unknown> } | undefined)?.error;
  if (!error || typeof error !== 'object') return [{ path: '$.error', message: 'missing' }];
  if (Object.keys(body as object).length !== 1) out.push({ path: '$', message: 'only "error" at the top level' });
  if (typeof error.code !== 'string' || !error.code) out.push({ path: '$.error.code', message: 'a non-empty string' });
  if (typeof error.message !== 'string') out.push({ path: '$.error.message', message: 'a string' });
  const inner = error.innerError as Record<string, unknown> | undefined;
  if (!inner || typeof inner !== 'object') out.push({ path: '$.error.innerError', message: 'missing' });
  else {
    if (typeof inner.date !== 'string' || Number.isNaN(Date.parse(`${inner.date}Z`))) out.push({ path: '$.error.innerError.date', message: 'a date' });
    for (const name of ['request-id', 'client-request-id']) if (typeof inner[name] !== 'string' || !inner[name]) out.push({ path: `$.error.innerError['${name}']`, message: 'a non-empty string' });
  }
  return out;
}
