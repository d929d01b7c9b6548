import { Pool, PoolConfig } from 'pg';
import { DataSource } from 'typeorm';
import { EventLog1732240000000 } from './migrations/1732240000000-event-log';
import { RawValues1732300000000 } from './migrations/1732300000000-raw-values';
import { KeyHorizons1732400000000 } from './migrations/1732400000000-key-horizons';
import { ControllerProgress1733200000000 } from './migrations/1733200000000-controller-progress';
import { EventsWithoutBranchFk1733300000000 } from './migrations/1733300000000-events-without-branch-fk';
import { AppendFunction1733300000001 } from './migrations/1733300000001-append-function';

export const MIGRATIONS = [
  EventLog1732240000000,
  RawValues1732300000000,
  KeyHorizons1732400000000,
  ControllerProgress1733200000000,
  EventsWithoutBranchFk1733300000000,
  AppendFunction1733300000001,
];

/** Any number that other tools are unlikely to pick; several servers on one database queue here. */
const MIGRATION_LOCK = 0x6b756265;

/**
 * Runs the TypeORM migrations under an advisory lock, so servers started together against one
 * database do not race each other through the schema.
 */
export async function migrate(url: string): Promise<void> {
  const dataSource = new DataSource({
    type: 'postgres',
    url,
    migrations: MIGRATIONS,
    migrationsTransactionMode: 'all',
    synchronize: false,
    logging: false,
  });
  await dataSource.initialize();
  try {
    await dataSource.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await dataSource.runMigrations();
    } finally {
      await dataSource.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    await dataSource.destroy();
  }
}

export function createPool(url: string, extra: PoolConfig = {}): Pool {
  // Past reads sort the events since a checkpoint by key (DISTINCT ON); the default 4 MB work_mem
  // spills that sort to disk at a few thousand 1 KB events.
  const pool = new Pool({ connectionString: url, max: 8, options: '-c work_mem=32MB', ...extra });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', () => undefined);
  return pool;
}
