/**
 * `npm run docs:settings`: writes the settings catalogue (shared/config/settings-catalogue.ts)
 * into README.md's settings table and local.settings.example.json, so neither drifts from what
 * the configuration module validates. test/config/settings-documented.test.ts checks both.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SETTINGS } from '../shared/config';
import { projectRoot } from './project-paths';

export const TABLE_START = '<!-- settings:start -->';
export const TABLE_END = '<!-- settings:end -->';

export function settingsTable(): string {
  const rows = SETTINGS.map((s) => `| \`${s.name}\` | ${s.requiredInAzure ? 'yes' : 'no'} | ${s.defaultValue ? `\`${s.defaultValue}\`` : ''} | ${s.description.replace(/\|/g, '\\|')} |`);
  return ['| Setting | Set in Azure | Default | What it is |', '|---|---|---|---|', ...rows].join('\n');
}

export function localSettingsExample(): string {
  const values: Record<string, string> = { FUNCTIONS_WORKER_RUNTIME: 'node', AzureWebJobsFeatureFlags: 'EnableWorkerIndexing' };
  for (const setting of SETTINGS) {
    const value = setting.localExample ?? setting.defaultValue;
    if (value !== undefined) values[setting.name] = value;
  }
  return JSON.stringify({ IsEncrypted: false, Values: values, Host: { LocalHttpPort: 7071 } }, null, 2) + '\n';
}

function main(): void {
  const root = projectRoot();
  const readmePath = join(root, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${TABLE_START} ... ${TABLE_END} block`);
  writeFileSync(readmePath, `${readme.slice(0, start + TABLE_START.length)}\n${settingsTable()}\n${readme.slice(end)}`);
  writeFileSync(join(root, 'local.settings.example.json'), localSettingsExample());
  console.log('README.md settings table and local.settings.example.json written from the settings catalogue.');
}

if (require.main === module) main();
