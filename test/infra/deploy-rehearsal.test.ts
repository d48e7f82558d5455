/**
 * A deploy rehearsal: infra/deploy.sh runs against a stand-in `az` first on PATH, which
 * records every call and answers as az does, including the first-deploy failures: 403 while
 * new role assignments propagate, an unhealthy host until they have, and this environment's
 * Key Vault waiting in soft-deleted state. Waits are set to 0 s so the rehearsal takes
 * seconds. Nothing here reaches Azure.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { projectRoot } from '../../dev/project-paths';

const root = projectRoot();
const scratch = mkdtempSync(join(tmpdir(), 'deploy-rehearsal-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const bash = spawnSync('bash', ['--version'], { encoding: 'utf8' });
const haveBash = bash.status === 0;

/** Secrets a CI job typically has in its environment; none may appear anywhere. */
const SECRETS = {
  AZURE_CLIENT_SECRET: 'ci-client-secret-Zq8~Vn3.xYw',
  CONNECTOR_APP_CLIENT_SECRET: 'connector-secret-Hk2~Pp9.aBc',
  ARM_ACCESS_TOKEN: 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.fake-token',
};

/**
 * The stand-in az. State lives in files under $FAKE_AZ_STATE so it persists across calls and
 * runs, as Azure's does: deleted-vault (name of a soft-deleted vault), zip-403 / health-fails
 * (how many more calls fail), principal-kind (user | servicePrincipal).
 */
const FAKE_AZ = String.raw`#!/usr/bin/env bash
set -u
state="$FAKE_AZ_STATE"
printf '%s\n' "$*" >> "$state/calls.log"
count() { cat "$state/$1" 2>/dev/null || echo 0; }
outputs() {
  cat <<JSON
{
  "azurE_RESOURCE_GROUP": { "type": "String", "value": "rg-rehearsal" },
  "AZURE_FUNCTION_APP_NAME": { "type": "String", "value": "func-abcdefghijklm" },
  "AZURE_STORAGE_ACCOUNT_NAME": { "type": "String", "value": "stabcdefghijklm" },
  "KEY_VAULT_NAME": { "type": "String", "value": "kv-abcdefghijklm" },
  "KEY_VAULT_URL": { "type": "String", "value": "https://kv-abcdefghijklm.vault.azure.net" },
  "PUBLIC_BASE_URL": { "type": "String", "value": "https://func-abcdefghijklm.azurewebsites.net" },
  "ADMIN_API_URL": { "type": "String", "value": "https://func-abcdefghijklm.azurewebsites.net/api/admin" },
  "ADMIN_CONSOLE_URL": { "type": "String", "value": "https://func-abcdefghijklm.azurewebsites.net/api/admin/" },
  "OPENAPI_URL": { "type": "String", "value": "https://func-abcdefghijklm.azurewebsites.net/api/openapi.json" },
  "HEALTH_URL": { "type": "String", "value": "https://func-abcdefghijklm.azurewebsites.net/api/health" },
  "CONSENT_CALLBACK_URL": { "type": "String", "value": "https://func-abcdefghijklm.azurewebsites.net/api/consent/admin/callback" },
  "INVITATION_CALLBACK_URL": { "type": "String", "value": "https://func-abcdefghijklm.azurewebsites.net/api/consent/signin/callback" },
  "CONNECTOR_APP_CLIENT_ID": { "type": "String", "value": "$CONNECTOR_APP_CLIENT_ID" }
}
JSON
}
arg() { # value after the option $1
  local want="$1"; shift
  while [ $# -gt 0 ]; do [ "$1" = "$want" ] && { echo "$2"; return; }; shift; done
}
case "$1 $2" in
  "account show")
    if [ "$(cat "$state/principal-kind" 2>/dev/null)" = servicePrincipal ]; then printf 'servicePrincipal\n0000aaaa-0000-0000-0000-00000000c1c1\n'
    else printf 'user\nalice@contoso.com\n'; fi ;;
  "ad signed-in-user") echo 00000000-0000-0000-0000-0000000000aa ;;
  "ad sp") echo 00000000-0000-0000-0000-0000000000bb ;;
  "keyvault list-deleted")
    case "$*" in *"'$AZURE_ENV_NAME'"*"'$AZURE_LOCATION'"*) cat "$state/deleted-vault" 2>/dev/null ;; esac ;;
  "deployment sub")
    case "$3" in
      create)
        params="$(arg --parameters "$@" | sed 's/^@//')"
        n=$(( $(count deployments) + 1 )); echo "$n" > "$state/deployments"
        cp "$params" "$state/parameters-$n.json"
        value() { node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).parameters[process.argv[2]].value)' "$params" "$1"; }
        mode="$(value keyVaultCreateMode)"
        # A salt gives the vault a new name, which the deleted one does not hold.
        if [ -s "$state/deleted-vault" ] && [ "$mode" != recover ] && [ -z "$(value keyVaultNameSalt)" ]; then
          echo 'ERROR: {"code": "ConflictError", "message": "Exist soft deleted vault with the same name."}' >&2; exit 1
        fi
        if [ "$mode" = recover ] && [ ! -s "$state/deleted-vault" ]; then
          echo 'ERROR: {"code": "NotFound", "message": "No deleted vault to recover."}' >&2; exit 1
        fi
        [ "$mode" = recover ] && rm -f "$state/deleted-vault"
        outputs ;;
      show) outputs ;;
      what-if) echo 'Resource changes: 0 to create, 2 to modify.' ;;
      *) echo "fake az: unexpected deployment call: $*" >&2; exit 2 ;;
    esac ;;
  "functionapp deployment")
    src="$(arg --src "$@")"
    [ -f "$src" ] || { echo "ERROR: no package at $src" >&2; exit 1; }
    if [ "$(count zip-403)" -gt 0 ]; then
      echo $(( $(count zip-403) - 1 )) > "$state/zip-403"
      echo 'ERROR: Status Code: 403, Details: {"Code":"Forbidden","Message":"AuthorizationPermissionMismatch: This request is not authorized to perform this operation using this permission."}' >&2
      exit 1
    fi
    if [ -f "$state/zip-broken" ]; then echo 'ERROR: Status Code: 400, Details: malformed package' >&2; exit 1; fi
    echo '{"status": 4, "complete": true}' ;;
  "functionapp restart") ;;
  "rest --method")
    if [ "$(count health-fails)" -gt 0 ]; then
      echo $(( $(count health-fails) - 1 )) > "$state/health-fails"
      echo 'Service Unavailable({"status":"unhealthy"})' >&2; exit 1
    fi ;;
  *) echo "fake az: unexpected call: $*" >&2; exit 2 ;;
esac
`;

interface Rehearsal {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Every az call of this run, in order, as 'group command' plus arguments. */
  readonly calls: readonly string[];
  readonly state: string;
}

function newStage(name: string, files: Record<string, string> = {}): { state: string; bin: string; work: string; zip: string } {
  const dir = join(scratch, name);
  const state = join(dir, 'state');
  const bin = join(dir, 'bin');
  const work = join(dir, 'work');
  for (const d of [state, bin, work]) mkdirSync(d, { recursive: true });
  writeFileSync(join(bin, 'az'), FAKE_AZ);
  chmodSync(join(bin, 'az'), 0o755);
  for (const [file, text] of Object.entries(files)) writeFileSync(join(state, file), text);
  const zip = join(dir, 'package.zip');
  writeFileSync(zip, 'PK\u0005\u0006' + '\u0000'.repeat(18)); // an empty zip
  return { state, bin, work, zip };
}

function rehearse(stage: ReturnType<typeof newStage>, args: readonly string[], env: Record<string, string> = {}): Rehearsal {
  const before = existsSync(join(stage.state, 'calls.log')) ? readFileSync(join(stage.state, 'calls.log'), 'utf8').split('\n').filter(Boolean).length : 0;
  const run = spawnSync('bash', [join(root, 'infra', 'deploy.sh'), ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      PATH: `${stage.bin}:${process.env.PATH ?? ''}`,
      HOME: process.env.HOME ?? scratch,
      FAKE_AZ_STATE: stage.state,
      DEPLOY_WORK_DIR: stage.work,
      DEPLOY_RETRY_DELAY_SECONDS: '0',
      DEPLOY_RETRY_MAX_DELAY_SECONDS: '0',
      AZURE_ENV_NAME: 'rehearsal',
      AZURE_LOCATION: 'westeurope',
      CONNECTOR_APP_CLIENT_ID: '11111111-2222-3333-4444-555555555555',
      ADMIN_API_AUDIENCE: '22222222-3333-4444-5555-666666666666',
      ...SECRETS,
      ...env,
    },
  });
  const calls = existsSync(join(stage.state, 'calls.log')) ? readFileSync(join(stage.state, 'calls.log'), 'utf8').split('\n').filter(Boolean).slice(before) : [];
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, calls, state: stage.state };
}

/** 'account show', 'deployment sub create', 'functionapp deployment source config-zip', ... */
function shape(call: string): string {
  const words = call.split(' ');
  const verbs = words.findIndex((w) => w.startsWith('-'));
  return words.slice(0, verbs < 0 ? words.length : verbs).join(' ');
}

function parameters(state: string, deployment: number): Record<string, string> {
  const file = JSON.parse(readFileSync(join(state, `parameters-${deployment}.json`), 'utf8')) as { parameters: Record<string, { value: string }> };
  return Object.fromEntries(Object.entries(file.parameters).map(([k, v]) => [k, v.value]));
}

function assertNoSecret(r: Rehearsal, work: string): void {
  const files = readdirSync(work).filter((f) => f.endsWith('.json') || f.endsWith('.log')).map((f) => readFileSync(join(work, f), 'utf8'));
  const stateFiles = readdirSync(r.state).map((f) => readFileSync(join(r.state, f), 'utf8'));
  for (const [name, secret] of Object.entries(SECRETS)) {
    for (const [where, text] of [['stdout', r.stdout], ['stderr', r.stderr], ['az arguments', r.calls.join('\n')], ['work files', files.join('\n')], ['az state', stateFiles.join('\n')]] as const) {
      assert.ok(!text.includes(secret), `${name} appears in ${where}`);
    }
  }
}

const FIRST_DEPLOY = ['account show', 'ad signed-in-user show', 'keyvault list-deleted', 'deployment sub create'];

describe('deploy rehearsal (infra/deploy.sh against a stand-in az)', { skip: haveBash ? false : 'bash is not installed' }, () => {
  test('--dry-run prints every az call in order and makes none', () => {
    const stage = newStage('dry-run');
    const r = rehearse(stage, ['--dry-run']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.calls, [], 'a dry run calls nothing');
    const printed = r.stdout.split('\n').filter((l) => l.startsWith('az ')).map((l) => shape(l.slice('az '.length).replace(/\\/g, '')));
    assert.deepEqual(printed, [...FIRST_DEPLOY, 'functionapp deployment source config-zip', 'rest', 'functionapp restart']);
    assert.match(r.stdout, /retried up to 8 times while it answers 403: the app identity's Storage Blob Data Owner role/);
    assert.match(r.stdout, /Dry run: nothing was changed/);
    assertNoSecret(r, stage.work);
  });

  test('first deploy: recovers the soft-deleted vault, waits out 403 and an unhealthy host; a second run does the same calls once', () => {
    const stage = newStage('first-deploy', { 'deleted-vault': 'kv-abcdefghijklm\n', 'zip-403': '2', 'health-fails': '1' });
    const first = rehearse(stage, ['--package', stage.zip]);
    assert.equal(first.status, 0, first.stderr);
    assert.deepEqual(first.calls.map(shape), [
      ...FIRST_DEPLOY,
      'functionapp deployment source config-zip',
      'functionapp deployment source config-zip',
      'functionapp deployment source config-zip',
      'rest',
      'rest',
    ]);
    assert.match(first.stderr, /kv-abcdefghijklm of environment rehearsal is soft-deleted .*recovering it with its secrets/);
    assert.match(first.stderr, /refused \(403\), attempt 1\/8: waiting 0s for the app identity's Storage Blob Data Owner role on storage account stabcdefghijklm/);
    assert.match(first.stderr, /refused \(403\), attempt 2\/8/);
    assert.match(first.stderr, /not healthy yet, attempt 1\/8: waiting 0s for the Functions host to start \(it needs the app identity's storage roles\)/);
    assert.match(first.stdout, /Exchange Connector is deployed/);
    assert.match(first.stdout, /https:\/\/func-abcdefghijklm\.azurewebsites\.net\/api\/admin\//);
    const p1 = parameters(stage.state, 1);
    assert.equal(p1.keyVaultCreateMode, 'recover');
    assert.equal(p1.principalType, 'User');
    assert.equal(p1.principalId, '00000000-0000-0000-0000-0000000000aa');
    assertNoSecret(first, stage.work);

    // Idempotent: the same command again changes nothing and retries nothing.
    const second = rehearse(stage, ['--package', stage.zip]);
    assert.equal(second.status, 0, second.stderr);
    assert.deepEqual(second.calls.map(shape), [...FIRST_DEPLOY, 'functionapp deployment source config-zip', 'rest']);
    assert.equal(parameters(stage.state, 2).keyVaultCreateMode, 'default', 'the recovered vault is updated normally');
    assert.doesNotMatch(second.stderr, /refused|not healthy|soft-deleted/);
    assertNoSecret(second, stage.work);
  });

  test('without the recovery the deployment fails as Azure does ("soft deleted vault with the same name")', () => {
    const stage = newStage('no-recovery', { 'deleted-vault': 'kv-abcdefghijklm\n' });
    const r = rehearse(stage, ['--package', stage.zip], { KEY_VAULT_CREATE_MODE: 'default' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /soft deleted vault with the same name/);
    assert.ok(!r.calls.some((c) => c.startsWith('keyvault list-deleted')), 'an explicit create mode is respected');
  });

  test('a salt starts a new vault instead: the deleted one is left alone', () => {
    const stage = newStage('salt', { 'deleted-vault': 'kv-abcdefghijklm\n' });
    const r = rehearse(stage, ['--package', stage.zip], { KEY_VAULT_NAME_SALT: 'b2' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(parameters(stage.state, 1).keyVaultCreateMode, 'default');
    assert.equal(parameters(stage.state, 1).keyVaultNameSalt, 'b2');
    assert.doesNotMatch(r.stderr, /recovering/);
    assert.ok(existsSync(join(stage.state, 'deleted-vault')), 'the old vault stays deleted');
  });

  test('a service principal login (CI) becomes the operator with principalType ServicePrincipal', () => {
    const stage = newStage('ci', { 'principal-kind': 'servicePrincipal' });
    const r = rehearse(stage, ['--package', stage.zip]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.calls.slice(0, 2).map(shape), ['account show', 'ad sp show']);
    assert.match(r.calls[1], /--id 0000aaaa-0000-0000-0000-00000000c1c1/);
    const p = parameters(stage.state, 1);
    assert.equal(p.principalType, 'ServicePrincipal');
    assert.equal(p.principalId, '00000000-0000-0000-0000-0000000000bb');
    assertNoSecret(r, stage.work);
  });

  test('403 that outlasts the attempts stops with what it waited for; other errors are not retried', () => {
    const stuck = newStage('stuck', { 'zip-403': '99' });
    const r = rehearse(stuck, ['--package', stuck.zip], { DEPLOY_RETRY_ATTEMPTS: '3' });
    assert.notEqual(r.status, 0);
    assert.equal(r.calls.filter((c) => c.startsWith('functionapp deployment')).length, 3);
    assert.match(r.stderr, /still refused \(403\) after 3 tries: the app identity's Storage Blob Data Owner role .* has not taken effect/);

    const broken = newStage('broken', { 'zip-broken': '' });
    const b = rehearse(broken, ['--package', broken.zip]);
    assert.notEqual(b.status, 0);
    assert.equal(b.calls.filter((c) => c.startsWith('functionapp deployment')).length, 1, 'a 400 is not a propagation delay');
    assert.match(b.stderr, /malformed package/);
  });

  test('--what-if previews and changes nothing; --skip-infra publishes with the last deployment\'s outputs', () => {
    const stage = newStage('what-if-skip-infra');
    const preview = rehearse(stage, ['--what-if']);
    assert.equal(preview.status, 0, preview.stderr);
    assert.deepEqual(preview.calls.map(shape), [...FIRST_DEPLOY.slice(0, 3), 'deployment sub what-if']);
    assert.match(preview.stdout, /Resource changes/);

    const code = rehearse(stage, ['--skip-infra', '--package', stage.zip]);
    assert.equal(code.status, 0, code.stderr);
    assert.deepEqual(code.calls.map(shape), ['deployment sub show', 'functionapp deployment source config-zip', 'rest']);
    assert.match(code.calls[0], /--name exchange-connector-rehearsal/);
  });

  test('a hostile environment value is refused before any az call', () => {
    for (const [name, value] of [
      ['AZURE_ENV_NAME', "prod' || true; touch pwned #"],
      ['AZURE_LOCATION', 'westeurope && az group delete'],
      ['KEY_VAULT_NAME_SALT', '.*|x'],
      ['AZURE_PRINCIPAL_TYPE', 'Owner'],
      ['CONNECTOR_APP_CLIENT_ID', '$(id)'],
      ['ADMIN_API_AUDIENCE', 'api://x; az group delete'],
    ] as const) {
      const stage = newStage(`hostile-${name}`);
      const r = rehearse(stage, ['--package', stage.zip], { [name]: value });
      assert.notEqual(r.status, 0, name);
      assert.match(r.stderr, new RegExp(`${name} must be`), name);
      assert.deepEqual(r.calls, [], `${name}: no az call may be made`);
      assert.ok(!existsSync(join(root, 'pwned')) && !existsSync(join(stage.work, 'pwned')));
    }
  });

  test('the package holds exactly the built app and production dependencies, and azd publishes that package as it is', () => {
    // A stand-in npm: records its calls; `npm ci --omit=dev` makes an empty node_modules, and
    // NODE_PATH lets the package's require check resolve modules without the registry (and
    // without zipping the project's development dependencies).
    const stage = newStage('staging');
    writeFileSync(
      join(stage.bin, 'npm'),
      `#!/usr/bin/env bash\nprintf '%s | %s\\n' "$PWD" "$*" >> "${join(stage.state, 'npm.log')}"\n` +
        `case "$*" in *--omit=dev*) mkdir -p node_modules ;; esac\n`,
    );
    chmodSync(join(stage.bin, 'npm'), 0o755);
    const r = rehearse(stage, ['--stage-only', '--skip-build'], { NODE_PATH: join(root, 'node_modules') });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.calls, [], '--stage-only needs no az');
    const npm = readFileSync(join(stage.state, 'npm.log'), 'utf8').trim().split('\n');
    assert.deepEqual(npm, [`${join(stage.work, 'package')} | ci --omit=dev --ignore-scripts --no-audit --no-fund`]);
    const pkg = join(stage.work, 'package');
    assert.deepEqual(readdirSync(pkg).sort(), ['dist', 'host.json', 'node_modules', 'package-lock.json', 'package.json']);
    assert.ok(existsSync(join(pkg, 'dist', 'functions', 'health.js')));
    assert.ok(!existsSync(join(pkg, 'dist', 'dev')) && !existsSync(join(pkg, 'dist', 'test')), 'no local stand-ins or tests in the package');
    const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { scripts?: unknown; dependencies?: unknown };
    assert.equal(manifest.scripts, undefined, 'nothing in the package can start a build');
    assert.ok(existsSync(join(stage.work, 'package.zip')));

    const azureYaml = readFileSync(join(root, 'azure.yaml'), 'utf8');
    assert.match(azureYaml, /^\s+dist: \.deploy\/package$/m);
    assert.match(azureYaml, /^\s+remoteBuild: false$/m, 'azd must not remote-build (it would install devDependencies)');
    assert.match(azureYaml, /^\s+run: infra\/deploy\.sh --stage-only$/m);
  });

  test('a host that stays unhealthy is restarted once, then the run gives up after the attempts', () => {
    const stage = newStage('unhealthy', { 'health-fails': '99' });
    const r = rehearse(stage, ['--package', stage.zip], { DEPLOY_RETRY_ATTEMPTS: '4' });
    assert.notEqual(r.status, 0);
    assert.deepEqual(r.calls.slice(FIRST_DEPLOY.length).map(shape), ['functionapp deployment source config-zip', 'rest', 'rest', 'rest', 'functionapp restart', 'rest']);
    assert.match(r.stderr, /does not answer healthy after 4 tries/);
  });
});
