/**
 * Loads the function app as the Node.js worker does: every file matched by package.json
 * "main" is required, and each registers its functions as a side effect. Node 20 has no
 * fs.glob, so "main" supports the forms Functions projects use: a file, `dir/*.js`,
 * `dir/**\/*.js`, and `{a,b}` alternatives.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

export class AppLoadError extends Error {
  readonly code = 'AppLoadError';
}

function wildcardToRegExp(pattern: string): RegExp {
  const source = pattern
    .replace(/[.+^$()|[\]\\]/g, '\\$&')
    .replace(/\{([^}]*)\}/g, (_, alternatives: string) => `(${alternatives.split(',').join('|')})`)
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${source}$`);
}

function filesUnder(dir: string, recursive: boolean): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return recursive ? filesUnder(path, true) : [];
    return entry.isFile() ? [path] : [];
  });
}

/** Expands package.json's "main" (relative to `projectRoot`) into the files to load, sorted. */
export function expandMainGlob(projectRoot: string, main: string): string[] {
  const normalized = main.replace(/\\/g, '/').replace(/^\.\//, '');
  if (!/[*?{]/.test(normalized)) return [resolve(projectRoot, normalized)];
  const firstWildcard = normalized.search(/[*?{]/);
  const baseDir = normalized.slice(0, normalized.lastIndexOf('/', firstWildcard) + 1);
  const rest = normalized.slice(baseDir.length);
  const recursive = rest.includes('**/');
  const filePattern = wildcardToRegExp(rest.replace(/\*\*\//g, ''));
  const fullBase = resolve(projectRoot, baseDir);
  return filesUnder(fullBase, recursive)
    .filter((file) => {
      const relativePath = file.slice(fullBase.length + 1).replace(/\\/g, '/');
      return filePattern.test(recursive ? relativePath.slice(relativePath.lastIndexOf('/') + 1) : relativePath);
    })
    .sort();
}

/** The entry files of the app at `projectRoot`, from its package.json "main". */
export function appEntryPoints(projectRoot: string): string[] {
  const packageJson = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { main?: unknown };
  if (typeof packageJson.main !== 'string') throw new AppLoadError('package.json has no "main": the Functions worker needs it to find the app');
  const files = expandMainGlob(projectRoot, packageJson.main);
  if (files.length === 0) throw new AppLoadError(`package.json "main" (${packageJson.main}) matched no files: run the build first (npm run build)`);
  return files;
}

/** Requires each entry file; a failure names the file (the host would refuse to start too). */
export function loadApp(projectRoot: string, entryPoints: readonly string[]): void {
  for (const entry of entryPoints) {
    const path = isAbsolute(entry) ? entry : resolve(projectRoot, entry);
    try {
      require(path);
    } catch (error) {
      throw new AppLoadError(`Worker failed to load function file '${path}': ${(error as Error).message}`, { cause: error });
    }
  }
}

/** Resolves binding expressions like %SettingName% (used in schedules and queue names) from app settings. */
export function resolveAppSettingExpression(value: string, settings: NodeJS.ProcessEnv, what: string): string {
  return value.replace(/%([^%]+)%/g, (_, name: string) => {
    const setting = settings[name];
    if (setting === undefined) throw new AppLoadError(`${what} refers to app setting '%${name}%', which is not set`);
    return setting;
  });
}
