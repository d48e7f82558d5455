#!/usr/bin/env bash
# Provision Exchange Connector in Azure and deploy the app, with the az CLI only.
#
#   AZURE_ENV_NAME=prod AZURE_LOCATION=westeurope CONNECTOR_APP_CLIENT_ID=<guid> ADMIN_API_AUDIENCE=<guid> infra/deploy.sh
#
# Steps: 1) who deploys (user or service principal) and whether this environment's Key Vault
# is soft-deleted (then it is recovered); 2) az deployment sub create (infra/main.bicep,
# parameters from infra/main.parameters.json with ${VAR} / ${VAR=default} taken from the
# environment, as azd does); 3) npm ci + npm run build, then a staging folder with the compiled
# app and production dependencies only, zipped; 4) az functionapp deployment source config-zip,
# retried while the new role assignments propagate (403); 5) the app's health endpoint, retried
# the same way; 6) prints the URLs to register in Entra.
# `--dry-run` prints every az call in order instead of making it. docs/deployment.md describes
# every variable and the Entra steps before and after.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: infra/deploy.sh [--dry-run] [--what-if] [--skip-infra] [--skip-code] [--stage-only]
                       [--skip-build] [--package <zip>]

Environment:
  AZURE_ENV_NAME           required  environment name (resource names, tags)
  AZURE_LOCATION           required  Azure region offering Flex Consumption (main.bicep lists them)
  CONNECTOR_APP_CLIENT_ID  required  client id of the multi-tenant connector Entra app
  ADMIN_API_AUDIENCE       required  client id of the admin API app (aud of its v2.0 tokens)
  AZURE_SUBSCRIPTION_ID    optional  subscription to use (default: az account show)
  AZURE_RESOURCE_GROUP     optional  resource group name (default: rg-<AZURE_ENV_NAME>)
  AZURE_PRINCIPAL_ID       optional  object id that gets Key Vault Administrator
                                     (default: whoever is signed in, user or service principal;
                                     set it empty for nobody)
  AZURE_PRINCIPAL_TYPE     optional  User | ServicePrincipal | Group (default: detected, else User)
  KEY_VAULT_NAME_SALT      optional  up to 7 letters/digits: a new vault name kv-<token>-<salt>
  KEY_VAULT_CREATE_MODE    optional  default | recover (default: recover when this environment's
                                     vault is soft-deleted, else default)
  ADMIN_API_TENANT_ID      optional  default: the subscription's tenant
  ADMIN_CONSOLE_CLIENT_ID  optional  client id the admin console signs in as: the admin API app's (docs/deployment.md)
  CUSTOM_PUBLIC_BASE_URL   optional  https origin of a custom domain in front of the app
  DEPLOY_RETRY_ATTEMPTS    optional  tries while roles propagate (default 8)
  DEPLOY_RETRY_DELAY_SECONDS      optional  first wait (default 15), doubled each time
  DEPLOY_RETRY_MAX_DELAY_SECONDS  optional  longest single wait (default 120)
  DEPLOY_WORK_DIR          optional  scratch folder (default .deploy)

Options:
  --dry-run     print every az call this run would make, in order, and make none
  --what-if     show what the deployment would change, then stop
  --skip-infra  reuse the outputs of the last deployment of this environment
  --skip-code   provision only
  --stage-only  build the deployment package (.deploy/package.zip) and stop (no az needed)
  --skip-build  use the existing dist/ (no npm ci / npm run build in the project)
  --package F   publish the zip F (built elsewhere, e.g. by CI) instead of building one
USAGE
}

die() { echo "deploy: $*" >&2; exit 1; }
say() { echo "deploy: $*" >&2; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is required but not on PATH"; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${DEPLOY_WORK_DIR:-$ROOT/.deploy}"
PACKAGE_DIR="$WORK/package"
PACKAGE_ZIP="$WORK/package.zip"
RETRY_ATTEMPTS="${DEPLOY_RETRY_ATTEMPTS:-8}"
RETRY_DELAY="${DEPLOY_RETRY_DELAY_SECONDS:-15}"
RETRY_MAX_DELAY="${DEPLOY_RETRY_MAX_DELAY_SECONDS:-120}"

dry_run=false what_if=false skip_infra=false skip_code=false stage_only=false skip_build=false
prebuilt_package=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=true ;;
    --what-if) what_if=true ;;
    --skip-infra) skip_infra=true ;;
    --skip-code) skip_code=true ;;
    --stage-only) stage_only=true ;;
    --skip-build) skip_build=true ;;
    --package) shift; [ $# -gt 0 ] || die "--package needs a zip file"; prebuilt_package="$1" ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done

# --- az: every call goes through here, so --dry-run can print them all -------------------
# In a dry run nothing is called: each call is printed (shell-quoted, copy-pasteable) and a
# placeholder answer stands in for what az would return.
# The printed calls go to fd 3 (the script's stdout) so that a caller capturing the answer,
# as in outputs="$(az_call ...)", still gets only the answer.
exec 3>&1
az_call() {
  if [ "$dry_run" = true ]; then
    { printf 'az'; printf ' %q' "$@"; printf '\n'; } >&3
    dry_answer "$@"
    return 0
  fi
  az "$@"
}

dry_answer() {
  case "$1 ${2:-}" in
    "account show") printf 'user\n<signed-in user>\n' ;;
    "ad signed-in-user") echo '<object id of the signed-in user>' ;;
    "ad sp") echo '<object id of the service principal>' ;;
    "deployment sub") placeholder_outputs ;;
    *) : ;;
  esac
}

placeholder_outputs() {
  node -e '
    const names = process.argv.slice(1);
    console.log(JSON.stringify(Object.fromEntries(names.map((n) => [n, { type: "String", value: "<" + n + ">" }])), null, 2));
  ' AZURE_RESOURCE_GROUP AZURE_FUNCTION_APP_NAME KEY_VAULT_NAME KEY_VAULT_URL PUBLIC_BASE_URL ADMIN_API_URL \
    ADMIN_CONSOLE_URL OPENAPI_URL HEALTH_URL CONSENT_CALLBACK_URL INVITATION_CALLBACK_URL CONNECTOR_APP_CLIENT_ID \
    AZURE_STORAGE_ACCOUNT_NAME
}

# The back-off both waits share: sleep $delay, count the attempt, double the delay up to
# RETRY_MAX_DELAY (the caller's `attempt` and `delay`).
back_off() {
  sleep "$delay"
  attempt=$((attempt + 1))
  delay=$((delay * 2))
  [ "$delay" -le "$RETRY_MAX_DELAY" ] || delay="$RETRY_MAX_DELAY"
}

# Runs an az call until it succeeds, while its failure says a role assignment has not reached
# the service yet (RBAC propagation takes seconds to minutes). Waits double from
# RETRY_DELAY up to RETRY_MAX_DELAY; at most RETRY_ATTEMPTS tries. Any other failure stops at
# once. $1: what is being waited for (said on every wait); the rest: the az arguments.
az_until_authorized() {
  local waiting_for="$1"; shift
  if [ "$dry_run" = true ]; then
    az_call "$@"
    echo "# (retried up to $RETRY_ATTEMPTS times while it answers 403: $waiting_for)" >&3
    return 0
  fi
  local attempt=1 delay="$RETRY_DELAY" log="$WORK/az-call.log"
  while true; do
    if az "$@" >"$log" 2>&1; then
      cat "$log"
      return 0
    fi
    if ! grep -Eqi '403|Forbidden|AuthorizationPermissionMismatch|AuthorizationFailure|not authorized|does not have authorization' "$log"; then
      cat "$log" >&2
      return 1
    fi
    if [ "$attempt" -ge "$RETRY_ATTEMPTS" ]; then
      cat "$log" >&2
      say "still refused (403) after $attempt tries: $waiting_for has not taken effect; run the same command again in a few minutes"
      return 1
    fi
    say "refused (403), attempt $attempt/$RETRY_ATTEMPTS: waiting ${delay}s for $waiting_for"
    back_off
  done
}

# --- build: compiled app + production dependencies, nothing else -------------------------
stage_package() {
  need node; need npm
  cd "$ROOT"
  if [ "$skip_build" = false ]; then
    npm ci --no-audit --no-fund
    npm run build
  fi
  [ -d dist/functions ] || die "dist/functions is missing: run npm run build"
  rm -rf "$PACKAGE_DIR" "$PACKAGE_ZIP"
  mkdir -p "$PACKAGE_DIR/dist"
  cp host.json package-lock.json "$PACKAGE_DIR/"
  # Everything tsc emitted except the local stand-ins and the tests.
  for dir in dist/*/; do
    case "$(basename "$dir")" in dev|test) ;; *) cp -R "$dir" "$PACKAGE_DIR/dist/" ;; esac
  done
  # package.json without scripts: nothing in the package can start a build. devDependencies
  # stay listed (npm ci needs package.json and the lock file to agree) but are not installed.
  node -e '
    const fs = require("fs");
    const pkg = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    delete pkg.scripts;
    fs.writeFileSync(process.argv[2], JSON.stringify(pkg, null, 2) + "\n");
  ' package.json "$PACKAGE_DIR/package.json"
  (cd "$PACKAGE_DIR" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund)
  # The package must load on its own: every function file resolves its imports.
  (cd "$PACKAGE_DIR" && node -e '
    const fs = require("fs"), path = require("path");
    const dir = path.resolve("dist/functions");
    for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".js"))) {
      try { require(path.join(dir, f)); }
      catch (e) {
        if (e && e.code === "MODULE_NOT_FOUND") { console.error("deploy: " + f + ": " + e.message); process.exit(1); }
      }
    }
  ')
  if command -v zip >/dev/null 2>&1; then
    (cd "$PACKAGE_DIR" && zip -qr "$PACKAGE_ZIP" .)
  else
    need python3
    python3 - "$PACKAGE_DIR" "$PACKAGE_ZIP" <<'PY'
import os, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for base, _, files in os.walk(src):
        for name in files:
            full = os.path.join(base, name)
            z.write(full, os.path.relpath(full, src))
PY
  fi
  say "package $PACKAGE_ZIP ($(du -h "$PACKAGE_ZIP" | cut -f1))"
}

# ${VAR} and ${VAR=default} from the environment, as azd substitutes main.parameters.json.
resolve_parameters() {
  node -e '
    const fs = require("fs");
    const text = fs.readFileSync(process.argv[1], "utf8");
    const resolved = text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:=([^}]*))?\}/g,
      (_, name, fallback) => JSON.stringify(process.env[name] || fallback || "").slice(1, -1));
    fs.writeFileSync(process.argv[2], resolved);
  ' "$ROOT/infra/main.parameters.json" "$WORK/main.parameters.json"
}

# Output names as main.bicep declares them; ARM may change their case, so they are matched
# upper-cased. Converted once to name<TAB>value lines (one node start, not one per value; awk
# reads them, and bash 3.2 on macOS has no associative arrays).
load_outputs() {
  node -e '
    const outputs = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const [k, v] of Object.entries(outputs)) console.log(k.toUpperCase() + "\t" + String(v.value).replace(/[\t\n]/g, " "));
  ' "$WORK/outputs.json" > "$WORK/outputs.tsv"
}
output() {
  awk -F '\t' -v name="$1" '$1 == name { print $2; found = 1 } END { exit !found }' "$WORK/outputs.tsv" ||
    die "deployment output $1 is missing (infra/main.bicep declares it)"
}

# Who deploys: a user login has a signed-in user; a service principal login (CI, workload
# identity federation) has none, so its object id comes from its app id.
detect_principal() {
  if [ -n "${AZURE_PRINCIPAL_ID+set}" ]; then
    AZURE_PRINCIPAL_TYPE="${AZURE_PRINCIPAL_TYPE:-User}"
    return
  fi
  local account kind name
  account="$(az_call account show --query '[user.type, user.name]' --output tsv)"
  kind="$(printf '%s\n' "$account" | sed -n 1p)"
  name="$(printf '%s\n' "$account" | sed -n 2p)"
  if [ "$kind" = servicePrincipal ]; then
    AZURE_PRINCIPAL_ID="$(az_call ad sp show --id "$name" --query id --output tsv 2>/dev/null || true)"
    AZURE_PRINCIPAL_TYPE="${AZURE_PRINCIPAL_TYPE:-ServicePrincipal}"
  else
    AZURE_PRINCIPAL_ID="$(az_call ad signed-in-user show --query id --output tsv 2>/dev/null || true)"
    AZURE_PRINCIPAL_TYPE="${AZURE_PRINCIPAL_TYPE:-User}"
  fi
  [ -n "$AZURE_PRINCIPAL_ID" ] || say "could not find the signed-in principal's object id: nobody gets Key Vault Administrator (docs/deployment.md)"
}

# Purge protection keeps a deleted vault's name for 90 days, so re-provisioning a deleted
# environment fails with "vault exists in deleted state". The vault of this environment is the
# one tagged with its name, in its region, named kv-<13 characters>[-<salt>] (the token is
# uniqueString(subscription, environment, region), the same for the same three). Found, it is
# recovered with its secrets (KEY_VAULT_CREATE_MODE=recover); to start over with an empty vault
# instead, set KEY_VAULT_NAME_SALT.
detect_deleted_vault() {
  if [ -n "${KEY_VAULT_CREATE_MODE:-}" ]; then return; fi
  KEY_VAULT_CREATE_MODE=default
  local salt pattern deleted name
  salt="$(printf '%s' "${KEY_VAULT_NAME_SALT:-}" | tr '[:upper:]' '[:lower:]')"
  pattern="^kv-[a-z0-9]{13}${salt:+-$salt}\$"
  if ! deleted="$(az_call keyvault list-deleted --resource-type vault \
      --query "[?properties.tags.\"azd-env-name\"=='$AZURE_ENV_NAME' && properties.location=='$AZURE_LOCATION'].name" \
      --output tsv)"; then
    say "could not list deleted Key Vaults (needs Microsoft.KeyVault/locations/deletedVaults/read): assuming none"
    return
  fi
  name="$(printf '%s\n' "$deleted" | grep -E "$pattern" | head -n 1 || true)"
  if [ -n "$name" ]; then
    KEY_VAULT_CREATE_MODE=recover
    say "Key Vault $name of environment $AZURE_ENV_NAME is soft-deleted (purge protection keeps its name): recovering it with its secrets. For a new, empty vault instead set KEY_VAULT_NAME_SALT."
  fi
}

mkdir -p "$WORK"
if [ "$stage_only" = true ]; then
  stage_package
  exit 0
fi

need node
if [ "$dry_run" = true ]; then
  say "dry run: printing every az call instead of making it"
  AZURE_ENV_NAME="${AZURE_ENV_NAME:-<AZURE_ENV_NAME>}"
  AZURE_LOCATION="${AZURE_LOCATION:-<AZURE_LOCATION>}"
  CONNECTOR_APP_CLIENT_ID="${CONNECTOR_APP_CLIENT_ID:-<CONNECTOR_APP_CLIENT_ID>}"
  ADMIN_API_AUDIENCE="${ADMIN_API_AUDIENCE:-<ADMIN_API_AUDIENCE>}"
else
  need az
fi
: "${AZURE_ENV_NAME:?set AZURE_ENV_NAME (see infra/deploy.sh --help)}"
: "${AZURE_LOCATION:?set AZURE_LOCATION (see infra/deploy.sh --help)}"
# These values end up in az arguments, JMESPath queries and a grep pattern: only their plain
# forms pass, so a quote or a shell character in one cannot change what is called.
check_value() { # name, value, extended regex, what it must be
  case "$2" in "<$1>") return ;; esac # a dry run's placeholder
  [[ "$2" =~ ^($3)$ ]] || die "$1 must be $4 (got '$2')"
}
check_value AZURE_ENV_NAME "$AZURE_ENV_NAME" '[A-Za-z0-9-]{1,64}' 'letters, digits and hyphens, at most 64'
check_value AZURE_LOCATION "$AZURE_LOCATION" '[a-z0-9]+' 'a region name such as westeurope'
check_value CONNECTOR_APP_CLIENT_ID "${CONNECTOR_APP_CLIENT_ID:-}" '([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?' 'a client id (GUID)'
check_value ADMIN_API_AUDIENCE "${ADMIN_API_AUDIENCE:-}" '([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?' 'the admin API app client id (GUID)'
check_value KEY_VAULT_NAME_SALT "${KEY_VAULT_NAME_SALT:-}" '[A-Za-z0-9]{0,7}' 'up to 7 letters and digits'
check_value KEY_VAULT_CREATE_MODE "${KEY_VAULT_CREATE_MODE:-}" '(default|recover)?' 'default or recover'
check_value AZURE_PRINCIPAL_TYPE "${AZURE_PRINCIPAL_TYPE:-}" '(User|ServicePrincipal|Group)?' 'User, ServicePrincipal or Group'
check_value AZURE_PRINCIPAL_ID "${AZURE_PRINCIPAL_ID:-}" '([0-9a-fA-F-]{36})?' 'an object id (GUID) or empty'
if [ -n "${AZURE_SUBSCRIPTION_ID:-}" ]; then az_call account set --subscription "$AZURE_SUBSCRIPTION_ID"; fi
deployment_name="exchange-connector-$AZURE_ENV_NAME"

if [ "$skip_infra" = false ]; then
  : "${CONNECTOR_APP_CLIENT_ID:?set CONNECTOR_APP_CLIENT_ID (client id of the connector Entra app)}"
  : "${ADMIN_API_AUDIENCE:?set ADMIN_API_AUDIENCE (client id of the admin API app; its v2.0 tokens carry it as aud)}"
  detect_principal
  detect_deleted_vault
  export AZURE_ENV_NAME AZURE_LOCATION CONNECTOR_APP_CLIENT_ID ADMIN_API_AUDIENCE AZURE_PRINCIPAL_ID AZURE_PRINCIPAL_TYPE KEY_VAULT_CREATE_MODE
  resolve_parameters
  common=(--name "$deployment_name" --location "$AZURE_LOCATION"
          --template-file "$ROOT/infra/main.bicep" --parameters "@$WORK/main.parameters.json")
  if [ "$what_if" = true ]; then
    az_call deployment sub what-if "${common[@]}"
    exit 0
  fi
  say "provisioning $deployment_name in $AZURE_LOCATION (Key Vault create mode: $KEY_VAULT_CREATE_MODE, operator: ${AZURE_PRINCIPAL_TYPE})"
  az_call deployment sub create "${common[@]}" --query properties.outputs --output json > "$WORK/outputs.json"
else
  az_call deployment sub show --name "$deployment_name" --query properties.outputs --output json > "$WORK/outputs.json"
fi

load_outputs
resource_group="$(output AZURE_RESOURCE_GROUP)"
function_app="$(output AZURE_FUNCTION_APP_NAME)"
key_vault="$(output KEY_VAULT_NAME)"
storage_account="$(output AZURE_STORAGE_ACCOUNT_NAME)"

if [ "$skip_code" = false ]; then
  package="$PACKAGE_ZIP"
  if [ -n "$prebuilt_package" ]; then
    [ -f "$prebuilt_package" ] || die "--package $prebuilt_package: no such file"
    package="$prebuilt_package"
  elif [ "$dry_run" = true ]; then
    echo "# (would build and stage $PACKAGE_ZIP: npm ci, npm run build, production dependencies only)"
  else
    stage_package
  fi
  say "publishing to $function_app"
  # The CLI hands the package to the app, which writes it to its deployment container as the
  # managed identity: until that identity's Storage Blob Data Owner has propagated, 403.
  az_until_authorized "the app identity's Storage Blob Data Owner role on storage account $storage_account (deployment container)" \
    functionapp deployment source config-zip --resource-group "$resource_group" --name "$function_app" --src "$package"

  # The Functions host needs its storage (host lock, keys, leases) as the same identity to start;
  # a host that started before those roles propagated answers 5xx ("host is not running") until
  # it restarts and tries again. /api/health is liveness only: it shows the host runs and the
  # app loaded, not that Key Vault answers.
  health_url="$(output HEALTH_URL)"
  say "checking $health_url"
  if [ "$dry_run" = true ]; then
    az_call rest --method get --url "$health_url" --skip-authorization-header --output none
    echo "# (retried up to $RETRY_ATTEMPTS times; after the third failure the app is restarted once:)"
    az_call functionapp restart --resource-group "$resource_group" --name "$function_app"
  else
    attempt=1 delay="$RETRY_DELAY" restarted=false
    until az rest --method get --url "$health_url" --skip-authorization-header --output none >"$WORK/health.log" 2>&1; do
      if [ "$attempt" -ge "$RETRY_ATTEMPTS" ]; then
        cat "$WORK/health.log" >&2
        die "the app does not answer healthy after $attempt tries: see its logs in Application Insights ($function_app); run infra/deploy.sh --skip-infra once they are fixed"
      fi
      if [ "$attempt" -ge 3 ] && [ "$restarted" = false ]; then
        say "restarting $function_app so its host retries its storage with the propagated roles"
        az functionapp restart --resource-group "$resource_group" --name "$function_app"
        restarted=true
      fi
      say "not healthy yet, attempt $attempt/$RETRY_ATTEMPTS: waiting ${delay}s for the Functions host to start (it needs the app identity's storage roles)"
      back_off
    done
    say "healthy"
  fi
fi

if [ "$dry_run" = true ]; then headline="Dry run: nothing was changed. After a real run:"; else headline="Exchange Connector is deployed."; fi
cat <<DONE

$headline
  Function App        $function_app (resource group $resource_group)
  Admin API           $(output ADMIN_API_URL)
  Admin console       $(output ADMIN_CONSOLE_URL)
  OpenAPI document    $(output OPENAPI_URL)
  Key Vault           $(output KEY_VAULT_URL)

Register these redirect URIs (platform "Web") on the connector app $(output CONNECTOR_APP_CLIENT_ID):
  $(output CONSENT_CALLBACK_URL)
  $(output INVITATION_CALLBACK_URL)

Register the admin console's sign-in address (platform "Single-page application") on the admin API app:
  $(output ADMIN_CONSOLE_URL)

Store the connector app's client secret in Key Vault (never in app settings):
  read -rs CONNECTOR_SECRET && az keyvault secret set --vault-name $key_vault \\
    --name connector-app-client-secret --value "\$CONNECTOR_SECRET" --output none; unset CONNECTOR_SECRET
DONE
