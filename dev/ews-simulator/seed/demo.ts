/**
 * The demo organisation `npm start` loads: Contoso (contoso.com), the Entra tenant of the local
 * identity provider's demo customer, with four mailboxes, a service account holding
 * ApplicationImpersonation over all of them, and a few dozen realistic items per folder.
 * The passwords are fixed and documented (docs/ews-simulator-seed-and-bench.md): this is local
 * test data, never real credentials.
 */
import type { DistinguishedFolderName, EwsStore, MailboxKind } from '../model';
import { MailContentGenerator, type Person, type ThreadMessage } from './content';
import { fillMailbox, personForMailbox } from './fill';

export const DEMO_ORGANISATION = {
  id: 'contoso',
  name: 'Contoso',
  domain: 'contoso.com',
  entraTenantId: '00000000-0000-4000-8000-0000000000d1',
} as const;

export interface DemoAccount {
  readonly address: string;
  readonly displayName: string;
  readonly password: string;
  readonly kind: MailboxKind;
  readonly entraObjectId: string;
  readonly department: string;
  readonly city: string;
  readonly jobTitle?: string;
  /** Directory phone numbers (the simulator's directory attributes; both protocols answer with them). */
  readonly businessPhone?: string;
  readonly mobilePhone?: string;
  readonly officeLocation?: string;
}

/** The demo mailboxes and their sign-in passwords (Basic/NTLM); the object ids are what delegated tokens carry as `oid`. */
export const DEMO_MAILBOXES: readonly DemoAccount[] = [
  // Names, passwords and object ids match the local identity provider's Contoso users (dev/identity/demo-seed.ts).
  { address: 'alice@contoso.com', displayName: 'Alice Anders', password: 'Alice-Pass1', kind: 'user', entraObjectId: 'd1000000-0000-4000-8000-000000000a11', department: 'Sales', city: 'Seattle', jobTitle: 'Account Manager', businessPhone: '+1 206 555 0101', mobilePhone: '+1 206 555 0191', officeLocation: 'Seattle 2/1201' },
  { address: 'bob@contoso.com', displayName: 'Bob Berg', password: 'Bob-Pass1', kind: 'user', entraObjectId: 'd1000000-0000-4000-8000-000000000b0b', department: 'Operations', city: 'Redmond', jobTitle: 'Operations Lead', businessPhone: '+1 425 555 0102', officeLocation: 'Redmond 18/2110' },
  { address: 'carol@contoso.com', displayName: 'Carol Chen', password: 'Carol-Pass1', kind: 'user', entraObjectId: 'd1000000-0000-4000-8000-000000000ca1', department: 'Finance', city: 'London', jobTitle: 'Controller', businessPhone: '+44 20 7946 0103', mobilePhone: '+44 7700 900103', officeLocation: 'London 4.12' },
  { address: 'dispatch@contoso.com', displayName: 'Contoso Dispatch', password: 'Dispatch-Pass1', kind: 'shared', entraObjectId: 'd1000000-0000-4000-8000-00000000d15a', department: 'Logistics', city: 'Seattle', businessPhone: '+1 206 555 0100' },
];

/**
 * People in Contoso's directory without a mailbox the connector syncs (mail-enabled users): what a
 * directory lookup finds besides the demo mailboxes. Two share "Anders" with Alice Anders, so a
 * lookup for "anders" is ambiguous (EWS ErrorNameResolutionMultipleResults).
 */
export const DEMO_DIRECTORY_PEOPLE: readonly Omit<DemoAccount, 'password' | 'kind'>[] = [
  { address: 'adele.vance@contoso.com', displayName: 'Adele Vance', entraObjectId: 'd1000000-0000-4000-8000-0000000d0001', department: 'Retail', city: 'Seattle', jobTitle: 'Retail Manager', businessPhone: '+1 206 555 0111', mobilePhone: '+1 206 555 0181', officeLocation: 'Seattle 2/1105' },
  { address: 'anders.lindqvist@contoso.com', displayName: 'Anders Lindqvist', entraObjectId: 'd1000000-0000-4000-8000-0000000d0002', department: 'Sales', city: 'Stockholm', jobTitle: 'Sales Director Nordics', businessPhone: '+46 8 555 0112', officeLocation: 'Stockholm 3B' },
  { address: 'diego.siciliani@contoso.com', displayName: 'Diego Siciliani', entraObjectId: 'd1000000-0000-4000-8000-0000000d0003', department: 'HR', city: 'Redmond', jobTitle: 'HR Manager', businessPhone: '+1 425 555 0113', officeLocation: 'Redmond 14/1101' },
  { address: 'megan.bowen@contoso.com', displayName: 'Megan Bowen', entraObjectId: 'd1000000-0000-4000-8000-0000000d0004', department: 'Marketing', city: 'Seattle', jobTitle: 'Marketing Manager', businessPhone: '+1 206 555 0114', mobilePhone: '+1 206 555 0184', officeLocation: 'Seattle 2/1210' },
  { address: 'lee.andersen@contoso.com', displayName: 'Lee Andersen', entraObjectId: 'd1000000-0000-4000-8000-0000000d0005', department: 'Engineering', city: 'London', jobTitle: 'Field Engineer', mobilePhone: '+44 7700 900115', officeLocation: 'London 2.03' },
];

/** The directory attributes of a demo person (keys as the simulator's directory knows them). */
function directoryAttributes(person: Omit<DemoAccount, 'password' | 'kind'>): Record<string, string> {
  const optional = (key: string, value: string | undefined) => (value ? { [key]: value } : {});
  return {
    department: person.department,
    city: person.city,
    companyName: 'Contoso',
    ...optional('jobTitle', person.jobTitle),
    ...optional('businessPhone', person.businessPhone),
    ...optional('mobilePhone', person.mobilePhone),
    ...optional('officeLocation', person.officeLocation),
  };
}

/** The account an on-premises-style connector signs in as; it may impersonate every Contoso mailbox. */
export const DEMO_SERVICE_ACCOUNT = {
  userPrincipalName: 'svc-connector@contoso.com',
  displayName: 'Exchange Connector service account',
  password: 'Connector-Svc-Pass1',
} as const;

export interface DemoSeedOptions {
  /** Content seed; default 'contoso-demo'. */
  readonly seed?: string;
  /** Dates are laid out around this instant. Default: today 09:00 UTC (so the calendar shows this week). */
  readonly referenceDate?: Date;
  /** Items per regular folder; default 36. */
  readonly itemsPerFolder?: number;
}

export interface SeedSummary {
  readonly organisationId: string;
  readonly mailboxes: readonly string[];
  readonly serviceAccounts: readonly string[];
  readonly itemCount: number;
}

/** A named, repeatable set of data to load into a store. */
export interface Seed {
  readonly name: string;
  apply(store: EwsStore): SeedSummary;
}

/** How many items each folder gets, relative to `itemsPerFolder`. */
const FOLDER_SHARES: readonly (readonly [DistinguishedFolderName, number])[] = [
  ['inbox', 1],
  ['sentitems', 0.5],
  ['drafts', 0.1],
  ['deleteditems', 0.15],
  ['junkemail', 0.1],
  ['calendar', 1],
  ['contacts', 0.75],
  ['tasks', 0.4],
];

export function demoOrganisationSeed(options: DemoSeedOptions = {}): Seed {
  const seed = options.seed ?? 'contoso-demo';
  const itemsPerFolder = options.itemsPerFolder ?? 36;
  return {
    name: 'contoso-demo',
    apply(store: EwsStore): SeedSummary {
      const referenceDate = options.referenceDate ?? todayAtNineUtc(store.now());
      store.addOrganisation({ id: DEMO_ORGANISATION.id, name: DEMO_ORGANISATION.name, domains: [DEMO_ORGANISATION.domain], entraTenantId: DEMO_ORGANISATION.entraTenantId });
      const boxes = DEMO_MAILBOXES.map((account) =>
        store.addMailbox({
          smtpAddress: account.address,
          displayName: account.displayName,
          organisationId: DEMO_ORGANISATION.id,
          kind: account.kind,
          password: account.password,
          entraObjectId: account.entraObjectId,
          attributes: directoryAttributes(account),
          // The shared dispatch mailbox is worked by Alice and Bob.
          fullAccess: account.kind === 'shared' ? ['alice@contoso.com', 'bob@contoso.com'] : [],
        }),
      );
      // Directory-only people: mail-enabled users with an (empty) mailbox no demo group syncs.
      for (const person of DEMO_DIRECTORY_PEOPLE) {
        store.addMailbox({ smtpAddress: person.address, displayName: person.displayName, organisationId: DEMO_ORGANISATION.id, kind: 'user', entraObjectId: person.entraObjectId, attributes: directoryAttributes(person) });
      }
      store.addServiceAccount({ ...DEMO_SERVICE_ACCOUNT, organisationId: DEMO_ORGANISATION.id });
      store.grantImpersonation({ organisationId: DEMO_ORGANISATION.id, principal: DEMO_SERVICE_ACCOUNT.userPrincipalName, scope: { kind: 'all' } });

      const owners = boxes.map((box) => personForMailbox(box, DEMO_ORGANISATION.name, seed));
      const generator = new MailContentGenerator({
        seed,
        referenceDate,
        organisationDomain: DEMO_ORGANISATION.domain,
        organisationName: DEMO_ORGANISATION.name,
        knownColleagues: owners,
        colleagueCount: 30,
        externalCount: 80,
      });
      let itemCount = 0;
      for (const box of boxes) {
        for (const [folder, share] of FOLDER_SHARES) {
          const count = Math.max(2, Math.round(itemsPerFolder * share));
          itemCount += fillMailbox(store, box.smtpAddress, { seed, generator, folder: { distinguished: folder }, count, spanInDays: 45 }).created;
        }
        const projects = store.createFolder(box.smtpAddress, { distinguished: 'inbox' }, 'Projects');
        itemCount += fillMailbox(store, box.smtpAddress, { seed, generator, folder: projects.id, count: Math.round(itemsPerFolder / 3), spanInDays: 90 }).created;
      }
      itemCount += deliverInternalConversations(store, generator, owners, referenceDate);
      return {
        organisationId: DEMO_ORGANISATION.id,
        mailboxes: boxes.map((box) => box.smtpAddress),
        serviceAccounts: [DEMO_SERVICE_ACCOUNT.userPrincipalName],
        itemCount,
      };
    },
  };
}

/** Mail between the demo users goes through delivery, so each message is in the sender's Sent Items and the recipients' Inboxes. */
function deliverInternalConversations(store: EwsStore, generator: MailContentGenerator, owners: readonly Person[], referenceDate: Date): number {
  const random = generator.random.fork('internal');
  let created = 0;
  for (let conversation = 0; conversation < 8; conversation++) {
    const [first, second] = random.sample(owners, 2) as [Person, Person];
    let at = new Date(referenceDate.getTime() - random.int(2, 20 * 24) * 3_600_000);
    let previous: ThreadMessage | undefined;
    let sender = first;
    let recipient = second;
    for (let turn = 0; turn < random.int(1, 4); turn++) {
      const next = previous ? generator.reply(previous, sender, 'sent', at) : generator.startThread(sender, 'sent', at);
      const sent = { ...next.message, toRecipients: [recipient.email], ccRecipients: [] };
      store.createItem(sender.address, { distinguished: 'sentitems' }, sent);
      const delivered = store.deliverMail({
        from: sender.email,
        toRecipients: [recipient.email],
        subject: sent.subject ?? '',
        ...(sent.body ? { body: sent.body } : {}),
        ...(sent.internetMessageId ? { internetMessageId: sent.internetMessageId } : {}),
        ...(sent.inReplyTo ? { inReplyTo: sent.inReplyTo } : {}),
        ...(sent.dateTimeSent ? { sentAt: sent.dateTimeSent } : {}),
        receivedAt: new Date(at.getTime() + 5_000),
      });
      created += 1 + delivered.length;
      previous = { ...next.thread, to: [recipient] };
      [sender, recipient] = [recipient, sender];
      at = new Date(at.getTime() + random.int(10, 300) * 60_000);
    }
  }
  return created;
}

function todayAtNineUtc(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 9));
}
