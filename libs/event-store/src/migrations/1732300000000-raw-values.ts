import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Values kubetime cannot turn into objects (an imported etcd value of an unknown kind, or sealed with
 * a key this server does not have) are kept byte for byte rather than dropped: a third body column,
 * and exactly one of the three set.
 */
export class RawValues1732300000000 implements MigrationInterface {
  name = 'RawValues1732300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE events ADD COLUMN raw bytea`);
    await q.query(`ALTER TABLE events DROP CONSTRAINT events_check`);
    await q.query(
      `ALTER TABLE events ADD CONSTRAINT events_one_body CHECK (num_nonnulls(object, sealed, raw) = 1)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE events DROP CONSTRAINT events_one_body`);
    await q.query(
      `ALTER TABLE events ADD CONSTRAINT events_check CHECK ((object IS NULL) <> (sealed IS NULL))`,
    );
    await q.query(`ALTER TABLE events DROP COLUMN raw`);
  }
}
