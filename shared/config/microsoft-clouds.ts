/**
 * The Microsoft clouds a deployment can serve, as a fixed list: where Entra signs in, and the
 * Exchange Online EWS endpoint and token resource of each. The connector app's own tokens are
 * sent only to the EWS endpoint of the deployment's cloud (docs/security.md). A multi-tenant app
 * registration lives in one cloud, so one deployment serves one cloud (MICROSOFT_CLOUD).
 *
 * EWS_DEFAULT_URL and AZURE_AUTHORITY_HOST default to the chosen cloud's values; the operator may
 * set them (the local stack points them at its simulators that way). No tenant input reaches them.
 */
export interface MicrosoftCloud {
  /** Entra authority host. */
  readonly authorityHost: string;
  /** Exchange Online's EWS endpoint. */
  readonly ewsUrl: string;
  /** The resource (audience) of Exchange Online tokens: `${ewsResource}/.default`, `${ewsResource}/EWS.AccessAsUser.All`. */
  readonly ewsResource: string;
}

export const MICROSOFT_CLOUDS = {
  /** Microsoft Entra global service, including GCC (moderate). */
  global: { authorityHost: 'https://login.microsoftonline.com', ewsUrl: 'https://outlook.office365.com/EWS/Exchange.asmx', ewsResource: 'https://outlook.office365.com' },
  /** US Government GCC High (L4). */
  usGovernment: { authorityHost: 'https://login.microsoftonline.us', ewsUrl: 'https://outlook.office365.us/EWS/Exchange.asmx', ewsResource: 'https://outlook.office365.us' },
  /** US Government DoD (L5). */
  usGovernmentDoD: { authorityHost: 'https://login.microsoftonline.us', ewsUrl: 'https://webmail.apps.mil/EWS/Exchange.asmx', ewsResource: 'https://webmail.apps.mil' },
  /** Microsoft 365 operated by 21Vianet (China). */
  china: { authorityHost: 'https://login.chinacloudapi.cn', ewsUrl: 'https://partner.outlook.cn/EWS/Exchange.asmx', ewsResource: 'https://partner.outlook.cn' },
} as const satisfies Record<string, MicrosoftCloud>;

export type MicrosoftCloudName = keyof typeof MICROSOFT_CLOUDS;

export const MICROSOFT_CLOUD_NAMES = Object.keys(MICROSOFT_CLOUDS) as [MicrosoftCloudName, ...MicrosoftCloudName[]];
