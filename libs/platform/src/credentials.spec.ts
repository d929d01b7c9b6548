import { mkdtemp, readFile, rm, stat, writeFile } from 'fs/promises';
import { tmpdir } from 'os';
import { join } from 'path';
import { ensureAdminToken } from './credentials';

describe('ensureAdminToken', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kubetime-token-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('generates a random token once, private to the owner, and keeps it', async () => {
    const token = await ensureAdminToken(dir);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await stat(join(dir, 'admin-token'))).mode & 0o777).toBe(0o600);
    expect(await ensureAdminToken(dir)).toBe(token);
  });

  it('agrees on one token when started concurrently', async () => {
    const tokens = await Promise.all(Array.from({ length: 8 }, () => ensureAdminToken(dir)));
    expect(new Set(tokens).size).toBe(1);
    expect((await readFile(join(dir, 'admin-token'), 'utf8')).trim()).toBe(tokens[0]);
  });

  it('replaces a blank token file', async () => {
    await writeFile(join(dir, 'admin-token'), '\n');
    expect(await ensureAdminToken(dir)).toHaveLength(43);
  });

  it('creates the data dir if needed', async () => {
    expect(await ensureAdminToken(join(dir, 'nested', 'data'))).toHaveLength(43);
  });
});
