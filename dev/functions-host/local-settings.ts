/**
 * What `func start` reads before starting the host: local.settings.json (git-ignored, the
 * developer's copy), falling back to the committed local.settings.example.json; plus the
 * local function keys, made once and kept in .dev/functions-host/keys.json (never logged).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FunctionKeys } from './function-keys';

export interface LocalSettings {
  /** The file the settings came from. */
  readonly path: string;
  readonly values: Record<string, string>;
  /** Host.LocalHttpPort, when set. */
  readonly port?: number;
}

export class LocalSettingsError extends Error {
  readonly code = 'LocalSettingsError';
}

function parseLocalSettings(path: string): LocalSettings {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new LocalSettingsError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  const file = json as { IsEncrypted?: unknown; Values?: unknown; Host?: { LocalHttpPort?: unknown } };
  if (file.IsEncrypted === true) throw new LocalSettingsError(`${path} is encrypted; the local host reads plain settings only`);
  const values: Record<string, string> = {};
  if (file.Values && typeof file.Values === 'object') {
    for (const [name, value] of Object.entries(file.Values as Record<string, unknown>)) {
      // The host hands every setting to the app as a string environment variable.
      if (value !== null && value !== undefined) values[name] = String(value);
    }
  }
  const port = file.Host?.LocalHttpPort;
  return { path, values, ...(typeof port === 'number' ? { port } : {}) };
}

/** local.settings.json in `projectRoot`, else local.settings.example.json. */
export function readLocalSettings(projectRoot: string, explicitPath?: string): LocalSettings {
  const candidates = explicitPath ? [explicitPath] : [join(projectRoot, 'local.settings.json'), join(projectRoot, 'local.settings.example.json')];
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new LocalSettingsError(`No settings file found (looked for ${candidates.join(', ')})`);
  return parseLocalSettings(found);
}

function newKey(): string {
  return randomBytes(32).toString('base64url');
}

/** The local host's keys: read from `dir`/keys.json, or made and saved there (owner-only) on first use. */
export function ensureLocalFunctionKeys(dir: string): { path: string; keys: FunctionKeys } {
  const path = join(dir, 'keys.json');
  if (existsSync(path)) {
    const saved = JSON.parse(readFileSync(path, 'utf8')) as { masterKey?: string; hostKeys?: string[]; functionKeys?: Record<string, string[]> };
    return { path, keys: { ...saved } };
  }
  const keys = { masterKey: newKey(), hostKeys: [newKey()], functionKeys: {} };
  mkdirSync(dir, { recursive: true });
  writeFileSync(path, JSON.stringify(keys, null, 2) + '\n', { mode: 0o600 });
  return { path, keys };
}
