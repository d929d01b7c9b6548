/**
 * A stored value could not be sealed or opened. Carries the provider and key name taken from the
 * value's prefix so an operator knows which key to bring back, without ever holding key material.
 */
export class EncryptionError extends Error {
  override readonly name = 'EncryptionError';

  constructor(
    message: string,
    readonly provider: string,
    readonly keyName: string | undefined,
  ) {
    super(message);
  }
}

/** The EncryptionConfiguration is unusable; raised at startup, before any value is touched. */
export class EncryptionConfigError extends Error {
  override readonly name = 'EncryptionConfigError';
}
