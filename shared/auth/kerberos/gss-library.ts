/**
 * The `kerberos` package (MongoDB's native addon over MIT GSSAPI), loaded on first use, and the
 * one lock every GSSAPI call in this process goes through.
 *
 * Why optional: it is a native addon built at install time against libkrb5-dev; a machine without
 * the headers must still install and run the product (every other auth kind works), so it is an
 * optionalDependency and `kerberosAvailability()` says, in words, why Negotiate is unavailable.
 *
 * Why a lock: MIT Kerberos takes its configuration (KRB5_CONFIG), credential cache (KRB5CCNAME)
 * and keytabs (KRB5_CLIENT_KTNAME, KRB5_KTNAME) from the process environment, which every thread
 * shares. Each call sets the variables of its own tenant's group, runs, and restores them; calls
 * never overlap, so one tenant's cache or keytab is never visible to another tenant's call.
 */
/*
 * Our own description of the part of the addon we call, not `import type ... from 'kerberos'`:
 * the package is optional, and the build must pass on a machine where it did not install.
 */
export interface KerberosClient {
  /** Base64 token for the server; '' on the first step. */
  step(challenge: string): Promise<string>;
}

export interface KerberosServer {
  readonly username: string | undefined;
  readonly contextComplete: boolean;
  step(challenge: string): Promise<string>;
}

/** The part of the `kerberos` package this product uses. */
export interface GssLibrary {
  initializeClient(service: string, options?: { principal?: string; gssFlag?: number; mechOID?: number }): Promise<KerberosClient>;
  initializeServer(service: string): Promise<KerberosServer>;
  readonly GSS_MECH_OID_SPNEGO: number;
  readonly GSS_C_MUTUAL_FLAG: number;
  readonly GSS_C_SEQUENCE_FLAG: number;
  readonly version: string;
}

export type KerberosAvailability = { readonly available: true; readonly version: string } | { readonly available: false; readonly reason: string };

let loaded: { library: GssLibrary } | { reason: string } | undefined;

function load(): { library: GssLibrary } | { reason: string } {
  if (loaded) return loaded;
  try {
    loaded = { library: require('kerberos') as GssLibrary };
  } catch (error) {
    const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
    loaded = {
      reason:
        `the optional 'kerberos' package (native GSSAPI addon) is not installed or did not build (${detail}). ` +
        'Install libkrb5-dev and a C++ toolchain, then run npm install (docs/ews-client.md, "Kerberos").',
    };
  }
  return loaded;
}

/**
 * Whether Kerberos (Negotiate) can be used in this process. The addon opens libgssapi_krb5 only
 * at its first call, so a present addon without the MIT runtime library is caught at that call
 * (see gssFailure), not here.
 */
export function kerberosAvailability(): KerberosAvailability {
  const result = load();
  return 'library' in result ? { available: true, version: result.library.version } : { available: false, reason: result.reason };
}

export class KerberosUnavailableError extends Error {
  readonly code = 'KerberosUnavailable';
}

export function gssLibrary(): GssLibrary {
  const result = load();
  if ('reason' in result) throw new KerberosUnavailableError(`Kerberos is not available in this deployment: ${result.reason}`);
  return result.library;
}

/** The MIT variables a call sets; any not named is removed for the call (never inherited from another tenant's call). */
export interface Krb5Environment {
  readonly KRB5_CONFIG: string;
  readonly KRB5CCNAME?: string;
  readonly KRB5_CLIENT_KTNAME?: string;
  readonly KRB5_KTNAME?: string;
  readonly KRB5RCACHEDIR?: string;
}

const VARIABLES: readonly (keyof Krb5Environment)[] = ['KRB5_CONFIG', 'KRB5CCNAME', 'KRB5_CLIENT_KTNAME', 'KRB5_KTNAME', 'KRB5RCACHEDIR'];

let queue: Promise<unknown> = Promise.resolve();

/** Runs `action` alone, with exactly `environment`'s MIT variables set; restores the previous ones after. */
export function withKrb5Environment<T>(environment: Krb5Environment, action: () => Promise<T>): Promise<T> {
  const run = async (): Promise<T> => {
    const saved = VARIABLES.map((name) => [name, process.env[name]] as const);
    for (const name of VARIABLES) {
      const value = environment[name];
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    try {
      return await action();
    } finally {
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  };
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}
