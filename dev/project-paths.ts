import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The project's root: the folder holding package.json above this compiled file. */
export function projectRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above ' + __dirname);
    dir = parent;
  }
  return dir;
}

/** Microsoft's EWS schema: EWS_SCHEMA_DIR, else ../shared/ews-schema beside the project; undefined when absent. */
export function ewsSchemaDir(): string | undefined {
  const candidates = [process.env.EWS_SCHEMA_DIR, resolve(projectRoot(), '..', 'shared', 'ews-schema')];
  return candidates.find((dir): dir is string => !!dir && existsSync(join(dir, 'ews-validate.xsd')));
}

/** Microsoft Graph's v1.0 CSDL: GRAPH_SCHEMA_DIR, else ../shared/graph-schema beside the project; undefined when absent. */
export function graphSchemaDir(): string | undefined {
  const candidates = [process.env.GRAPH_SCHEMA_DIR, resolve(projectRoot(), '..', 'shared', 'graph-schema')];
  return candidates.find((dir): dir is string => !!dir && existsSync(join(dir, 'v1.0.csdl')));
}

/** Azure's Bicep type definitions: AZURE_TYPES_DIR, else ../shared/azure-types beside the project. */
export function azureTypesDir(): string {
  return process.env.AZURE_TYPES_DIR ?? resolve(projectRoot(), '..', 'shared', 'azure-types');
}
