import { X509Certificate } from 'crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'fs/promises';
import { createServer, Server } from 'https';
import { AddressInfo } from 'net';
import { hostname, tmpdir } from 'os';
import { join } from 'path';
import { connect } from 'tls';
import { ensureTls, servingSans } from './tls';

describe('ensureTls', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kubetime-tls-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('issues a CA and a serving certificate for the loopback names, the host name and extra SANs', async () => {
    const tls = await ensureTls(dir, ['kubetime', '10.1.2.3']);
    const ca = new X509Certificate(tls.caPem);
    const cert = new X509Certificate(tls.certPem);
    expect(ca.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    for (const name of ['DNS:localhost', 'IP Address:127.0.0.1', 'DNS:kubetime', 'IP Address:10.1.2.3']) {
      expect(cert.subjectAltName).toContain(name);
    }
    expect(cert.checkHost(hostname().toLowerCase())).toBeDefined();
    expect(cert.checkIP('::1')).toBe('::1');
    expect(Date.parse(cert.validTo) - Date.now()).toBeGreaterThan(300 * 24 * 3600 * 1000);
    for (const key of ['ca.key', 'apiserver.key']) {
      expect((await stat(join(dir, 'pki', key))).mode & 0o777).toBe(0o600);
    }
  });

  it('reuses everything on later starts with the same names', async () => {
    const first = await ensureTls(dir, ['kubetime']);
    const second = await ensureTls(dir, ['kubetime']);
    expect(second).toEqual(first);
  });

  it('reissues only the serving certificate, from the same CA, when the names change', async () => {
    const first = await ensureTls(dir, ['kubetime']);
    const second = await ensureTls(dir, ['kubetime', 'kubetime.example.com']);
    expect(second.caPem).toBe(first.caPem);
    expect(second.certPem).not.toBe(first.certPem);
    expect(second.keyPem).not.toBe(first.keyPem);
    expect(new X509Certificate(second.certPem).subjectAltName).toContain('DNS:kubetime.example.com');
    expect(await ensureTls(dir, ['kubetime', 'kubetime.example.com'])).toEqual(second);
  });

  it('reissues a serving certificate whose key no longer matches', async () => {
    const first = await ensureTls(dir, []);
    const foreign = await ensureTls(join(dir, 'other'), []);
    await writeFile(join(dir, 'pki', 'apiserver.key'), foreign.keyPem);
    const repaired = await ensureTls(dir, []);
    expect(repaired.caPem).toBe(first.caPem);
    expect(new X509Certificate(repaired.certPem).verify(new X509Certificate(first.caPem).publicKey)).toBe(
      true,
    );
    expect(await readFile(join(dir, 'pki', 'apiserver.key'), 'utf8')).toBe(repaired.keyPem);
  });

  it('lists SANs without duplicates, loopback first', () => {
    expect(servingSans(['LOCALHOST', 'kubetime', 'kubetime']).slice(0, 3)).toEqual([
      '127.0.0.1',
      '::1',
      'localhost',
    ]);
    expect(servingSans(['kubetime', 'kubetime'])).toEqual([...new Set(servingSans(['kubetime']))]);
  });

  describe('served over HTTPS', () => {
    let httpsDir: string;
    let server: Server;
    let port: number;
    let caPem: string;
    beforeAll(async () => {
      httpsDir = await mkdtemp(join(tmpdir(), 'kubetime-tls-https-'));
      const tls = await ensureTls(httpsDir, []);
      caPem = tls.caPem;
      server = createServer({ cert: tls.certPem, key: tls.keyPem }, (_req, res) => res.end('ok'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
      await rm(httpsDir, { recursive: true, force: true });
    });

    function handshake(servername: string | undefined, ca: string): Promise<boolean> {
      return new Promise((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port, ca, servername }, () => {
          resolve(socket.authorized);
          socket.end();
        });
        socket.once('error', reject);
      });
    }

    it('verifies for a client that trusts only the generated CA', async () => {
      await expect(handshake(undefined, caPem)).resolves.toBe(true);
      await expect(handshake('localhost', caPem)).resolves.toBe(true);
    });

    it('fails verification for a name not in the certificate', async () => {
      await expect(handshake('elsewhere.example', caPem)).rejects.toThrow(/altnames/i);
    });

    it('fails verification against another CA', async () => {
      const other = await ensureTls(join(dir, 'other'), []);
      await expect(handshake(undefined, other.caPem)).rejects.toThrow(
        /self[- ]signed|unable to verify|issuer/i,
      );
    });
  });
});
