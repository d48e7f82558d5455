/**
 * The checks behind `npm run infra:check` (dev/infra-check-cli.ts): it checks every resource body against Azure's own Bicep type definitions
 * (dev/azure-type-check.ts, ../shared/azure-types), compiles infra/main.bicep where a Bicep
 * compiler exists (standalone `bicep` or `az bicep`; neither can be installed offline, so it
 * says it skipped), then cross-checks the Bicep against the code, which needs no compiler:
 *  - every setting the catalogue marks requiredInAzure is set on the Function App;
 *  - every data-plane role the code needs (derived from its SDK use) is assigned, scoped to
 *    the resource it is about;
 *  - no secret in the templates (account keys, list*() calls, secret literals, @secure()
 *    parameters with defaults) and the keyless posture (shared keys off, RBAC vault, ...);
 *  - every resource names its API version; the outputs the deploy script reads exist.
 *
 * The Bicep reader is deliberately small and honest about what it reads: declarations
 * (`resource sym 'Type@version' = ...`, nested child resources, `var`, `param`, `output`),
 * object and array literals, string literals with interpolation, comments, `union()` of
 * object literals and variables. Anything it cannot read where it matters (an app settings
 * expression it does not understand) is reported as a finding, never skipped silently.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { SettingDescription } from '../shared/config/settings-catalogue';
import type { TypeFindingRule } from './azure-type-check';

// ---------------------------------------------------------------------------------------
// Public types

export interface DataPlaneRole {
  readonly name: string;
  readonly roleDefinitionId: string;
  /** The resource type the assignment must be scoped to (least privilege). */
  readonly scopeResourceType: string;
}

export interface PackageImportEvidence {
  readonly packageName: string;
  /** Client classes whose (non-type) import means the code calls the service. */
  readonly names: readonly string[];
}

export interface RoleNeedRule {
  readonly role: DataPlaneRole;
  readonly why: string;
  readonly neededWhen: {
    readonly always?: boolean;
    readonly packageImports?: readonly PackageImportEvidence[];
    /** Function names whose call means the role is needed (e.g. a queue trigger registration). */
    readonly calls?: readonly string[];
  };
}

export interface RoleNeed {
  readonly role: DataPlaneRole;
  readonly why: string;
  /** Source files (relative to the scanned roots' parent) or 'always'. */
  readonly evidence: readonly string[];
}

export type FindingRule =
  | 'missing-function-app'
  | 'missing-app-setting'
  | 'unreadable-app-settings'
  | 'deprecated-flex-setting'
  | 'shared-key-connection'
  | 'missing-role-assignment'
  | 'role-scope'
  | 'secret-function'
  | 'secret-literal'
  | 'secure-param-default'
  | 'missing-api-version'
  | 'malformed-api-version'
  | 'insecure-property'
  | 'missing-output'
  | 'parameters-file'
  | TypeFindingRule;

export interface Finding {
  readonly rule: FindingRule;
  /** Path relative to the infra folder. */
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

export interface ResourceDeclaration {
  readonly file: string;
  readonly line: number;
  readonly symbol: string;
  /** As written: 'Microsoft.Web/sites@2024-04-01' or, for a nested child, 'config'. */
  readonly declaredType: string;
  /** Fully qualified type without version, nested children joined to their parent's type. */
  readonly fullType: string;
  readonly apiVersion?: string;
  readonly existing: boolean;
  readonly conditional: boolean;
  /** The `name:` value when it is a plain string literal. */
  readonly name?: string;
}

export interface AppSetting {
  readonly name: string;
  readonly file: string;
  readonly line: number;
  /** The value expression as written. */
  readonly value: string;
}

export interface RoleAssignmentDeclaration {
  readonly file: string;
  readonly line: number;
  readonly symbol: string;
  readonly roleDefinitionIds: readonly string[];
  /** Resource type of the `scope:` target, or 'resourceGroup' / 'subscription' when none. */
  readonly scopeType: string;
  readonly conditional: boolean;
}

export interface InfraModel {
  readonly infraDir: string;
  readonly files: readonly string[];
  readonly resources: readonly ResourceDeclaration[];
  readonly appSettings: readonly AppSetting[];
  readonly roleAssignments: readonly RoleAssignmentDeclaration[];
  readonly mainOutputs: readonly string[];
  /** Findings the reader itself makes (secrets, versions, unreadable expressions). */
  readonly readerFindings: readonly Finding[];
}

export interface InfraCheckOptions {
  readonly infraDir: string;
  readonly settings: readonly SettingDescription[];
  readonly roleNeeds: readonly RoleNeed[];
}

export interface InfraCheckReport {
  readonly model: InfraModel;
  readonly findings: readonly Finding[];
}

/** Outputs infra/deploy.sh and the docs rely on. */
export const REQUIRED_OUTPUTS: readonly string[] = [
  'AZURE_RESOURCE_GROUP',
  'AZURE_FUNCTION_APP_NAME',
  'KEY_VAULT_NAME',
  'KEY_VAULT_URL',
  'PUBLIC_BASE_URL',
  'ADMIN_API_URL',
  'OPENAPI_URL',
  'HEALTH_URL',
  'ADMIN_CONSOLE_URL',
  'AZURE_STORAGE_ACCOUNT_NAME',
  'CONSENT_CALLBACK_URL',
  'INVITATION_CALLBACK_URL',
  'CONNECTOR_APP_CLIENT_ID',
];

/** Settings Flex Consumption replaces with functionAppConfig or does not support ("Flex Consumption plan deprecations"). */
export const FLEX_DEPRECATED_SETTINGS: readonly string[] = [
  'FUNCTIONS_WORKER_RUNTIME',
  'FUNCTIONS_EXTENSION_VERSION',
  'WEBSITE_RUN_FROM_PACKAGE',
  'WEBSITE_CONTENTSHARE',
  'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
  'SCM_DO_BUILD_DURING_DEPLOYMENT',
  'ENABLE_ORYX_BUILD',
];

interface PostureRule {
  readonly resourceType: string;
  readonly path: readonly string[];
  readonly expected: string;
  readonly why: string;
}

/** The keyless, least-privilege posture the task asks for, property by property. */
const POSTURE_RULES: readonly PostureRule[] = [
  { resourceType: 'Microsoft.Storage/storageAccounts', path: ['properties', 'allowSharedKeyAccess'], expected: 'false', why: 'account keys must not authorize requests' },
  { resourceType: 'Microsoft.Storage/storageAccounts', path: ['properties', 'allowBlobPublicAccess'], expected: 'false', why: 'no anonymous blob access' },
  { resourceType: 'Microsoft.Storage/storageAccounts', path: ['properties', 'minimumTlsVersion'], expected: "'TLS1_2'", why: 'TLS 1.2 minimum' },
  { resourceType: 'Microsoft.KeyVault/vaults', path: ['properties', 'enableRbacAuthorization'], expected: 'true', why: 'access by Azure RBAC, not access policies' },
  { resourceType: 'Microsoft.KeyVault/vaults', path: ['properties', 'enableSoftDelete'], expected: 'true', why: 'deleted secrets stay recoverable' },
  { resourceType: 'Microsoft.KeyVault/vaults', path: ['properties', 'enablePurgeProtection'], expected: 'true', why: 'nobody can purge secrets before retention ends' },
  { resourceType: 'Microsoft.Insights/components', path: ['properties', 'DisableLocalAuth'], expected: 'true', why: 'telemetry only with Entra authentication' },
  { resourceType: 'Microsoft.Web/sites', path: ['properties', 'httpsOnly'], expected: 'true', why: 'HTTPS only' },
  { resourceType: 'Microsoft.Web/sites', path: ['properties', 'siteConfig', 'minTlsVersion'], expected: "'1.2'", why: 'TLS 1.2 minimum' },
  { resourceType: 'Microsoft.Web/sites', path: ['properties', 'functionAppConfig', 'runtime', 'name'], expected: "'node'", why: 'Node runtime' },
  { resourceType: 'Microsoft.Web/sites', path: ['properties', 'functionAppConfig', 'runtime', 'version'], expected: "'22'", why: 'Node 22' },
  { resourceType: 'Microsoft.Web/serverfarms', path: ['sku', 'name'], expected: "'FC1'", why: 'Flex Consumption plan' },
  { resourceType: 'Microsoft.Web/sites/basicPublishingCredentialsPolicies', path: ['properties', 'allow'], expected: 'false', why: 'no FTP/SCM publishing passwords' },
];

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const SECRET_NAME = /(password|passwd|pwd|secret|accountkey|apikey|sharedaccesskey|connectionstring)/i;
/** Secret-sounding names that hold a reference to a secret (its name, id or role), not the secret. */
const SECRET_REFERENCE_NAME = /(name|names|id|ids|uri|url|officer|user|role|reference)$/i;
const SECRET_TEXT = /AccountKey=|SharedAccessKey=|SharedAccessSignature=|[?&]sig=|-----BEGIN [A-Z ]*PRIVATE KEY-----/i;

// ---------------------------------------------------------------------------------------
// Scanning: comments blanked, string contents masked, offsets preserved

export interface StringLiteral {
  readonly start: number;
  readonly end: number;
  /** The literal's text, interpolations kept as written (`${...}`). */
  readonly value: string;
  readonly interpolated: boolean;
}

export interface ScannedFile {
  readonly path: string;
  readonly text: string;
  /** Same length as text: comments are spaces, string contents '_' (quotes kept). */
  readonly skeleton: string;
  readonly strings: ReadonlyMap<number, StringLiteral>;
  readonly lineStarts: readonly number[];
}

export interface Span {
  readonly start: number;
  readonly end: number;
}

export interface Entry {
  readonly key: string;
  readonly keyStart: number;
  readonly value: Span;
}

export function scanBicep(path: string, text: string): ScannedFile {
  const skeleton = text.split('');
  const strings = new Map<number, StringLiteral>();
  const mask = (from: number, to: number, fill: string): void => {
    for (let i = from; i < to; i++) if (skeleton[i] !== '\n') skeleton[i] = fill;
  };

  const scanString = (start: number): number => {
    if (text.startsWith("'''", start)) {
      const close = text.indexOf("'''", start + 3);
      const contentEnd = close < 0 ? text.length : close;
      const end = close < 0 ? text.length : close + 3;
      strings.set(start, { start, end, value: text.slice(start + 3, contentEnd), interpolated: false });
      mask(start + 3, contentEnd, '_');
      return end;
    }
    let i = start + 1;
    let value = '';
    let interpolated = false;
    while (i < text.length) {
      const ch = text[i];
      if (ch === '\\') {
        value += text[i + 1] ?? '';
        i += 2;
      } else if (ch === "'") {
        strings.set(start, { start, end: i + 1, value, interpolated });
        mask(start + 1, i, '_');
        return i + 1;
      } else if (ch === '$' && text[i + 1] === '{') {
        interpolated = true;
        const after = scanCode(i + 2, true);
        value += text.slice(i, after);
        i = after;
      } else {
        value += ch;
        i++;
      }
    }
    strings.set(start, { start, end: text.length, value, interpolated });
    mask(start + 1, text.length, '_');
    return text.length;
  };

  const scanCode = (start: number, insideInterpolation: boolean): number => {
    let depth = 0;
    let i = start;
    while (i < text.length) {
      const ch = text[i];
      if (ch === '/' && text[i + 1] === '/') {
        const newline = text.indexOf('\n', i);
        const end = newline < 0 ? text.length : newline;
        mask(i, end, ' ');
        i = end;
      } else if (ch === '/' && text[i + 1] === '*') {
        const close = text.indexOf('*/', i + 2);
        const end = close < 0 ? text.length : close + 2;
        mask(i, end, ' ');
        i = end;
      } else if (ch === "'") {
        i = scanString(i);
      } else {
        if (ch === '{') depth++;
        if (ch === '}') {
          if (insideInterpolation && depth === 0) return i + 1;
          depth--;
        }
        i++;
      }
    }
    return i;
  };

  scanCode(0, false);
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  return { path, text, skeleton: skeleton.join(''), strings, lineStarts };
}

export function lineOf(file: ScannedFile, offset: number): number {
  let low = 0;
  let high = file.lineStarts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (file.lineStarts[mid] <= offset) low = mid;
    else high = mid - 1;
  }
  return low + 1;
}

const OPENERS = '{[(';
const CLOSERS = '}])';

/** Index of the bracket closing the one at `open` (skeleton has no strings or comments). */
export function matchingClose(file: ScannedFile, open: number): number {
  let depth = 0;
  for (let i = open; i < file.skeleton.length; i++) {
    const ch = file.skeleton[i];
    if (OPENERS.includes(ch)) depth++;
    else if (CLOSERS.includes(ch)) {
      depth--;
      if (depth === 0) return i;
    }
  }
  return file.skeleton.length;
}

/**
 * End of a value expression: the comma (or, unless `spansLines`, the newline) at bracket depth 0,
 * or the enclosing closer. An argument list may span lines, so only a comma ends it.
 */
export function endOfValue(file: ScannedFile, start: number, limit: number, spansLines = false): number {
  let depth = 0;
  for (let i = start; i < limit; i++) {
    const ch = file.skeleton[i];
    if (OPENERS.includes(ch)) depth++;
    else if (CLOSERS.includes(ch)) {
      if (depth === 0) return i;
      depth--;
    } else if ((ch === ',' || (ch === '\n' && !spansLines)) && depth === 0) return i;
  }
  return limit;
}

export function skipSpaces(file: ScannedFile, from: number, allowNewlines = true): number {
  let i = from;
  while (i < file.skeleton.length && (file.skeleton[i] === ' ' || file.skeleton[i] === '\t' || file.skeleton[i] === '\r' || (allowNewlines && file.skeleton[i] === '\n'))) i++;
  return i;
}

export function textOf(file: ScannedFile, span: Span): string {
  return file.text.slice(span.start, span.end).trim();
}

/** A whole-value string literal (no interpolation), or undefined. */
export function literalOf(file: ScannedFile, span: Span): StringLiteral | undefined {
  const start = skipSpaces(file, span.start);
  const literal = file.strings.get(start);
  if (!literal) return undefined;
  return file.skeleton.slice(literal.end, span.end).trim() === '' ? literal : undefined;
}

/** The object key starting at `at`: an identifier or a string literal (`computed` when interpolated). */
export function keyAt(file: ScannedFile, at: number): { key: string; computed: boolean; end: number } | undefined {
  const literal = file.strings.get(at);
  if (literal) return { key: literal.value, computed: literal.interpolated, end: literal.end };
  const match = /^[A-Za-z_$][\w$]*/.exec(file.skeleton.slice(at, at + 256));
  return match ? { key: match[0], computed: false, end: at + match[0].length } : undefined;
}

/** Entries of the object literal whose '{' is at `open`. Non-entry statements (nested resources, decorators) are skipped. */
export function objectEntries(file: ScannedFile, open: number): Entry[] {
  const close = matchingClose(file, open);
  const entries: Entry[] = [];
  let i = open + 1;
  while (i < close) {
    while (i < close && /[\s,]/.test(file.skeleton[i])) i++;
    if (i >= close) break;
    const read = keyAt(file, i);
    const key = read?.key;
    const colon = skipSpaces(file, read?.end ?? i, false);
    if (key !== undefined && file.skeleton[colon] === ':') {
      const valueStart = skipSpaces(file, colon + 1, false);
      const valueEnd = endOfValue(file, valueStart, close);
      entries.push({ key, keyStart: i, value: { start: valueStart, end: valueEnd } });
      i = valueEnd;
    } else {
      // Not `key: value` (a nested resource, a decorator): skip the whole statement.
      const end = endOfValue(file, i, close);
      i = end === i ? i + 1 : end;
    }
  }
  return entries;
}

export function entry(file: ScannedFile, open: number, key: string): Entry | undefined {
  return objectEntries(file, open).find((e) => e.key === key);
}

/** Follows a path of keys through nested object literals from the object at `open`. */
export function entryAtPath(file: ScannedFile, open: number, path: readonly string[]): Entry | undefined {
  let objectOpen = open;
  let found: Entry | undefined;
  for (const [index, key] of path.entries()) {
    found = entry(file, objectOpen, key);
    if (!found) return undefined;
    if (index < path.length - 1) {
      const next = skipSpaces(file, found.value.start);
      if (file.skeleton[next] !== '{') return undefined;
      objectOpen = next;
    }
  }
  return found;
}

// ---------------------------------------------------------------------------------------
// Declarations

export interface Declaration {
  readonly symbol: string;
  readonly keywordStart: number;
  readonly value: Span;
  readonly hasDefault: boolean;
}

export function declarations(file: ScannedFile, keyword: 'var' | 'param' | 'output'): Declaration[] {
  const pattern =
    keyword === 'var'
      ? /^[ \t]*var\s+([A-Za-z_]\w*)\s*=\s*/gm
      : keyword === 'param'
        ? /^[ \t]*param\s+([A-Za-z_]\w*)\s+[\w.]+(?:\[\])?[ \t]*(=\s*)?/gm
        : /^[ \t]*output\s+([A-Za-z_]\w*)\s+[\w.]+\s*=\s*/gm;
  const found: Declaration[] = [];
  for (const match of file.skeleton.matchAll(pattern)) {
    const start = (match.index ?? 0) + match[0].length;
    const hasDefault = keyword !== 'param' || match[2] !== undefined;
    const end = hasDefault ? endOfValue(file, start, file.skeleton.length) : start;
    found.push({ symbol: match[1], keywordStart: match.index ?? 0, value: { start, end }, hasDefault });
  }
  return found;
}

export interface ResourceInFile extends ResourceDeclaration {
  readonly bodyOpen: number;
  readonly declStart: number;
  /** For a child declared inside another resource's body: that resource's symbol. */
  readonly enclosing?: string;
}

export function resourcesIn(file: ScannedFile, infraDir: string, findings: Finding[]): ResourceInFile[] {
  const relPath = relative(infraDir, file.path);
  const raw: Array<{ symbol: string; declaredType: string; declStart: number; bodyOpen: number; existing: boolean; conditional: boolean }> = [];
  for (const match of file.skeleton.matchAll(/\bresource\s+([A-Za-z_]\w*)\s+'/g)) {
    const quote = (match.index ?? 0) + match[0].length - 1;
    const typeLiteral = file.strings.get(quote);
    if (!typeLiteral) continue;
    let i = skipSpaces(file, typeLiteral.end);
    const existing = file.skeleton.startsWith('existing', i);
    if (existing) i = skipSpaces(file, i + 'existing'.length);
    if (file.skeleton[i] !== '=') continue;
    i = skipSpaces(file, i + 1);
    const conditional = /^if\b/.test(file.skeleton.slice(i, i + 3));
    if (conditional) {
      const paren = file.skeleton.indexOf('(', i);
      i = skipSpaces(file, matchingClose(file, paren) + 1);
    }
    const bodyOpen = file.skeleton.indexOf('{', i);
    if (bodyOpen < 0) continue;
    raw.push({ symbol: match[1], declaredType: typeLiteral.value, declStart: match.index ?? 0, bodyOpen, existing, conditional });
  }

  const byStart = [...raw].sort((a, b) => a.declStart - b.declStart);
  const resolved: ResourceInFile[] = [];
  for (const declaration of byStart) {
    const [typePart, apiVersion] = declaration.declaredType.split('@');
    let fullType = typePart;
    // A nested child: its type is relative to the innermost enclosing resource.
    const enclosing = resolved
      .filter((r) => r.bodyOpen < declaration.declStart && matchingClose(file, r.bodyOpen) > declaration.declStart)
      .sort((a, b) => b.bodyOpen - a.bodyOpen)[0];
    if (!typePart.includes('/') && enclosing) fullType = `${enclosing.fullType}/${typePart}`;
    const nameEntry = entry(file, declaration.bodyOpen, 'name');
    const name = nameEntry ? literalOf(file, nameEntry.value) : undefined;
    const line = lineOf(file, declaration.declStart);
    resolved.push({
      file: relPath,
      line,
      symbol: declaration.symbol,
      declaredType: declaration.declaredType,
      fullType,
      apiVersion,
      existing: declaration.existing,
      conditional: declaration.conditional,
      name: name && !name.interpolated ? name.value : undefined,
      bodyOpen: declaration.bodyOpen,
      declStart: declaration.declStart,
      enclosing: enclosing?.symbol,
    });
    if (typePart.includes('/') && apiVersion === undefined) {
      findings.push({ rule: 'missing-api-version', file: relPath, line, message: `resource ${declaration.symbol} '${typePart}' names no API version` });
    } else if (apiVersion !== undefined && !/^\d{4}-\d{2}-\d{2}(-[a-z]+)?$/.test(apiVersion)) {
      findings.push({ rule: 'malformed-api-version', file: relPath, line, message: `resource ${declaration.symbol} has API version '${apiVersion}'` });
    }
  }
  return resolved;
}

// ---------------------------------------------------------------------------------------
// App settings

function settingsFromObjectExpression(file: ScannedFile, span: Span, vars: readonly Declaration[], findings: Finding[], depth = 0): Array<{ name: string; line: number; value: string }> {
  const start = skipSpaces(file, span.start);
  const head = file.skeleton.slice(start, span.end).trim();
  const relPath = file.path;
  if (head.startsWith('{')) {
    return objectEntries(file, start).map((e) => ({ name: e.key, line: lineOf(file, e.keyStart), value: textOf(file, e.value) }));
  }
  const union = /^union\s*\(/.exec(head);
  if (union && depth < 8) {
    const open = file.skeleton.indexOf('(', start);
    const close = matchingClose(file, open);
    const settings: Array<{ name: string; line: number; value: string }> = [];
    let argStart = open + 1;
    while (argStart < close) {
      const argEnd = endOfValue(file, argStart, close, true);
      settings.push(...settingsFromObjectExpression(file, { start: argStart, end: argEnd }, vars, findings, depth + 1));
      argStart = argEnd + 1;
    }
    return settings;
  }
  const identifier = /^[A-Za-z_]\w*$/.exec(head);
  const variable = identifier ? vars.find((v) => v.symbol === identifier[0]) : undefined;
  if (variable && depth < 8) return settingsFromObjectExpression(file, variable.value, vars, findings, depth + 1);
  findings.push({ rule: 'unreadable-app-settings', file: relPath, line: lineOf(file, start), message: `cannot read app settings from '${head.slice(0, 60)}': use object literals, variables and union()` });
  return [];
}


function appSettingsOf(file: ScannedFile, resources: readonly ResourceInFile[], infraDir: string, findings: Finding[]): AppSetting[] {
  const vars = declarations(file, 'var');
  const relPath = relative(infraDir, file.path);
  const settings: AppSetting[] = [];
  const localFindings: Finding[] = [];
  for (const resource of resources) {
    const type = resource.fullType.toLowerCase();
    if (type === 'microsoft.web/sites/config' && resource.name === 'appsettings') {
      const properties = entry(file, resource.bodyOpen, 'properties');
      if (!properties) continue;
      for (const s of settingsFromObjectExpression(file, properties.value, vars, localFindings)) settings.push({ ...s, file: relPath });
    }
    if (type === 'microsoft.web/sites') {
      const appSettings = entryAtPath(file, resource.bodyOpen, ['properties', 'siteConfig', 'appSettings']);
      if (!appSettings) continue;
      const open = skipSpaces(file, appSettings.value.start);
      if (file.skeleton[open] !== '[') {
        localFindings.push({ rule: 'unreadable-app-settings', file: relPath, line: lineOf(file, open), message: 'siteConfig.appSettings is not an array literal' });
        continue;
      }
      const close = matchingClose(file, open);
      for (let i = file.skeleton.indexOf('{', open); i > 0 && i < close; i = file.skeleton.indexOf('{', matchingClose(file, i))) {
        const nameEntry = entry(file, i, 'name');
        const valueEntry = entry(file, i, 'value');
        const literal = nameEntry ? literalOf(file, nameEntry.value) : undefined;
        if (literal && !literal.interpolated) {
          settings.push({ name: literal.value, file: relPath, line: lineOf(file, i), value: valueEntry ? textOf(file, valueEntry.value) : '' });
        } else {
          localFindings.push({ rule: 'unreadable-app-settings', file: relPath, line: lineOf(file, i), message: 'an appSettings item has no literal name' });
        }
      }
    }
  }
  findings.push(...localFindings.map((f) => ({ ...f, file: relPath })));
  return settings;
}

// ---------------------------------------------------------------------------------------
// Role assignments

function guidsOf(file: ScannedFile, span: Span, symbols: readonly Declaration[], depth = 0): string[] {
  const text = file.text.slice(span.start, span.end);
  const guids = [...text.matchAll(GUID)].map((m) => m[0].toLowerCase());
  if (depth > 4) return guids;
  const code = file.skeleton.slice(span.start, span.end);
  for (const match of code.matchAll(/\b[A-Za-z_]\w*\b/g)) {
    const declaration = symbols.find((d) => d.symbol === match[0] && d.hasDefault);
    if (declaration) guids.push(...guidsOf(file, declaration.value, symbols, depth + 1));
  }
  return [...new Set(guids)];
}

function roleAssignmentsOf(file: ScannedFile, resources: readonly ResourceInFile[], infraDir: string): RoleAssignmentDeclaration[] {
  const symbols = [...declarations(file, 'var'), ...declarations(file, 'param')];
  const targetScope = /^\s*targetScope\s*=\s*'(\w+)'/m.exec(file.text)?.[1] ?? 'resourceGroup';
  return resources
    .filter((r) => r.fullType.toLowerCase() === 'microsoft.authorization/roleassignments')
    .map((r) => {
      const roleDefinition = entryAtPath(file, r.bodyOpen, ['properties', 'roleDefinitionId']);
      const scope = entry(file, r.bodyOpen, 'scope');
      let scopeType = targetScope;
      if (scope) {
        const target = textOf(file, scope.value);
        scopeType = resources.find((candidate) => candidate.symbol === target)?.fullType ?? `expression '${target}'`;
      }
      return {
        file: relative(infraDir, file.path),
        line: r.line,
        symbol: r.symbol,
        roleDefinitionIds: roleDefinition ? guidsOf(file, roleDefinition.value, symbols) : [],
        scopeType,
        conditional: r.conditional,
      };
    });
}

// ---------------------------------------------------------------------------------------
// Secrets

function secretFindings(file: ScannedFile, infraDir: string): Finding[] {
  const relPath = relative(infraDir, file.path);
  const findings: Finding[] = [];
  const at = (offset: number): number => lineOf(file, offset);
  for (const match of file.skeleton.matchAll(/(?:\.|\b)(list[A-Z]\w*)\s*\(/g)) {
    findings.push({ rule: 'secret-function', file: relPath, line: at(match.index ?? 0), message: `${match[1]}() returns keys or secrets into the deployment` });
  }
  for (const literal of file.strings.values()) {
    if (SECRET_TEXT.test(literal.value)) {
      findings.push({ rule: 'secret-literal', file: relPath, line: at(literal.start), message: 'a string literal carries a key, signature or private key' });
    }
  }
  const named: Array<{ name: string; offset: number; value: Span }> = [];
  for (const match of file.skeleton.matchAll(/[{\n,]\s*([A-Za-z_]\w*|'_*')\s*:(?!:)/g)) {
    const keyStart = (match.index ?? 0) + match[0].indexOf(match[1]);
    const name = file.strings.get(keyStart)?.value ?? match[1];
    const valueStart = (match.index ?? 0) + match[0].length;
    named.push({ name, offset: keyStart, value: { start: valueStart, end: endOfValue(file, valueStart, file.skeleton.length) } });
  }
  for (const declaration of [...declarations(file, 'var'), ...declarations(file, 'param')]) {
    if (declaration.hasDefault) named.push({ name: declaration.symbol, offset: declaration.keywordStart, value: declaration.value });
  }
  for (const candidate of named) {
    if (!SECRET_NAME.test(candidate.name) || SECRET_REFERENCE_NAME.test(candidate.name)) continue;
    const literal = literalOf(file, candidate.value);
    if (literal && !literal.interpolated && literal.value !== '') {
      findings.push({ rule: 'secret-literal', file: relPath, line: at(candidate.offset), message: `'${candidate.name}' is given a literal value` });
    }
  }
  for (const match of file.skeleton.matchAll(/@secure\(\)\s*(?:@\w+\([^)]*\)\s*)*param\s+([A-Za-z_]\w*)\s+\w+\s*=/g)) {
    findings.push({ rule: 'secure-param-default', file: relPath, line: at(match.index ?? 0), message: `@secure() parameter ${match[1]} has a default value` });
  }
  return findings;
}

// ---------------------------------------------------------------------------------------
// Reading a folder

export function bicepFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? bicepFiles(join(dir, e.name)) : e.name.endsWith('.bicep') ? [join(dir, e.name)] : []))
    .sort();
}

/** Reads every .bicep file under infraDir. */
export function readInfrastructure(infraDir: string): InfraModel {
  const findings: Finding[] = [];
  const resources: ResourceDeclaration[] = [];
  const appSettings: AppSetting[] = [];
  const roleAssignments: RoleAssignmentDeclaration[] = [];
  let mainOutputs: string[] = [];
  const paths = bicepFiles(infraDir);
  for (const path of paths) {
    const file = scanBicep(path, readFileSync(path, 'utf8'));
    const fileResources = resourcesIn(file, infraDir, findings);
    resources.push(...fileResources.map(({ bodyOpen: _bodyOpen, declStart: _declStart, enclosing: _enclosing, ...rest }) => rest));
    appSettings.push(...appSettingsOf(file, fileResources, infraDir, findings));
    roleAssignments.push(...roleAssignmentsOf(file, fileResources, infraDir));
    findings.push(...secretFindings(file, infraDir));
    findings.push(...postureFindings(file, fileResources, infraDir));
    if (relative(infraDir, path) === 'main.bicep') mainOutputs = declarations(file, 'output').map((d) => d.symbol);
  }
  return { infraDir, files: paths.map((p) => relative(infraDir, p)), resources, appSettings, roleAssignments, mainOutputs, readerFindings: findings };
}

function postureFindings(file: ScannedFile, resources: readonly ResourceInFile[], infraDir: string): Finding[] {
  const relPath = relative(infraDir, file.path);
  const findings: Finding[] = [];
  for (const resource of resources.filter((r) => !r.existing)) {
    for (const rule of POSTURE_RULES.filter((p) => p.resourceType.toLowerCase() === resource.fullType.toLowerCase())) {
      if (rule.resourceType === 'Microsoft.Web/sites' && !isFunctionApp(file, resource)) continue;
      const found = entryAtPath(file, resource.bodyOpen, rule.path);
      const actual = found ? textOf(file, found.value) : undefined;
      if (actual !== rule.expected) {
        findings.push({
          rule: 'insecure-property',
          file: relPath,
          line: found ? lineOf(file, found.keyStart) : resource.line,
          message: `${resource.symbol}: ${rule.path.join('.')} must be ${rule.expected} (${rule.why}), found ${actual ?? 'nothing'}`,
        });
      }
    }
  }
  return findings;
}

function isFunctionApp(file: ScannedFile, resource: ResourceInFile): boolean {
  const kind = entry(file, resource.bodyOpen, 'kind');
  const literal = kind ? literalOf(file, kind.value) : undefined;
  return !!literal && literal.value.includes('functionapp');
}

// ---------------------------------------------------------------------------------------
// The cross-check

export function checkInfrastructure(options: InfraCheckOptions): InfraCheckReport {
  const model = readInfrastructure(options.infraDir);
  const findings: Finding[] = [...model.readerFindings];
  const sites = model.resources.filter((r) => r.fullType.toLowerCase() === 'microsoft.web/sites' && !r.existing);
  if (sites.length === 0) {
    findings.push({ rule: 'missing-function-app', file: '.', line: 0, message: 'no Microsoft.Web/sites resource declared' });
  }
  const settingNames = new Set(model.appSettings.map((s) => s.name));
  const settingsFile = model.appSettings[0]?.file ?? sites[0]?.file ?? '.';
  for (const setting of options.settings.filter((s) => s.requiredInAzure)) {
    if (!settingNames.has(setting.name)) {
      findings.push({ rule: 'missing-app-setting', file: settingsFile, line: 0, message: `${setting.name} is required in Azure (${setting.description}) but the Function App does not set it` });
    }
  }
  for (const setting of model.appSettings) {
    if (FLEX_DEPRECATED_SETTINGS.includes(setting.name)) {
      findings.push({ rule: 'deprecated-flex-setting', file: setting.file, line: setting.line, message: `${setting.name} is not used on Flex Consumption (functionAppConfig replaces it)` });
    }
    if (setting.name === 'AzureWebJobsStorage' || /AccountKey|listKeys/i.test(setting.value)) {
      findings.push({ rule: 'shared-key-connection', file: setting.file, line: setting.line, message: `${setting.name}: use the identity-based AzureWebJobsStorage__* settings, not a connection string` });
    }
  }
  for (const need of options.roleNeeds) {
    const id = need.role.roleDefinitionId.toLowerCase();
    const assignments = model.roleAssignments.filter((a) => a.roleDefinitionIds.includes(id));
    const wellScoped = assignments.filter((a) => a.scopeType.toLowerCase() === need.role.scopeResourceType.toLowerCase());
    if (assignments.length === 0) {
      findings.push({ rule: 'missing-role-assignment', file: model.roleAssignments[0]?.file ?? '.', line: 0, message: `${need.role.name} (${id}) is needed because ${need.why} [${need.evidence.join(', ')}] but no role assignment grants it` });
    } else if (wellScoped.length === 0) {
      for (const a of assignments) {
        findings.push({ rule: 'role-scope', file: a.file, line: a.line, message: `${a.symbol}: ${need.role.name} must be scoped to a ${need.role.scopeResourceType}, not ${a.scopeType}` });
      }
    } else if (wellScoped.every((a) => a.conditional)) {
      const a = wellScoped[0];
      findings.push({ rule: 'missing-role-assignment', file: a.file, line: a.line, message: `${need.role.name} is granted only under a condition` });
    }
  }
  for (const a of model.roleAssignments) {
    if (a.roleDefinitionIds.length === 0) {
      findings.push({ rule: 'role-scope', file: a.file, line: a.line, message: `${a.symbol}: cannot tell which role it assigns (use a literal built-in role id)` });
    }
    if (a.scopeType === 'resourceGroup' || a.scopeType === 'subscription') {
      findings.push({ rule: 'role-scope', file: a.file, line: a.line, message: `${a.symbol} is assigned at ${a.scopeType} scope: scope it to the resource it is about` });
    }
  }
  const policies = model.resources.filter((r) => r.fullType.toLowerCase() === 'microsoft.web/sites/basicpublishingcredentialspolicies');
  for (const required of ['ftp', 'scm']) {
    if (sites.length > 0 && !policies.some((p) => p.name === required)) {
      findings.push({ rule: 'insecure-property', file: sites[0].file, line: sites[0].line, message: `no basicPublishingCredentialsPolicies '${required}' with allow false: ${required} publishing passwords stay on` });
    }
  }
  for (const output of REQUIRED_OUTPUTS) {
    if (!model.mainOutputs.includes(output)) {
      findings.push({ rule: 'missing-output', file: 'main.bicep', line: 0, message: `output ${output} is missing (infra/deploy.sh reads it)` });
    }
  }
  findings.push(...parametersFileFindings(options.infraDir));
  return { model, findings };
}

function parametersFileFindings(infraDir: string): Finding[] {
  const mainPath = join(infraDir, 'main.bicep');
  const parametersPath = join(infraDir, 'main.parameters.json');
  if (!existsSync(mainPath) || !existsSync(parametersPath)) {
    return [{ rule: 'parameters-file', file: '.', line: 0, message: 'infra/main.bicep and infra/main.parameters.json must both exist' }];
  }
  const main = scanBicep(mainPath, readFileSync(mainPath, 'utf8'));
  const declared = declarations(main, 'param');
  let values: Record<string, { value?: unknown; reference?: unknown }>;
  try {
    values = (JSON.parse(readFileSync(parametersPath, 'utf8')) as { parameters?: typeof values }).parameters ?? {};
  } catch (error) {
    return [{ rule: 'parameters-file', file: 'main.parameters.json', line: 0, message: `not valid JSON: ${(error as Error).message}` }];
  }
  const findings: Finding[] = [];
  for (const [name, parameter] of Object.entries(values)) {
    if (!declared.some((d) => d.symbol === name)) {
      findings.push({ rule: 'parameters-file', file: 'main.parameters.json', line: 0, message: `${name} is not a parameter of main.bicep` });
    }
    const value = parameter.value;
    if (SECRET_NAME.test(name) && !SECRET_REFERENCE_NAME.test(name) && typeof value === 'string' && value !== '' && !/^\$\{[^}]+\}$/.test(value)) {
      findings.push({ rule: 'secret-literal', file: 'main.parameters.json', line: 0, message: `${name} has a literal value in the parameters file` });
    }
    if (typeof value === 'string' && SECRET_TEXT.test(value)) {
      findings.push({ rule: 'secret-literal', file: 'main.parameters.json', line: 0, message: `${name} carries a key or signature` });
    }
  }
  for (const parameter of declared.filter((d) => !d.hasDefault)) {
    if (!(parameter.symbol in values)) {
      findings.push({ rule: 'parameters-file', file: 'main.parameters.json', line: 0, message: `required parameter ${parameter.symbol} has no value in the parameters file` });
    }
  }
  return findings;
}

// ---------------------------------------------------------------------------------------
// What the code needs

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === 'node_modules') return [];
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

function importsClient(source: string, evidence: PackageImportEvidence): boolean {
  const quoted = `['"]${evidence.packageName.replace(/[/\\^$*+?.()|[\]{}]/g, '\\$&')}['"]`;
  for (const match of source.matchAll(new RegExp(`import\\s+(type\\s+)?\\{([^}]*)\\}\\s*from\\s*${quoted}`, 'g'))) {
    if (match[1]) continue;
    const names = match[2].split(',').map((n) => n.trim()).filter((n) => n && !n.startsWith('type '));
    if (names.some((n) => evidence.names.includes(n.split(/\s+as\s+/)[0]))) return true;
  }
  const namespace = new RegExp(`import\\s+\\*\\s+as\\s+(\\w+)\\s+from\\s*${quoted}|(?:const|let|var)\\s+(\\w+)\\s*=\\s*require\\(\\s*${quoted}\\s*\\)`).exec(source);
  const alias = namespace?.[1] ?? namespace?.[2];
  return !!alias && evidence.names.some((n) => new RegExp(`\\b${alias}\\.${n}\\b`).test(source));
}

/** Roles the code under `sourceRoots` needs, by the rules; evidence paths are relative to `relativeTo`. */
export function deriveRoleNeeds(sourceRoots: readonly string[], rules: readonly RoleNeedRule[], relativeTo: string): RoleNeed[] {
  const sources = sourceRoots.flatMap(sourceFiles).map((path) => ({ path: relative(relativeTo, path), text: readFileSync(path, 'utf8') }));
  const needs: RoleNeed[] = [];
  for (const rule of rules) {
    const evidence = new Set<string>();
    if (rule.neededWhen.always) evidence.add('always');
    for (const source of sources) {
      const imported = (rule.neededWhen.packageImports ?? []).some((imp) => importsClient(source.text, imp));
      // A call, not the function's own declaration.
      const called = (rule.neededWhen.calls ?? []).some((name) => new RegExp(`(?<!function\\s+)\\b${name}\\s*\\(`).test(source.text));
      if (imported || called) evidence.add(source.path);
    }
    if (evidence.size > 0) needs.push({ role: rule.role, why: rule.why, evidence: [...evidence] });
  }
  return needs;
}

// ---------------------------------------------------------------------------------------
// Bicep compiler, where one exists

export type BicepBuildResult =
  | { readonly status: 'skipped'; readonly reason: string }
  | { readonly status: 'passed' | 'failed'; readonly tool: string; readonly output: string };

export function buildBicep(mainBicep: string): BicepBuildResult {
  const attempts: Array<{ tool: string; command: string; args: string[] }> = [
    { tool: 'bicep', command: 'bicep', args: ['build', mainBicep, '--stdout'] },
    { tool: 'az bicep', command: 'az', args: ['bicep', 'build', '--file', mainBicep, '--stdout'] },
  ];
  for (const attempt of attempts) {
    const run = spawnSync(attempt.command, attempt.args, { encoding: 'utf8', timeout: 180_000, maxBuffer: 64 * 1024 * 1024 });
    if (run.error && (run.error as NodeJS.ErrnoException).code === 'ENOENT') continue;
    const diagnostics = (run.stderr ?? '').trim();
    return { status: run.status === 0 ? 'passed' : 'failed', tool: attempt.tool, output: diagnostics || String(run.error ?? '') };
  }
  return { status: 'skipped', reason: 'neither `bicep` nor `az` is on PATH (install the Bicep CLI or the Azure CLI to compile the templates)' };
}
