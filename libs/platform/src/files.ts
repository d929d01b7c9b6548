import { randomBytes } from 'crypto';
import { chmod, link, readFile, rename, rm, writeFile } from 'fs/promises';

export const SECRET_FILE_MODE = 0o600;
export const PUBLIC_FILE_MODE = 0o644;

function temporarySibling(path: string): string {
  return `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
}

/** Readers never see a half-written file, even if the process dies mid-write. */
export async function writeFileAtomically(path: string, content: string, mode: number): Promise<void> {
  const temporary = temporarySibling(path);
  try {
    await writeFile(temporary, content, { mode });
    // The umask may have narrowed the mode on creation; secrets must not depend on it being sane.
    await chmod(temporary, mode);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Creates the file with `generate()`'s content unless it already exists, and returns what the file
 * holds. Linking a complete temporary file into place is atomic and fails if another process won the
 * race, so concurrent first starts agree on one value and no one reads a partial write.
 */
export async function readOrCreateFile(path: string, mode: number, generate: () => string): Promise<string> {
  const existing = await readFileIfPresent(path);
  if (existing !== undefined && existing.trim() !== '') return existing;
  const temporary = temporarySibling(path);
  await writeFile(temporary, generate(), { mode });
  await chmod(temporary, mode);
  try {
    // An existing but blank file holds nothing worth keeping, so it is replaced rather than raced for.
    if (existing !== undefined) await rename(temporary, path);
    else await link(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await rm(temporary, { force: true });
  }
  return readFile(path, 'utf8');
}

export async function readFileIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
