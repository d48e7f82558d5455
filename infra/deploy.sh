#!/usr/bin/env bash
# Provision Exchange Connector in Azure and deploy the app, with the az CLI only.
#
#   AZURE_ENV_NAME=prod AZURE_LOCATION=westeurope CONNECTOR_APP_CLIENT_ID=<guid> infra/deploy.sh
#
# Steps: 1) az deployment sub create (infra/main.bicep, parameters from infra/main.parameters.json
# with ${VAR} / ${VAR=default} taken from the environment, as azd does); 2) npm ci + npm run build,
# then a staging folder with the compiled app and production dependencies only, zipped;
# 3) az functionapp deployment source config-zip (on Flex Consumption the CLI publishes the
# package through the app's deployment container); 4) prints the URLs to register in Entra.
# docs/deployment.md describes every variable and the Entra steps before and after.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: infra/deploy.sh [--what-if] [--skip-infra] [--skip-code] [--stage-only] [--skip-build]

Environment:
  AZURE_ENV_NAME           required  environment name (resource names, tags)
  AZURE_LOCATION           required  Azure region offering Flex Consumption
  CONNECTOR_APP_CLIENT_ID  required  client id of the multi-tenant connector Entra app
  AZURE_SUBSCRIPTION_ID    optional  subscription to use (default: az account show)
  AZURE_RESOURCE_GROUP     optional  resource group name (default: rg-<AZURE_ENV_NAME>)
  AZURE_PRINCIPAL_ID       optional  object id that gets Key Vault Administrator
                                     (default: the signed-in user; empty for none)
  AZURE_PRINCIPAL_TYPE     optional  User | Group | ServicePrincipal (default: User)
  ADMIN_API_AUDIENCE       optional  default api://exchange-connector
  ADMIN_API_TENANT_ID      optional  default: the subscription's tenant
  ADMIN_CONSOLE_CLIENT_ID  optional  client id of the admin console's SPA app (docs/deployment.md)
  CUSTOM_PUBLIC_BASE_URL   optional  https origin of a custom domain in front of the app

Options:
  --what-if     show what the deployment would change, then stop
  --skip-infra  reuse the outputs of the last deployment of this environment
  --skip-code   provision only
  --stage-only  build the deployment package (.deploy/package.zip) and stop (no az needed)
  --skip-build  use the existing dist/ (no npm ci / npm run build in the project)
USAGE
}

die() { echo "deploy: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is required but not on PATH"; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$ROOT/.deploy"
PACKAGE_DIR="$WORK/package"
PACKAGE_ZIP="$WORK/package.zip"

what_if=false skip_infra=false skip_code=false stage_only=false skip_build=false
for arg in "$@"; do
  case "$arg" in
    --what-if) what_if=true ;;
    --skip-infra) skip_infra=true ;;
    --skip-code) skip_code=true ;;
    --stage-only) stage_only=true ;;
    --skip-build) skip_build=true ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $arg" ;;
  esac
done

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
  # package.json without scripts: a remote build (azd) must not try to run tsc on the package.
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
  echo "deploy: package $PACKAGE_ZIP ($(du -h "$PACKAGE_ZIP" | cut -f1))"
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

# Output names as main.bicep declares them; ARM may change their case, so match loosely.
output() {
  node -e '
    const outputs = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const key = Object.keys(outputs).find((k) => k.toLowerCase() === process.argv[2].toLowerCase());
    if (!key) { console.error("deploy: deployment output " + process.argv[2] + " is missing"); process.exit(1); }
    console.log(outputs[key].value);
  ' "$WORK/outputs.json" "$1"
}

mkdir -p "$WORK"
if [ "$stage_only" = true ]; then
  stage_package
  exit 0
fi

need az; need node
: "${AZURE_ENV_NAME:?set AZURE_ENV_NAME (see infra/deploy.sh --help)}"
: "${AZURE_LOCATION:?set AZURE_LOCATION (see infra/deploy.sh --help)}"
if [ -n "${AZURE_SUBSCRIPTION_ID:-}" ]; then az account set --subscription "$AZURE_SUBSCRIPTION_ID"; fi
deployment_name="exchange-connector-$AZURE_ENV_NAME"

if [ "$skip_infra" = false ]; then
  : "${CONNECTOR_APP_CLIENT_ID:?set CONNECTOR_APP_CLIENT_ID (client id of the connector Entra app)}"
  if [ -z "${AZURE_PRINCIPAL_ID+set}" ]; then
    # A user login has an object id; a service principal login does not: then nobody gets
    # Key Vault Administrator and the operator grants it by hand (docs/deployment.md).
    AZURE_PRINCIPAL_ID="$(az ad signed-in-user show --query id --output tsv 2>/dev/null || true)"
    export AZURE_PRINCIPAL_ID
  fi
  export AZURE_ENV_NAME AZURE_LOCATION CONNECTOR_APP_CLIENT_ID
  resolve_parameters
  common=(--name "$deployment_name" --location "$AZURE_LOCATION"
          --template-file "$ROOT/infra/main.bicep" --parameters "@$WORK/main.parameters.json")
  if [ "$what_if" = true ]; then
    az deployment sub what-if "${common[@]}"
    exit 0
  fi
  echo "deploy: provisioning $deployment_name in $AZURE_LOCATION"
  az deployment sub create "${common[@]}" --query properties.outputs --output json > "$WORK/outputs.json"
else
  az deployment sub show --name "$deployment_name" --query properties.outputs --output json > "$WORK/outputs.json"
fi

resource_group="$(output AZURE_RESOURCE_GROUP)"
function_app="$(output AZURE_FUNCTION_APP_NAME)"
key_vault="$(output KEY_VAULT_NAME)"

if [ "$skip_code" = false ]; then
  stage_package
  echo "deploy: publishing to $function_app"
  az functionapp deployment source config-zip \
    --resource-group "$resource_group" --name "$function_app" --src "$PACKAGE_ZIP"
fi

cat <<DONE

Exchange Connector is deployed.
  Function App        $function_app (resource group $resource_group)
  Admin API           $(output ADMIN_API_URL)
  OpenAPI document    $(output OPENAPI_URL)
  Key Vault           $(output KEY_VAULT_URL)

Register these redirect URIs (platform "Web") on the connector app $(output CONNECTOR_APP_CLIENT_ID):
  $(output CONSENT_CALLBACK_URL)
  $(output INVITATION_CALLBACK_URL)

Store the connector app's client secret in Key Vault (never in app settings):
  read -rs CONNECTOR_SECRET && az keyvault secret set --vault-name $key_vault \\
    --name connector-app-client-secret --value "\$CONNECTOR_SECRET" --output none; unset CONNECTOR_SECRET
DONE
