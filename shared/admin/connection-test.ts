import type { ConnectorEnvironment } from '../config';
import { createMailboxClient, getFolder, isEwsError } from '../ews';
import type { EwsCredential, EwsError } from '../ews';
import type { SecretString } from '../logging';
import type { CredentialReference, GroupRecord } from '../storage';
import { credentialExpiryNotice } from '../consent/credential-status';
import { publicOnlyLookup, resolveTarget, TargetAddressError } from '../delivery/address-policy';
import { groupEwsUrl, groupServicePrincipal, serviceAccountCredential } from '../sync/mailbox-access';
import { probeEndpoint } from './endpoint-probe';
import { groupPath } from './group-service';
import type { ConnectionTestResponse, ConnectionTestStepName } from './schemas';
import { outboundUrlProblem } from './url-policy';
import type { GraphCloud } from '../graph/endpoints';
import { groupProtocol } from '../storage/records';
import { runGraphConnectionTest } from './graph-connection-test';
import { discoverUnderPolicy } from './autodiscover-under-policy';
import { AUTODISCOVER_PATH } from '../ews/autodiscover';

type StepStatus = 'passed' | 'failed' | 'skipped';

interface StepResult {
  name: ConnectionTestStepName;
  status: StepStatus;
  durationInMs: number;
  message: string;
  code?: string;
}

/** The credential an app-only group holds, read from Key Vault for the test. */
export type AppOnlyClientCredential =
  | { readonly kind: 'clientSecret'; readonly clientSecret: SecretString }
  | { readonly kind: 'certificate'; readonly pem: SecretString; readonly thumbprint: string };

/** Gets an app-only EWS token; failures carry an Entra-derived `code` and an actionable message. */
export interface AppOnlyTokenSource {
  /** `resource` default: EWS (https://outlook.office365.com); Graph groups ask for the configured Graph cloud. */
  acquire(request: { entraTenantId: string; clientId: string; credential: AppOnlyClientCredential; resource?: string }): Promise<SecretString>;
}

export interface ConnectionTesterOptions {
  readonly environment: ConnectorEnvironment;
  readonly defaultEwsUrl: string;
  readonly readSecret: (name: string, version: string) => Promise<SecretString>;
  readonly tokens: AppOnlyTokenSource;
  readonly probeTimeoutInMs?: number;
  readonly ewsTimeoutInMs?: number;
  /** The autodiscover step, all redirects included; default 15 s. */
  readonly autodiscoverTimeoutInMs?: number;
  readonly now?: () => Date;
  /** The configured Graph cloud, for groups with protocol 'graph' (default the global one). */
  readonly graph?: GraphCloud;
  /** Injectable fetch for Graph calls (tests). */
  readonly graphFetch?: typeof fetch;
}

export interface ConnectionTester {
  run(group: GroupRecord, targetMailbox: string | undefined): Promise<ConnectionTestResponse>;
}

const EWS_DISABLED_ADVICE =
  'EWS is blocked for this organisation or application. In Exchange Online, EWS works only where the tenant allows it ' +
  '(Set-OrganizationConfig -EwsEnabled $true, and any EwsApplicationAccessPolicy / EwsAllowList must include this app); ' +
  'Microsoft shuts EWS down in Exchange Online on 2027-04-01, so plan a move to Microsoft Graph. On-premises: check EWS is enabled on the server (Set-WebServicesVirtualDirectory, Set-CASMailbox -EwsEnabled).';

export function errorCodeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'Unknown';
}

function errorMessageOf(error: unknown): string {
  return error instanceof Error ? error.message : 'unknown error';
}

/** Entra failures explained in admin terms; the token source's typed codes decide. */
export function tokenFailureMessage(code: string, fallback: string, group: GroupRecord): string {
  const app = group.appOnly ? `app ${group.appOnly.clientId} in tenant ${group.appOnly.entraTenantId}` : 'the app';
  switch (code) {
    case 'InvalidClientSecret':
      return `Entra rejected the client secret of ${app} (AADSTS7000215). Copy the secret VALUE (not its ID) from the app registration and set it again with PUT .../credentials.`;
    case 'ClientSecretExpired':
      return `The client secret of ${app} has expired (AADSTS7000222). Create a new secret in the app registration and set it with PUT .../credentials.`;
    case 'AppNotFoundOrNotConsented':
      return `Entra does not know ${app}, or an administrator of the customer's tenant has not consented to it (AADSTS700016 / AADSTS65001). Check the client ID and grant admin consent for full_access_as_app.`;
    case 'TenantNotFound':
      return `Entra tenant ${group.appOnly?.entraTenantId ?? ''} does not exist (AADSTS90002). Check the Entra tenant ID.`;
    case 'InvalidClientCertificate':
      return `Entra rejected the certificate of ${app}: upload its public part to the app registration (Certificates & secrets).`;
    default:
      return `Could not get an app-only token for ${app} (${code}): ${fallback}`;
  }
}

function authenticationMessage(group: GroupRecord, error: EwsError): string {
  const offered = 'schemes' in error && Array.isArray(error.schemes) && error.schemes.length > 0 ? ` The server offers: ${error.schemes.join(', ')}.` : '';
  if (group.mailboxAccessType === 'impersonation' && group.impersonation?.authScheme === 'kerberos') {
    const spn = group.impersonation.kerberos?.servicePrincipal ?? 'the SPN';
    return `Exchange refused the Kerberos ticket for ${spn} (HTTP 401) although the KDC issued it: the SPN is registered on another account than the one Exchange decrypts with (with a load balancer, the alternate service account must hold it), or Negotiate (Kerberos) is not enabled on the EWS virtual directory.${offered}`;
  }
  if (group.mailboxAccessType === 'impersonation') {
    return `Exchange rejected the service account ${group.impersonation?.serviceAccount ?? ''} (HTTP 401): wrong password, locked or expired account, or the ${group.impersonation?.authScheme ?? ''} scheme is not enabled on the EWS virtual directory.${offered}`;
  }
  return `Exchange rejected the app-only token (HTTP 401): the app may lack the full_access_as_app application permission or admin consent, or the token is for another tenant.${offered}`;
}

/** How an EWS failure on GetFolder(inbox) for the target mailbox maps onto the steps. */
function classifyEwsFailure(group: GroupRecord, mailbox: string, error: unknown): { step: ConnectionTestStepName; code: string; message: string } {
  if (!isEwsError(error)) return { step: 'authentication', code: 'Unknown', message: `The EWS call failed unexpectedly: ${errorMessageOf(error)}` };
  switch (error.kind) {
    case 'authentication':
      return { step: 'authentication', code: error.code, message: authenticationMessage(group, error) };
    case 'disabled':
      return { step: 'ewsEnabled', code: error.code, message: EWS_DISABLED_ADVICE };
    case 'throttled':
      return { step: 'authentication', code: error.code, message: 'Exchange is throttling this account right now (server busy); run the test again in a few minutes.' };
    case 'response':
      break;
    default:
      return { step: 'authentication', code: error.code, message: `The EWS call failed: ${error.message}` };
  }
  const actor = group.mailboxAccessType === 'impersonation' ? `the service account ${group.impersonation?.serviceAccount ?? ''}` : 'the app';
  switch (error.code) {
    case 'ErrorImpersonateUserDenied':
    case 'ErrorImpersonationDenied':
      return {
        step: 'impersonation',
        code: error.code,
        message:
          group.mailboxAccessType === 'impersonation'
            ? `${actor} may not impersonate ${mailbox} (${error.code}). Assign it the ApplicationImpersonation role with a management scope that includes this mailbox.`
            : `The app may not access ${mailbox} (${error.code}). Check the full_access_as_app permission and any application access policy limiting the app to some mailboxes.`,
      };
    case 'ErrorNonExistentMailbox':
      return { step: 'impersonation', code: error.code, message: `No mailbox ${mailbox} exists in this organisation (${error.code}). Check the address (use the primary SMTP address).` };
    case 'ErrorAccessDenied':
      return { step: 'folderAccess', code: error.code, message: `${actor} reached ${mailbox} but may not open its Inbox (ErrorAccessDenied). Check mailbox permissions.` };
    case 'ErrorAccountDisabled':
    case 'ErrorMailboxStoreUnavailable':
    case 'ErrorMailboxMoveInProgress':
      return { step: 'folderAccess', code: error.code, message: `The mailbox ${mailbox} is not available (${error.code}): it is disabled, being moved, or its database is offline.` };
    default:
      return { step: 'folderAccess', code: error.code, message: `Exchange answered ${error.code} when opening the Inbox of ${mailbox}: ${error.message}` };
  }
}

const CREDENTIAL_WORDS: Record<CredentialReference['kind'], string> = { password: 'password', clientSecret: 'client secret', certificate: 'certificate', keytab: 'keytab' };

/**
 * The recorded expiry (given with PUT .../credentials, or the certificate's own): expired fails
 * the test before anything is sent with it; within 30 days is a warning on a passing test.
 */
export function checkExpiry(group: GroupRecord, reference: CredentialReference, now: Date): { status: StepStatus; message: string; code?: string; warning?: string } {
  const what = CREDENTIAL_WORDS[reference.kind];
  const notice = credentialExpiryNotice(reference, now, { credentialsUrl: `/api/admin${groupPath(group.tenantId, group.id)}/credentials` });
  if (notice?.state === 'expired') return { status: 'failed', message: notice.message, code: 'CredentialExpired' };
  if (notice) return { status: 'passed', message: notice.message, warning: notice.message };
  if (reference.expiresOn) return { status: 'passed', message: `The ${what} is valid until ${new Date(reference.expiresOn).toISOString()}.` };
  return {
    status: 'passed',
    message: `No expiry is recorded for the ${what}; send expiresOn with PUT .../credentials to be warned 30, 14 and 7 days before it expires.`,
  };
}

async function addressRefusal(ewsUrl: string, environment: ConnectorEnvironment): Promise<string | undefined> {
  if (environment === 'development') return undefined;
  try {
    await resolveTarget(ewsUrl, environment);
    return undefined;
  } catch (error) {
    if (error instanceof TargetAddressError) return error.message;
    throw error;
  }
}

const STEP_ORDER: readonly ConnectionTestStepName[] = ['configuration', 'credentialExpiry', 'tokenAcquisition', 'endpointReachable', 'autodiscover', 'authentication', 'ewsEnabled', 'impersonation', 'folderAccess'];
/** Graph groups: the token and its roles, the mailbox over Graph, and the app's RBAC management scope. */
export const GRAPH_STEP_ORDER: readonly ConnectionTestStepName[] = ['configuration', 'credentialExpiry', 'tokenAcquisition', 'graphRoles', 'mailboxReachable', 'rbacScope'];

export class StepRecorder {
  readonly steps: StepResult[] = [];
  constructor(private readonly order: readonly ConnectionTestStepName[] = STEP_ORDER) {}

  async time<T>(action: () => Promise<T>): Promise<{ value: T; durationInMs: number }> {
    const started = performance.now();
    const value = await action();
    return { value, durationInMs: Math.round(performance.now() - started) };
  }

  add(name: ConnectionTestStepName, status: StepStatus, message: string, durationInMs = 0, code?: string): void {
    this.steps.push({ name, status, durationInMs, message, ...(code ? { code } : {}) });
  }

  /** Every step not yet reported is skipped, with the reason. */
  skipRest(reason: string): void {
    for (const name of this.order) {
      if (!this.steps.some((step) => step.name === name)) this.add(name, 'skipped', reason);
    }
  }

  ordered(): StepResult[] {
    return this.order.map((name) => this.steps.find((step) => step.name === name)).filter((step): step is StepResult => step !== undefined);
  }
}

/**
 * Runs the steps an admin needs to get a group working, stopping at the first failure and
 * saying what to do about it. One GetFolder(inbox) call on the target mailbox tests
 * authentication, EWS availability, impersonation and folder access at once; its outcome is
 * attributed to the step that failed.
 */
export function createConnectionTester(options: ConnectionTesterOptions): ConnectionTester {
  const probeTimeoutInMs = options.probeTimeoutInMs ?? 10_000;
  const ewsTimeoutInMs = options.ewsTimeoutInMs ?? 30_000;
  const now = options.now ?? (() => new Date());

  /**
   * Kerberos: the ticket for Exchange's SPN is the "token" here. Asking the KDC first tells a wrong
   * password, an unknown SPN or an unreachable KDC apart from what Exchange says afterwards.
   */
  async function kerberosCredential(group: GroupRecord, reference: CredentialReference, secret: SecretString, steps: StepRecorder): Promise<EwsCredential | undefined> {
    const started = performance.now();
    try {
      const credential = serviceAccountCredential(group, reference, secret, options);
      if (credential.kind !== 'negotiate') return undefined;
      const first = await credential.getToken();
      let firstUnused = true;
      steps.add('tokenAcquisition', 'passed', `Got a Kerberos ticket for ${groupServicePrincipal(group, options.defaultEwsUrl)} from the KDC of ${group.impersonation?.kerberos?.realm ?? ''}.`, Math.round(performance.now() - started));
      // The first request reuses the token just made; later ones get fresh authenticators.
      return {
        ...credential,
        getToken: async () => {
          if (!firstUnused) return credential.getToken();
          firstUnused = false;
          return first;
        },
      };
    } catch (error) {
      const code = errorCodeOf(error);
      steps.add('tokenAcquisition', 'failed', errorMessageOf(error), Math.round(performance.now() - started), code);
      return undefined;
    }
  }

  async function credentialFor(group: GroupRecord, secret: SecretString, steps: StepRecorder): Promise<EwsCredential | undefined> {
    const reference = group.credential;
    if (!reference) return undefined;
    if (group.mailboxAccessType === 'impersonation') {
      if (group.impersonation?.authScheme === 'kerberos') return kerberosCredential(group, reference, secret, steps);
      steps.add('tokenAcquisition', 'skipped', 'Not used: impersonation groups sign in with the service account password.');
      return { kind: group.impersonation?.authScheme ?? 'basic', username: group.impersonation?.serviceAccount ?? '', password: secret };
    }
    const appOnly = group.appOnly;
    if (!appOnly) return undefined;
    const credential: AppOnlyClientCredential =
      reference.kind === 'certificate' ? { kind: 'certificate', pem: secret, thumbprint: reference.certificateThumbprint ?? '' } : { kind: 'clientSecret', clientSecret: secret };
    const started = performance.now();
    try {
      const token = await options.tokens.acquire({ entraTenantId: appOnly.entraTenantId, clientId: appOnly.clientId, credential });
      steps.add('tokenAcquisition', 'passed', `Got an app-only token for https://outlook.office365.com from tenant ${appOnly.entraTenantId}.`, Math.round(performance.now() - started));
      return { kind: 'bearer', getToken: async () => token };
    } catch (error) {
      const code = errorCodeOf(error);
      steps.add('tokenAcquisition', 'failed', tokenFailureMessage(code, errorMessageOf(error), group), Math.round(performance.now() - started), code);
      return undefined;
    }
  }

  /**
   * Impersonation groups: what Autodiscover on the EWS server names for the target mailbox. It
   * reports, it never fails the test (many servers publish no Autodiscover where the connector
   * can reach it); a different EWS URL is a warning, since mailboxes moved to another server are
   * reached through the one Autodiscover names.
   */
  async function autodiscoverStep(group: GroupRecord, credential: EwsCredential, ewsUrl: string, mailbox: string, steps: StepRecorder, warnings: string[]): Promise<void> {
    if (group.mailboxAccessType !== 'impersonation' || credential.kind === 'bearer') {
      steps.add('autodiscover', 'skipped', 'Not used: Autodiscover from an address is for on-premises (impersonation) groups.');
      return;
    }
    const view = await discoverUnderPolicy({
      environment: options.environment,
      credential,
      emailAddress: mailbox,
      autodiscoverUrl: `${new URL(ewsUrl).origin}${AUTODISCOVER_PATH}`,
      totalTimeoutInMs: options.autodiscoverTimeoutInMs ?? 15_000,
    });
    if (view.outcome === 'failed') {
      steps.add('autodiscover', 'skipped', `Autodiscover on ${new URL(ewsUrl).host} did not name an EWS URL for ${mailbox} (${view.code ?? 'failed'}): ${view.message} Not needed while the group's EWS URL is set; the test goes on with it.`, view.durationInMs, view.code);
      return;
    }
    const same = view.ewsUrl?.toLowerCase() === new URL(ewsUrl).href.toLowerCase();
    if (same) {
      steps.add('autodiscover', 'passed', `${view.message} It matches the group's EWS URL.`, view.durationInMs);
      return;
    }
    const warning = `Autodiscover names ${view.ewsUrl ?? ''} for ${mailbox}, but the group uses ${ewsUrl}: if the mailbox moved to another server, set the group's ewsUrl to the one Autodiscover names (PATCH .../groups/${group.id}).`;
    warnings.push(warning);
    steps.add('autodiscover', 'passed', warning, view.durationInMs);
  }

  return {
    async run(group, targetMailbox) {
      if (groupProtocol(group) === 'graph') return runGraphConnectionTest(group, targetMailbox, options);
      const startedAt = new Date().toISOString();
      const ewsUrl = groupEwsUrl(group, options.defaultEwsUrl);
      const steps = new StepRecorder();
      const warnings: string[] = [];
      const finish = (): ConnectionTestResponse => {
        const ordered = steps.ordered();
        return {
          outcome: ordered.some((step) => step.status === 'failed') ? 'failed' : 'passed',
          ewsUrl,
          ...(targetMailbox ? { targetMailbox } : {}),
          startedAt,
          ...(warnings.length > 0 ? { warnings } : {}),
          steps: ordered,
        };
      };

      const configurationProblem = (() => {
        if (!group.credential) return 'The group has no credentials yet: set them with PUT .../credentials.';
        if (!targetMailbox) return 'No mailbox to test with: pass targetMailbox, or add a mailbox to the group first.';
        const urlProblem = outboundUrlProblem(ewsUrl, options.environment, '/ewsUrl');
        if (urlProblem) return `The EWS URL ${urlProblem.detail}.`;
        return undefined;
      })();
      if (configurationProblem) {
        steps.add('configuration', 'failed', configurationProblem, 0, 'ConfigurationIncomplete');
        steps.skipRest('Skipped: fix the configuration first.');
        return finish();
      }
      // Production: the host must resolve to public addresses only, checked before any credential is
      // read or anything is sent, and again at every connection (publicOnlyLookup). The answer
      // depends only on DNS, never on what listens there: no port scanning through connection tests.
      const refused = await addressRefusal(ewsUrl, options.environment);
      if (refused) {
        steps.add('configuration', 'failed', `The EWS URL is not allowed: ${refused} Nothing was sent to it.`, 0, 'TargetAddressNotAllowed');
        steps.skipRest('Skipped: the EWS URL is not allowed.');
        return finish();
      }
      const reference = group.credential;
      let secret: SecretString;
      try {
        secret = await options.readSecret(reference?.secretName ?? '', reference?.secretVersion ?? '');
      } catch (error) {
        steps.add('configuration', 'failed', `The credential could not be read from Key Vault (${errorCodeOf(error)}): check the app's access to the vault, or set the credentials again.`, 0, errorCodeOf(error));
        steps.skipRest('Skipped: the credential is not readable.');
        return finish();
      }
      steps.add('configuration', 'passed', `Credentials (${reference?.kind}) are set; testing ${targetMailbox} at ${ewsUrl}.`);

      if (reference) {
        const expiry = checkExpiry(group, reference, now());
        steps.add('credentialExpiry', expiry.status, expiry.message, 0, expiry.code);
        if (expiry.warning) warnings.push(expiry.warning);
        if (expiry.status === 'failed') {
          steps.skipRest('Skipped: the credential has expired.');
          return finish();
        }
      }

      const credential = await credentialFor(group, secret, steps);
      if (!credential) {
        steps.skipRest('Skipped: no token.');
        return finish();
      }

      const lookup = publicOnlyLookup(options.environment);
      const probe = await steps.time(() => probeEndpoint(ewsUrl, probeTimeoutInMs, lookup));
      if (!probe.value.reachable) {
        steps.add('endpointReachable', 'failed', probe.value.message, probe.durationInMs, probe.value.code);
        steps.skipRest('Skipped: the EWS endpoint is not reachable.');
        return finish();
      }
      if (probe.value.httpStatus === 404) {
        steps.add('endpointReachable', 'failed', `${ewsUrl} answered 404: the server is up but EWS is not at this path (usually /EWS/Exchange.asmx).`, probe.durationInMs, 'NotFound');
        steps.skipRest('Skipped: the EWS endpoint was not found.');
        return finish();
      }
      steps.add('endpointReachable', 'passed', `${new URL(ewsUrl).host} answered (HTTP ${probe.value.httpStatus} without credentials).`, probe.durationInMs);
      await autodiscoverStep(group, credential, ewsUrl, targetMailbox ?? '', steps, warnings);

      const mailbox = targetMailbox ?? '';
      const call = await steps.time(async () => {
        try {
          const client = createMailboxClient(ewsUrl, credential, {
            mailbox,
            access: group.mailboxAccessType === 'appOnly' ? 'appOnly' : 'impersonation',
            timeoutInMs: ewsTimeoutInMs,
            allowInsecureHttp: options.environment === 'development',
            lookup,
          });
          return { ok: true as const, folder: await getFolder(client, { distinguished: 'inbox' }) };
        } catch (error) {
          return { ok: false as const, error };
        }
      });
      if (call.value.ok) {
        steps.add('authentication', 'passed', 'Exchange accepted the credentials.', call.durationInMs);
        steps.add('ewsEnabled', 'passed', 'EWS is enabled for this organisation.');
        steps.add('impersonation', 'passed', `Access to ${mailbox} is allowed.`);
        const total = call.value.folder.totalCount;
        steps.add('folderAccess', 'passed', `Opened the Inbox of ${mailbox}${typeof total === 'number' ? ` (${total} items)` : ''}.`);
        return finish();
      }
      const failure = classifyEwsFailure(group, mailbox, call.value.error);
      const failedAt = STEP_ORDER.indexOf(failure.step);
      for (const name of STEP_ORDER.slice(STEP_ORDER.indexOf('authentication'), failedAt)) {
        steps.add(name, 'passed', name === 'authentication' ? 'Exchange accepted the credentials.' : name === 'ewsEnabled' ? 'EWS is enabled for this organisation.' : `Access to ${mailbox} is allowed.`, name === 'authentication' ? call.durationInMs : 0);
      }
      steps.add(failure.step, 'failed', failure.message, failure.step === 'authentication' ? call.durationInMs : 0, failure.code);
      steps.skipRest(`Skipped: ${failure.step} failed.`);
      return finish();
    },
  };
}
