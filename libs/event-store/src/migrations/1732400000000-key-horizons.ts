import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Retention rules compact one resource's keys further than the rest of a branch: each row is the
 * oldest revision at which the keys under a storage prefix can still be read exactly, so reads of
 * that resource below it answer "compacted" while other resources stay readable.
 */
export class KeyHorizons1732400000000 implements MigrationInterface {
  name = 'KeyHorizons1732400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE key_horizons (
        branch_id        integer NOT NULL REFERENCES branches(id),
        key_prefix       text COLLATE "C" NOT NULL,
        compact_revision bigint NOT NULL,
        PRIMARY KEY (branch_id, key_prefix)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE key_horizons`);
  }
}
