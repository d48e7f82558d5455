/** Seed data for the EWS simulator: the demo organisation and bulk mailbox fills. */
export { DEMO_DIRECTORY_PEOPLE, DEMO_MAILBOXES, DEMO_ORGANISATION, DEMO_SERVICE_ACCOUNT, demoOrganisationSeed, type DemoAccount, type DemoSeedOptions, type Seed, type SeedSummary } from './demo';
export { DEFAULT_FILL_REFERENCE_DATE, fillMailbox, generatorForMailbox, kindForFolder, personForMailbox, type FillMailboxOptions, type FillSummary } from './fill';
export { MailContentGenerator, makePerson, type ContentGeneratorOptions, type MessageDirection, type Person } from './content';
export { SeededRandom } from './random';
