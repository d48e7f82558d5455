import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { projectRoot } from '../../dev/project-paths';
import { localSettingsExample, settingsTable, TABLE_END, TABLE_START } from '../../dev/write-settings-docs';

const root = projectRoot();
const FIX = 'run `npm run docs:settings` after changing shared/config/settings-catalogue.ts';

test('local.settings.example.json is the settings catalogue as written by docs:settings', () => {
  assert.equal(readFileSync(join(root, 'local.settings.example.json'), 'utf8'), localSettingsExample(), FIX);
});

test('the README documents every setting, as the catalogue describes it', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const block = readme.slice(readme.indexOf(TABLE_START) + TABLE_START.length, readme.indexOf(TABLE_END)).trim();
  assert.equal(block, settingsTable(), FIX);
});
