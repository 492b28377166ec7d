import { type Kysely, sql } from 'kysely'

// Frozen in time: never edit once shipped; add a new migration instead.
export async function up(db: Kysely<any>): Promise<void> {
  // The portal's administrators as the app has seen them. No REST method lists a portal's
  // administrators (user.get has no ADMIN field or filter; only the caller's own rights are
  // readable: user.admin, profile.ADMIN), so the app remembers the installing user (installing
  // needs admin rights) and every user whose verified page open said ADMIN. Times are unix ms.
  // @see https://apidocs.bitrix24.com/api-reference/common/users/user-admin.html
  await db.schema
    .createTable('portal_admins')
    .addColumn('member_id', 'text', (c) => c.notNull().references('portals.member_id').onDelete('cascade'))
    .addColumn('user_id', 'integer', (c) => c.notNull())
    .addColumn('last_seen_at', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('portal_admins_pk', ['member_id', 'user_id'])
    .execute()

  // One row per portal and alert kind: whether its condition holds now (since started_at), when
  // the admins were last told (null: not yet), and what it was about. The special kind
  // 'im_refused' remembers that im.notify.system.add was refused for want of the `im` scope
  // (detail: the portal's scope then), so the tab can say so and the app stops asking.
  await db.schema
    .createTable('alert_states')
    .addColumn('member_id', 'text', (c) => c.notNull().references('portals.member_id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('started_at', 'integer')
    .addColumn('last_sent_at', 'integer')
    .addColumn('resolved_at', 'integer')
    .addColumn('detail', 'text')
    .addPrimaryKeyConstraint('alert_states_pk', ['member_id', 'kind'])
    .addCheckConstraint('alert_states_active', sql`active in (0, 1)`)
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('alert_states').execute()
  await db.schema.dropTable('portal_admins').execute()
}
