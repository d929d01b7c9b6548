import { createPrivateKey, generateKeyPair, randomBytes, X509Certificate } from 'crypto';
import { mkdir } from 'fs/promises';
import { isIP } from 'net';
import { hostname } from 'os';
import { join } from 'path';
import { promisify } from 'util';
import forge from 'node-forge';
import { PUBLIC_FILE_MODE, readFileIfPresent, SECRET_FILE_MODE, writeFileAtomically } from './files';

export interface TlsMaterial {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export const PKI_DIR = 'pki';
const CA_CERT = 'ca.crt';
const CA_KEY = 'ca.key';
const SERVING_CERT = 'apiserver.crt';
const SERVING_KEY = 'apiserver.key';

const DAY_MS = 24 * 60 * 60 * 1000;
const CA_LIFETIME_DAYS = 3650;
const SERVING_LIFETIME_DAYS = 365;
/** Renewing this long before expiry leaves a restart window before clients start failing. */
const RENEW_BEFORE_DAYS = 30;
/** Tolerates clients whose clocks run a little behind ours. */
const BACKDATE_MS = 60 * 60 * 1000;

const generateRsaKeyPair = promisify(generateKeyPair);

/**
 * The cluster's CA and the apiserver's serving certificate, kept under `<dataDir>/pki`. The CA is
 * created once and kept, because every kubeconfig handed out trusts it. The serving certificate is
 * reissued by that CA whenever its names no longer match, it nears expiry, or its files disagree.
 */
export async function ensureTls(dataDir: string, extraSans: string[]): Promise<TlsMaterial> {
  const dir = join(dataDir, PKI_DIR);
  await mkdir(dir, { recursive: true });
  const ca = (await loadPair(dir, CA_CERT, CA_KEY)) ?? (await issueCa(dir));
  const sans = servingSans(extraSans);
  const existing = await loadPair(dir, SERVING_CERT, SERVING_KEY);
  const serving =
    existing && isCurrentServingCert(existing.certPem, ca.certPem, sans)
      ? existing
      : await issueServing(dir, ca, sans);
  return { caPem: ca.certPem, certPem: serving.certPem, keyPem: serving.keyPem };
}

/** The names kubectl and in-cluster clients may dial, loopback first, in a stable order. */
export function servingSans(extraSans: string[]): string[] {
  const names = ['127.0.0.1', '::1', 'localhost', hostname(), ...extraSans].map((name) =>
    name.trim().toLowerCase(),
  );
  return [...new Set(names.filter((name) => name !== ''))];
}

interface CertificateAndKey {
  certPem: string;
  keyPem: string;
}

async function loadPair(
  dir: string,
  certFile: string,
  keyFile: string,
): Promise<CertificateAndKey | undefined> {
  const [certPem, keyPem] = await Promise.all([
    readFileIfPresent(join(dir, certFile)),
    readFileIfPresent(join(dir, keyFile)),
  ]);
  if (!certPem || !keyPem) return undefined;
  try {
    // A crash between writing a key and its certificate leaves them mismatched; treat that as absent.
    return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem))
      ? { certPem, keyPem }
      : undefined;
  } catch {
    return undefined;
  }
}

function isCurrentServingCert(certPem: string, caPem: string, sans: string[]): boolean {
  const cert = new X509Certificate(certPem);
  if (!cert.verify(new X509Certificate(caPem).publicKey)) return false;
  if (Date.parse(cert.validTo) - Date.now() < RENEW_BEFORE_DAYS * DAY_MS) return false;
  const wanted = new Set(sans.map(sanKey));
  const present = new Set(certificateSans(forge.pki.certificateFromPem(certPem)));
  return wanted.size === present.size && [...wanted].every((key) => present.has(key));
}

function sanKey(name: string): string {
  return isIP(name) ? `ip:${canonicalIp(name)}` : `dns:${name}`;
}

/** IPv6 has many spellings; the WHATWG URL parser reduces each to one. */
function canonicalIp(ip: string): string {
  return new URL(`http://${isIP(ip) === 6 ? `[${ip}]` : ip}/`).hostname;
}

function ipFromBytes(bytes: string): string {
  if (bytes.length === 4) return [...bytes].map((byte) => byte.charCodeAt(0)).join('.');
  return canonicalIp(forge.util.bytesToHex(bytes).replace(/(.{4})(?!$)/g, '$1:'));
}

function certificateSans(cert: forge.pki.Certificate): string[] {
  const extension = cert.getExtension('subjectAltName') as
    { altNames: { type: number; value: string }[] } | undefined;
  return (extension?.altNames ?? []).map((altName) =>
    altName.type === 7 ? `ip:${ipFromBytes(altName.value)}` : `dns:${altName.value.toLowerCase()}`,
  );
}

async function newKeyPair(): Promise<{ keyPem: string; forgeKeys: forge.pki.rsa.KeyPair }> {
  // Node's native generator is far faster than forge's pure-JS one; forge is only used to sign.
  const { privateKey } = await generateRsaKeyPair('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const forgePrivate = forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey;
  const forgePublic = forge.pki.setRsaPublicKey(forgePrivate.n, forgePrivate.e);
  return { keyPem: privateKey, forgeKeys: { privateKey: forgePrivate, publicKey: forgePublic } };
}

function newCertificate(publicKey: forge.pki.PublicKey, lifetimeDays: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  const serial = randomBytes(16);
  // A positive, non-zero serial: Go's x509 parser rejects negative ones.
  serial[0] = (serial[0] & 0x7f) | 0x01;
  cert.serialNumber = serial.toString('hex');
  const now = Date.now();
  cert.validity.notBefore = new Date(now - BACKDATE_MS);
  cert.validity.notAfter = new Date(now + lifetimeDays * DAY_MS);
  return cert;
}

async function issueCa(dir: string): Promise<CertificateAndKey> {
  const { keyPem, forgeKeys } = await newKeyPair();
  const cert = newCertificate(forgeKeys.publicKey, CA_LIFETIME_DAYS);
  // forge encodes names as PrintableString, which Go's parser enforces: no '@' as kube-apiserver uses.
  const subject = [{ name: 'commonName', value: `kubetime-ca-${Math.floor(Date.now() / 1000)}` }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true, digitalSignature: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forgeKeys.privateKey, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  await writeFileAtomically(join(dir, CA_KEY), keyPem, SECRET_FILE_MODE);
  await writeFileAtomically(join(dir, CA_CERT), certPem, PUBLIC_FILE_MODE);
  return { certPem, keyPem };
}

async function issueServing(dir: string, ca: CertificateAndKey, sans: string[]): Promise<CertificateAndKey> {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const { keyPem, forgeKeys } = await newKeyPair();
  const cert = newCertificate(forgeKeys.publicKey, SERVING_LIFETIME_DAYS);
  cert.setSubject([{ name: 'commonName', value: 'kube-apiserver' }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: sans.map((name) => (isIP(name) ? { type: 7, ip: name } : { type: 2, value: name })),
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  await writeFileAtomically(join(dir, SERVING_KEY), keyPem, SECRET_FILE_MODE);
  await writeFileAtomically(join(dir, SERVING_CERT), certPem, PUBLIC_FILE_MODE);
  return { certPem, keyPem };
}
