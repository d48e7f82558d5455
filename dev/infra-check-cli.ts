/**
 * `npm run infra:check`: every resource body in infra/ against Azure's Bicep type definitions
 * (dev/azure-type-check.ts), `bicep build` where a compiler exists, and the Bicep against the
 * code (dev/infra-check.ts). Prints one line per finding (file:line, rule, resource, property
 * path, what the type expects) and exits 1 on any finding.
 */
import { join } from 'node:path';
import { SETTINGS } from '../shared/config/settings-catalogue';
import { ROLE_NEED_RULES } from '../test/infra/role-needs';
import { checkAzureTypes, UNVERIFIED_TYPES } from './azure-type-check';
import { buildBicep, checkInfrastructure, deriveRoleNeeds, type Finding } from './infra-check';
import { azureTypesDir, projectRoot } from './project-paths';

function main(): void {
  const root = projectRoot();
  const infraDir = join(root, 'infra');

  const typesDir = azureTypesDir();
  const types = checkAzureTypes(infraDir, typesDir);
  console.log(`type check: ${types.resourcesChecked} resources against the Azure type definitions in ${typesDir}`);
  for (const finding of types.unverified) console.log(`UNVERIFIED infra/${finding.file}:${finding.line}: ${finding.message}`);
  if (types.unverified.length > 0) {
    console.log(`${types.unverified.length} resource${types.unverified.length === 1 ? '' : 's'} NOT verified: ../shared/azure-types has no definitions for ${Object.keys(UNVERIFIED_TYPES).join(', ')} (listed in dev/azure-type-check.ts UNVERIFIED_TYPES; add their types files to ../shared to check them)`);
  }

  const build = buildBicep(join(infraDir, 'main.bicep'));
  if (build.status === 'skipped') console.log(`bicep build: skipped: ${build.reason}`);
  else console.log(`bicep build (${build.tool}): ${build.status}${build.output ? '\n' + build.output : ''}`);

  const needs = deriveRoleNeeds([join(root, 'shared'), join(root, 'functions')], ROLE_NEED_RULES, root);
  const report = checkInfrastructure({ infraDir, settings: SETTINGS, roleNeeds: needs });
  console.log(
    `cross-check: ${report.model.files.length} Bicep files, ${report.model.resources.length} resources, ` +
      `${report.model.appSettings.length} app settings, ${report.model.roleAssignments.length} role assignments`,
  );
  for (const need of needs) console.log(`  needs ${need.role.name}: ${need.evidence.join(', ')}`);

  const findings: readonly Finding[] = [...types.findings, ...report.findings];
  for (const finding of findings) {
    console.log(`infra/${finding.file}${finding.line ? `:${finding.line}` : ''}: ${finding.rule}: ${finding.message}`);
  }
  console.log(`${findings.length} finding${findings.length === 1 ? '' : 's'}`);
  const failed = build.status === 'failed' || findings.length > 0;
  console.log(failed ? 'infra:check FAILED' : 'infra:check passed');
  process.exitCode = failed ? 1 : 0;
}

main();
