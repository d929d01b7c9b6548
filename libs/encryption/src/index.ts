export { EncryptionConfigError, EncryptionError } from './errors';
export type {
  EncryptionKey,
  EncryptionSettings,
  KeyedProviderType,
  ProviderSettings,
  ProviderType,
  ResourceRule,
} from './config';
export { parseEncryptionConfiguration } from './config';
export type { ValueTransformer } from './transformer';
export { transformerFromSettings } from './transformer';
export { loadEncryptionConfig } from './load';
export { redactSecret } from './redact';
