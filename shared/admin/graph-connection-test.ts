/**
 * The connection test of a Graph group (protocol graph, app-only): the same admin-facing steps
 * as the EWS test where they apply (configuration, credential expiry, token), then
 *   graphRoles        the token's application permissions cover the group's folders;
 *   mailboxReachable  the mailbox exists in Exchange Online and Graph may serve it (not on-premises);
 *   rbacScope         the app's Exchange RBAC management scope includes the mailbox (403 otherwise).
 * One GET of the mailbox's Inbox answers the last two; its failure is attributed by Graph's code.
 */
import { GLOBAL_GRAPH_RESOURCE } from '../graph/endpoints';
import { GraphServiceError } from '../graph/errors';
import { createGraphClient } from '../graph/graph-client';
import type { SecretString } from '../logging';
import type { GroupRecord, SyncFolderKind } from '../storage';
import type { AppOnlyClientCredential, ConnectionTesterOptions } from './connection-test';
import { checkExpiry, errorCodeOf, GRAPH_STEP_ORDER, StepRecorder, tokenFailureMessage } from './connection-test';
import type { ConnectionTestResponse } from './schemas';

/** The application permission each folder kind needs (Read variants are not enough: the connector writes read flags and deletes). */
export const GRAPH_ROLES_BY_FOLDER: Readonly<Record<SyncFolderKind, string>> = {
  mail: 'Mail.ReadWrite',
  calendar: 'Calendars.ReadWrite',
  contacts: 'Contacts.ReadWrite',
  tasks: 'Tasks.ReadWrite.All',
};

/** The roles claim of an access token we just received from Entra (read, not verified: Graph verifies it). */
export function tokenRoles(token: SecretString): string[] {
  try {
    const payload = JSON.parse(Buffer.from(token.reveal().split('.')[1] ?? '', 'base64url').toString('utf8')) as { roles?: unknown };
    return Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : [];
  } catch {
    return [];
  }
}

const RBAC_ADVICE =
  'In Exchange Online, add the mailbox to the management scope of the app\'s RBAC for Applications assignment ' +
  '(New-ManagementScope -RecipientRestrictionFilter ..., New-ManagementRoleAssignment -App <service principal> -Role "Application Mail.ReadWrite" -CustomResourceScope <scope>), see docs/graph.md.';

export async function runGraphConnectionTest(group: GroupRecord, targetMailbox: string | undefined, options: ConnectionTesterOptions): Promise<ConnectionTestResponse> {
  const startedAt = new Date().toISOString();
  const cloud = options.graph ?? { endpoint: GLOBAL_GRAPH_RESOURCE, resource: GLOBAL_GRAPH_RESOURCE };
  const steps = new StepRecorder(GRAPH_STEP_ORDER);
  const warnings: string[] = [];
  const finish = (): ConnectionTestResponse => {
    const ordered = steps.ordered();
    return {
      outcome: ordered.some((step) => step.status === 'failed') ? 'failed' : 'passed',
      ewsUrl: group.ewsUrl ?? options.defaultEwsUrl,
      protocol: 'graph',
      graphEndpoint: cloud.endpoint,
      ...(targetMailbox ? { targetMailbox } : {}),
      startedAt,
      ...(warnings.length > 0 ? { warnings } : {}),
      steps: ordered,
    };
  };
  const reference = group.credential;
  const problem = !reference
    ? 'The group has no credentials yet: set them with PUT .../credentials.'
    : !group.appOnly
      ? 'The group has no app-only settings (Entra tenant and client id).'
      : !targetMailbox
        ? 'No mailbox to test with: pass targetMailbox, or add a mailbox to the group first.'
        : undefined;
  if (problem || !reference || !group.appOnly || !targetMailbox) {
    steps.add('configuration', 'failed', problem ?? 'Incomplete configuration.', 0, 'ConfigurationIncomplete');
    steps.skipRest('Skipped: fix the configuration first.');
    return finish();
  }
  let secret: SecretString;
  try {
    secret = await options.readSecret(reference.secretName, reference.secretVersion);
  } catch (error) {
    steps.add('configuration', 'failed', `The credential could not be read from Key Vault (${errorCodeOf(error)}): check the app's access to the vault, or set the credentials again.`, 0, errorCodeOf(error));
    steps.skipRest('Skipped: the credential is not readable.');
    return finish();
  }
  steps.add('configuration', 'passed', `Credentials (${reference.kind}) are set; testing ${targetMailbox} over Microsoft Graph at ${cloud.endpoint}.`);
  const expiry = checkExpiry(group, reference, (options.now ?? (() => new Date()))());
  steps.add('credentialExpiry', expiry.status, expiry.message, 0, expiry.code);
  if (expiry.warning) warnings.push(expiry.warning);
  if (expiry.status === 'failed') {
    steps.skipRest('Skipped: the credential has expired.');
    return finish();
  }

  const credential: AppOnlyClientCredential = reference.kind === 'certificate' ? { kind: 'certificate', pem: secret, thumbprint: reference.certificateThumbprint ?? '' } : { kind: 'clientSecret', clientSecret: secret };
  const tokenCall = await steps.time(async () => {
    try {
      return { ok: true as const, token: await options.tokens.acquire({ entraTenantId: group.appOnly!.entraTenantId, clientId: group.appOnly!.clientId, credential, resource: cloud.resource }) };
    } catch (error) {
      return { ok: false as const, error };
    }
  });
  if (!tokenCall.value.ok) {
    const code = errorCodeOf(tokenCall.value.error);
    steps.add('tokenAcquisition', 'failed', tokenFailureMessage(code, tokenCall.value.error instanceof Error ? tokenCall.value.error.message : 'unknown error', group), tokenCall.durationInMs, code);
    steps.skipRest('Skipped: no token.');
    return finish();
  }
  const token = tokenCall.value.token;
  steps.add('tokenAcquisition', 'passed', `Got an app-only token for ${cloud.resource} from tenant ${group.appOnly.entraTenantId}.`, tokenCall.durationInMs);

  const roles = tokenRoles(token);
  const missing = [...new Set(group.folders.map((folder) => GRAPH_ROLES_BY_FOLDER[folder]))].filter((role) => !roles.includes(role));
  if (missing.length > 0) {
    steps.add('graphRoles', 'failed', `The app's token lacks the application permission${missing.length > 1 ? 's' : ''} ${missing.join(', ')} for the group's folders (it has: ${roles.join(', ') || 'none'}). Add ${missing.length > 1 ? 'them' : 'it'} under API permissions → Microsoft Graph → Application permissions and grant admin consent.`, 0, 'MissingGraphPermissions');
    steps.skipRest('Skipped: permissions missing.');
    return finish();
  }
  if (!roles.includes('Mail.Send')) warnings.push('The app has no Mail.Send application permission: send-mail through this group will fail.');
  steps.add('graphRoles', 'passed', `The token carries ${group.folders.map((folder) => GRAPH_ROLES_BY_FOLDER[folder]).join(', ')}.`);

  const client = createGraphClient(cloud.endpoint, targetMailbox, async () => token, { timeoutInMs: options.ewsTimeoutInMs ?? 30_000, ...(options.graphFetch ? { fetch: options.graphFetch } : {}) });
  const call = await steps.time(async () => {
    try {
      return { ok: true as const, inbox: await client.get<{ totalItemCount?: number }>(`${client.userPath}/mailFolders/inbox?$select=id,totalItemCount`) };
    } catch (error) {
      return { ok: false as const, error };
    }
  });
  if (call.value.ok) {
    const total = call.value.inbox.totalItemCount;
    steps.add('mailboxReachable', 'passed', `Graph opened the Inbox of ${targetMailbox}${typeof total === 'number' ? ` (${total} items)` : ''}.`, call.durationInMs);
    steps.add('rbacScope', 'passed', `The app may access ${targetMailbox} (inside its management scope, if one is set).`);
    return finish();
  }
  const error = call.value.error;
  const code = error instanceof GraphServiceError ? error.code : errorCodeOf(error);
  const kind = error instanceof GraphServiceError ? error.kind : 'unknown';
  if (kind === 'accessDenied') {
    steps.add('mailboxReachable', 'passed', `Graph knows ${targetMailbox}.`, call.durationInMs);
    steps.add('rbacScope', 'failed', `Graph refused ${targetMailbox} to the app (${code}): the mailbox is outside the app's management scope, or the permission is missing. ${RBAC_ADVICE}`, 0, code);
    return finish();
  }
  const message =
    kind === 'restDisabled'
      ? `Graph cannot serve ${targetMailbox} (${code}): the mailbox is on-premises, inactive or unlicensed. Use protocol 'ews' for on-premises mailboxes.`
      : kind === 'mailboxNotFound' || kind === 'notFound'
        ? `No mailbox ${targetMailbox} exists in this organisation (${code}). Check the address (use the primary SMTP address).`
        : kind === 'authentication'
          ? `Graph refused the token (${code}): the app may lack admin consent in the customer's tenant, or the token is for another tenant.`
          : kind === 'throttled'
            ? 'Graph is throttling this app right now; run the test again in a few minutes.'
            : `Graph answered ${code}: ${error instanceof Error ? error.message : 'unknown error'}`;
  steps.add('mailboxReachable', 'failed', message, call.durationInMs, code);
  steps.skipRest('Skipped: the mailbox is not reachable over Graph.');
  return finish();
}
