export { appConfig, loadConfig, resetAppConfigForTests } from './app-config';
export type { AppConfig, StorageConfig, ConnectorEnvironment } from './app-config';
export { ConfigurationError } from './errors';
export { SETTINGS } from './settings-catalogue';
export type { SettingDescription, SettingGroup } from './settings-catalogue';
export { MICROSOFT_CLOUDS } from './microsoft-clouds';
export type { MicrosoftCloud, MicrosoftCloudName } from './microsoft-clouds';
