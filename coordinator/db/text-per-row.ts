import { type RawBuilder, sql } from 'kysely';

/**
 * `CASE WHEN id = … THEN … END`: each row, by its id, gets its own text, so one UPDATE writes a
 * different value to every row of a batch (a lease's result hash, a unit's current lease).
 * PostgreSQL types the parameters as text, so it is for text columns.
 */
export function textPerRow(valuesById: readonly (readonly [id: number | string, value: string])[]): RawBuilder<string> {
  const branches = valuesById.map(([id, value]) => sql`when ${sql.ref('id')} = ${id} then ${value}`);
  return sql<string>`case ${sql.join(branches, sql` `)} end`;
}
