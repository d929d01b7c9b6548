import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One batch of an append as a function, so its steps run in an order a single SQL statement cannot
 * promise: insert the events first, then move the branch head, then notify.
 *
 * The head move takes the branch row's lock and holds it to COMMIT, which is what orders writers.
 * Inserting before taking it lets the next batch of a pipeline (and a writer in another process)
 * insert its rows while the batch ahead of it commits, instead of waiting for the lock with all of
 * its work still to do. Nothing of a batch becomes visible out of order: its head move waits for the
 * batch ahead and only succeeds if that one committed the revision it expected, and otherwise the
 * function raises KT409 and its rows go with the statement. A writer elsewhere that inserted the
 * same revisions first makes the insert fail on the primary key instead, with the same meaning.
 * Both writers insert in ascending revision order, so their waits on each other's rows cannot form
 * a cycle.
 *
 * The parameters are the five of the former INSERT: the other scalar columns as one JSON array per
 * event, the plaintext bodies as a JSON array, and the sealed and raw bytes, walked in step.
 */
export class AppendFunction1733300000001 implements MigrationInterface {
  name = 'AppendFunction1733300000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION kubetime_append(
        p_branch integer, p_from bigint, p_to bigint, p_scalars jsonb, p_objects jsonb,
        p_sealed bytea[], p_raw bytea[], p_channel text
      ) RETURNS void LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO events (branch_id, revision, key, api_group, api_version, resource, kind, namespace,
                            name, uid, type, object, sealed, prev_revision, create_revision, version,
                            actor, cause, request, recorded_at, raw)
        SELECT p_branch, (e->>0)::bigint, e->>1, e->>2, e->>3, e->>4, e->>5, e->>6, e->>7, e->>8, e->>9,
               NULLIF(o, 'null'::jsonb), s, (e->>10)::bigint, (e->>11)::bigint, (e->>12)::int, e->>13,
               (e->>14)::bigint, (e->>15)::jsonb, (e->>16)::timestamptz, r
          FROM ROWS FROM (jsonb_array_elements(p_scalars), jsonb_array_elements(p_objects),
                          unnest(p_sealed), unnest(p_raw)) AS x(e, o, s, r);
        UPDATE branches SET head_revision = p_to WHERE id = p_branch AND head_revision = p_from;
        IF NOT FOUND THEN
          RAISE EXCEPTION 'the head of branch % is no longer %', p_branch, p_from USING ERRCODE = 'KT409';
        END IF;
        PERFORM pg_notify(p_channel, p_branch || ':' || p_to);
      END
      $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION kubetime_append`);
  }
}
