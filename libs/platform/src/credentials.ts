import { randomBytes } from 'crypto';
import { mkdir } from 'fs/promises';
import { join } from 'path';
import { readOrCreateFile, SECRET_FILE_MODE } from './files';

export const ADMIN_TOKEN_FILE = 'admin-token';

/** The cluster-admin bearer token, generated on first start and kept in the data dir. */
export async function ensureAdminToken(dataDir: string): Promise<string> {
  await mkdir(dataDir, { recursive: true });
  const content = await readOrCreateFile(
    join(dataDir, ADMIN_TOKEN_FILE),
    SECRET_FILE_MODE,
    () => randomBytes(32).toString('base64url') + '\n',
  );
  return content.trim();
}
