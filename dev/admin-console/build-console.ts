/**
 * `npm run build`, second half: the admin console. Writes the API types from the OpenAPI
 * document, type-checks the browser code against them (its own tsconfig: DOM lib, no Node
 * types), then bundles it with esbuild into dist/admin-console/ (content-hashed file names).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { build } from 'esbuild';
import { ALL_ADMIN_ROUTES } from '../../shared/admin/all-admin-routes';
import { buildOpenApiDocument } from '../../shared/admin/openapi';
import { projectRoot } from '../project-paths';
import { openApiToTypeScript } from './openapi-to-typescript';

export const WEB_DIR = join('shared', 'admin-console', 'web');
export const GENERATED_API = join(WEB_DIR, 'generated', 'admin-api.ts');

export function adminOpenApiDocument(): { [key: string]: unknown } {
  // Types only depend on paths and schemas; server URL and audience are placeholders.
  return buildOpenApiDocument(ALL_ADMIN_ROUTES, { serverUrl: '/api', audience: 'api://exchange-connector', version: '0.1.0' });
}

/** Writes the file only when it changed, so tsc's incremental state stays warm. */
function writeIfChanged(path: string, text: string): void {
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

export function writeApiTypes(root: string, document: { [key: string]: unknown } = adminOpenApiDocument()): void {
  writeIfChanged(join(root, GENERATED_API), openApiToTypeScript(document));
}

/** tsc on a web project folder; returns the compiler's output when it fails. */
export function typecheckWeb(webDir: string, root: string): { ok: boolean; output: string } {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(webDir, 'tsconfig.json')], { cwd: root, encoding: 'utf8' });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

function indexHtml(script: string, style: string): string {
  // No inline script or style: the CSP allows only files from this origin.
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Exchange Connector admin</title>
<link rel="stylesheet" href="assets/${style}">
<script type="module" src="assets/${script}"></script>
</head>
<body>
<div id="app"><p class="boot">Loading the Exchange Connector admin console…</p></div>
<noscript>The admin console needs JavaScript.</noscript>
</body>
</html>
`;
}

export async function buildConsole(root: string = projectRoot()): Promise<void> {
  writeApiTypes(root);
  const checked = typecheckWeb(join(root, WEB_DIR), root);
  if (!checked.ok) throw new Error(`The admin console does not type-check against the admin API:\n${checked.output}`);
  const outDir = join(root, 'dist', 'admin-console');
  rmSync(outDir, { recursive: true, force: true });
  const result = await build({
    entryPoints: { app: join(root, WEB_DIR, 'main.tsx') },
    bundle: true,
    format: 'esm',
    target: ['chrome110', 'firefox110', 'safari16'],
    minify: true,
    sourcemap: true,
    entryNames: '[name]-[hash]',
    outdir: join(outDir, 'assets'),
    jsx: 'automatic',
    jsxImportSource: 'preact',
    metafile: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file));
  const script = outputs.find((f) => f.endsWith('.js'));
  const style = outputs.find((f) => f.endsWith('.css'));
  if (!script || !style) throw new Error(`esbuild wrote no script or stylesheet: ${outputs.join(', ')}`);
  writeFileSync(join(outDir, 'index.html'), indexHtml(script, style));
}

if (require.main === module) {
  buildConsole().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
