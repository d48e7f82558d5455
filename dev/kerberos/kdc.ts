/**
 * A real MIT Kerberos KDC (Debian's krb5-kdc) for the local stack and the tests, started like
 * Azurite: its own configuration, database and keytabs in one directory (a temp dir for tests,
 * .dev/kerberos for `npm start`), listening on loopback only, nothing read from /etc.
 *
 * Kerberos cannot be faked convincingly (tickets are encrypted with keys only the KDC and the
 * service share), so a real KDC is the only honest test of the connector's Negotiate client and
 * the EWS simulator's acceptor. Where krb5-kdc is not installed, `kdcAvailability()` says so and
 * callers skip with that reason; `.ci/run` installs it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { krb5Config } from '../../shared/auth/kerberos/negotiate-client';
import { freeLoopbackPort } from '../server-lifecycle';

const run = promisify(execFile);

const BINARY_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/sbin'];

interface KdcBinaries {
  readonly krb5kdc: string;
  readonly kdb5Util: string;
  readonly kadminLocal: string;
}

function findBinary(name: string): string | undefined {
  return BINARY_DIRS.map((dir) => join(dir, name)).find((path) => existsSync(path));
}

function kdcBinaries(): KdcBinaries | undefined {
  const krb5kdc = findBinary('krb5kdc');
  const kdb5Util = findBinary('kdb5_util');
  const kadminLocal = findBinary('kadmin.local');
  return krb5kdc && kdb5Util && kadminLocal ? { krb5kdc, kdb5Util, kadminLocal } : undefined;
}

/** Whether an MIT KDC can be started here; the reason names the Debian packages to install. */
export function kdcAvailability(): { readonly available: true } | { readonly available: false; readonly reason: string } {
  if (process.platform !== 'linux') return { available: false, reason: `the local KDC needs Linux with MIT Kerberos (this is ${process.platform})` };
  return kdcBinaries() ? { available: true } : { available: false, reason: 'MIT Kerberos KDC not installed (krb5kdc, kdb5_util, kadmin.local): apt-get install krb5-kdc krb5-admin-server' };
}

export interface KdcPrincipal {
  /** e.g. 'svc-connector' or 'HTTP/mail.contoso.com' (the realm is added). */
  readonly name: string;
  /** A password principal (a user or service account); without one the key is random (a service). */
  readonly password?: string;
  /** Also write this principal's keys to a keytab file (returned in `keytabs`). */
  readonly keytab?: boolean;
}

export interface KdcOptions {
  readonly realm: string;
  readonly principals: readonly KdcPrincipal[];
  /** Where config, database and keytabs live; default a fresh temp dir removed at close(). Kept (and reused) when given. */
  readonly stateDir?: string;
  /** TCP/UDP port on 127.0.0.1; default a free one. */
  readonly port?: number;
}

export interface RunningKdc {
  readonly realm: string;
  /** `127.0.0.1:PORT`: what a group's kdc setting names. */
  readonly address: string;
  readonly port: number;
  /** A client krb5.conf naming this realm and KDC (for the simulator's acceptor). */
  readonly krb5ConfigPath: string;
  /** principal name (without realm) → keytab path, for principals created with keytab: true. */
  readonly keytabs: Readonly<Record<string, string>>;
  /** Adds a principal (kept as it is when it exists) while the KDC runs. */
  addPrincipal(principal: KdcPrincipal): Promise<void>;
  close(): Promise<void>;
}

function kdcConf(dir: string, realm: string, port: number): string {
  return [
    '[kdcdefaults]',
    `  kdc_listen = 127.0.0.1:${port}`,
    `  kdc_tcp_listen = 127.0.0.1:${port}`,
    '[realms]',
    `  ${realm} = {`,
    `    database_name = ${join(dir, 'principal')}`,
    `    key_stash_file = ${join(dir, 'stash')}`,
    `    acl_file = ${join(dir, 'kadm5.acl')}`,
    '    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal',
    '    max_life = 10h 0m 0s',
    '    max_renewable_life = 7d 0h 0m 0s',
    '  }',
    '[logging]',
    `  kdc = FILE:${join(dir, 'kdc.log')}`,
    `  default = FILE:${join(dir, 'kdc.log')}`,
    '',
  ].join('\n');
}

function waitForPort(port: number, child: ChildProcess, timeoutInMs: number): Promise<void> {
  const deadline = Date.now() + timeoutInMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) return reject(new Error(`krb5kdc exited with code ${child.exitCode}`));
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) return reject(new Error(`krb5kdc did not listen on 127.0.0.1:${port} within ${timeoutInMs} ms`));
        setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/** Starts krb5kdc with a fresh (or the kept) database holding the given principals. */
export async function startKdc(options: KdcOptions): Promise<RunningKdc> {
  const binaries = kdcBinaries();
  if (!binaries) throw new Error(`Cannot start a KDC: ${(kdcAvailability() as { reason: string }).reason}`);
  const temporary = options.stateDir === undefined;
  const dir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'kdc-'));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const port = options.port ?? (await freeLoopbackPort());
  const realm = options.realm;
  const address = `127.0.0.1:${port}`;
  const kdcConfPath = join(dir, 'kdc.conf');
  const krb5ConfigPath = join(dir, 'krb5.conf');
  writeFileSync(kdcConfPath, kdcConf(dir, realm, port));
  // The KDC tools and the simulator's acceptor read the same one-realm configuration as the connector.
  writeFileSync(krb5ConfigPath, krb5Config(realm, [address]));
  writeFileSync(join(dir, 'kadm5.acl'), '');
  const env = { ...process.env, KRB5_CONFIG: krb5ConfigPath, KRB5_KDC_PROFILE: kdcConfPath };
  if (!existsSync(join(dir, 'principal'))) {
    // The master key protects the database on this disk only; a random one is kept in the stash file.
    await run(binaries.kdb5Util, ['-r', realm, 'create', '-s', '-W', '-P', randomPassword()], { env });
  }
  const kadmin = (query: string) => run(binaries.kadminLocal, ['-r', realm, '-q', query], { env });
  const keytabs: Record<string, string> = {};
  const addPrincipal = async (principal: KdcPrincipal): Promise<void> => {
    const full = `${principal.name}@${realm}`;
    const { stdout } = await kadmin(`getprinc ${full}`).catch(() => ({ stdout: '' }));
    const exists = stdout.includes(`Principal: ${full}`);
    // A kept database (npm start) keeps its principals and keys: keytabs handed out stay valid.
    if (!exists) await kadmin(principal.password !== undefined ? `addprinc -pw ${principal.password} ${full}` : `addprinc -randkey ${full}`);
    if (principal.keytab) {
      const path = join(dir, `${principal.name.replaceAll('/', '_')}.keytab`);
      // -norandkey exports the current key: a password principal keeps its password, and a kept KDC
      // restarting does not invalidate the keytab it handed out before.
      if (!existsSync(path)) await kadmin(`ktadd -k ${path} ${exists || principal.password !== undefined ? '-norandkey ' : ''}${full}`);
      keytabs[principal.name] = path;
    }
  };
  for (const principal of options.principals) await addPrincipal(principal);

  const child = spawn(binaries.krb5kdc, ['-n', '-r', realm, '-P', join(dir, 'krb5kdc.pid')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-2000);
  });
  try {
    await waitForPort(port, child, 10_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}${stderr ? `: ${stderr.trim()}` : ''}`);
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    realm,
    address,
    port,
    krb5ConfigPath,
    keytabs,
    addPrincipal,
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      if (temporary) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function randomPassword(): string {
  return randomBytes(18).toString('base64url');
}
