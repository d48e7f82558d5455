export { startIdentityProvider } from './server';
export type { IdentityProviderOptions, RunningIdentityProvider } from './server';
export type { IdentityControl, UserAccessTokenRequest } from './control';
export type { AccessTokenRequest } from './tokens';
export { demoIdentitySeed, DEMO_IDENTITY } from './demo-seed';
export type { DemoSeedOptions } from './demo-seed';
export { FIRST_PARTY_APIS } from './first-party-apps';
export type * from './model';
