import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How far each controller got on each branch, so a restarted controller resumes from there instead
 * of looking at everything again. Mutable bookkeeping beside the log, not part of it: rows are
 * upserted as controllers move on.
 */
export class ControllerProgress1733200000000 implements MigrationInterface {
  name = 'ControllerProgress1733200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE controller_progress (
        branch_id   integer NOT NULL REFERENCES branches(id),
        controller  text NOT NULL,
        revision    bigint NOT NULL CHECK (revision >= 0),
        updated_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (branch_id, controller)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE controller_progress`);
  }
}
