import { CipherGCMTypes, createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
// Node's crypto has no XSalsa20-Poly1305, which kube-apiserver's secretbox provider uses (NaCl secretbox).
import nacl from 'tweetnacl';
import { KeyedProviderType } from './config';

/**
 * The payload layouts kube-apiserver writes after the `k8s:enc:<provider>:v1:<key>:` prefix:
 *   aesgcm    = 12-byte random nonce | ciphertext | 16-byte tag, AAD = the etcd key
 *   aescbc    = 16-byte random IV | CBC ciphertext with PKCS#7 padding (no AAD, no integrity)
 *   secretbox = 24-byte random nonce | NaCl box (16-byte Poly1305 tag, then ciphertext)
 * `open` throws a plain Error whose message is the reason; callers add provider and key name.
 */
export interface PayloadCipher {
  seal(plaintext: Buffer, authenticatedData: Buffer): Buffer;
  open(payload: Buffer, authenticatedData: Buffer): Buffer;
}

const GCM_NONCE_BYTES = 12;
const GCM_TAG_BYTES = 16;
const AES_BLOCK_BYTES = 16;
const SECRETBOX_NONCE_BYTES = nacl.secretbox.nonceLength;

export function payloadCipher(type: KeyedProviderType, key: Buffer): PayloadCipher {
  switch (type) {
    case 'aesgcm':
      return aesGcm(key);
    case 'aescbc':
      return aesCbc(key);
    case 'secretbox':
      return secretbox(key);
  }
}

function aesGcm(key: Buffer): PayloadCipher {
  const algorithm = `aes-${key.length * 8}-gcm` as CipherGCMTypes;
  return {
    seal(plaintext, authenticatedData) {
      const nonce = randomBytes(GCM_NONCE_BYTES);
      const cipher = createCipheriv(algorithm, key, nonce, { authTagLength: GCM_TAG_BYTES });
      cipher.setAAD(authenticatedData);
      return Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    },
    open(payload, authenticatedData) {
      if (payload.length < GCM_NONCE_BYTES + GCM_TAG_BYTES) {
        throw new Error(`value is ${payload.length} bytes, shorter than a nonce and a tag`);
      }
      const nonce = payload.subarray(0, GCM_NONCE_BYTES);
      const tag = payload.subarray(payload.length - GCM_TAG_BYTES);
      const decipher = createDecipheriv(algorithm, key, nonce, { authTagLength: GCM_TAG_BYTES });
      decipher.setAAD(authenticatedData);
      decipher.setAuthTag(tag);
      const plaintext = decipher.update(payload.subarray(GCM_NONCE_BYTES, payload.length - GCM_TAG_BYTES));
      try {
        return Buffer.concat([plaintext, decipher.final()]);
      } catch {
        throw new Error(
          'authentication failed: the key differs from the one that sealed the value, ' +
            'the value was tampered with, or it was copied from another storage key',
        );
      }
    },
  };
}

function aesCbc(key: Buffer): PayloadCipher {
  const algorithm = `aes-${key.length * 8}-cbc`;
  return {
    seal(plaintext) {
      const iv = randomBytes(AES_BLOCK_BYTES);
      const cipher = createCipheriv(algorithm, key, iv);
      return Buffer.concat([iv, cipher.update(plaintext), cipher.final()]);
    },
    open(payload) {
      const body = payload.subarray(AES_BLOCK_BYTES);
      if (payload.length < 2 * AES_BLOCK_BYTES) {
        throw new Error(`value is ${payload.length} bytes, shorter than an IV and one block`);
      }
      if (body.length % AES_BLOCK_BYTES !== 0) throw new Error('value is not a whole number of AES blocks');
      const decipher = createDecipheriv(algorithm, key, payload.subarray(0, AES_BLOCK_BYTES));
      // Padding is checked by hand with kube-apiserver's rule, which accepts any pad length up to the
      // whole plaintext where Node's own check stops at one block.
      decipher.setAutoPadding(false);
      const padded = Buffer.concat([decipher.update(body), decipher.final()]);
      const padLength = padded[padded.length - 1];
      const validPadding =
        padLength > 0 &&
        padLength <= padded.length &&
        padded.subarray(-padLength).every((b) => b === padLength);
      if (!validPadding) throw new Error('invalid PKCS#7 padding: wrong key or damaged value');
      return padded.subarray(0, padded.length - padLength);
    },
  };
}

function secretbox(key: Buffer): PayloadCipher {
  return {
    seal(plaintext) {
      const nonce = randomBytes(SECRETBOX_NONCE_BYTES);
      return Buffer.concat([nonce, nacl.secretbox(plaintext, nonce, key)]);
    },
    open(payload) {
      if (payload.length < SECRETBOX_NONCE_BYTES + nacl.secretbox.overheadLength) {
        throw new Error(`value is ${payload.length} bytes, shorter than a nonce and a tag`);
      }
      const opened = nacl.secretbox.open(
        payload.subarray(SECRETBOX_NONCE_BYTES),
        payload.subarray(0, SECRETBOX_NONCE_BYTES),
        key,
      );
      if (opened === null) {
        throw new Error(
          'authentication failed: the key differs from the one that sealed the value, or the value was tampered with',
        );
      }
      return Buffer.from(opened);
    },
  };
}
