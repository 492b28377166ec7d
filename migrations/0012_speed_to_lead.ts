import { type Kysely, sql } from 'kysely'

// Frozen in time: never edit once shipped; add a new migration instead.
export async function up(db: Kysely<any>): Promise<void> {
  // Speed-to-lead, per portal (issue 10), all off by default:
  // - notify_responsible: an im.notify.system.add to the lead's responsible user at delivery;
  // - todo_minutes: a to-do (crm.activity.todo.add) due this many minutes after delivery, null = none;
  // - todo_pings: its reminders, minutes before the deadline (crm-activity-todo-add.md pingOffsets:
  //   [0, 15] = at the deadline and 15 min before), a JSON list;
  // - alert_silence_hours: warn the admins when no lead came for this many hours in a period that
  //   normally has leads (the health alerts), null = off.
  // @see https://apidocs.bitrix24.com/api-reference/crm/timeline/activities/todo/crm-activity-todo-add.html
  // @see https://apidocs.bitrix24.com/api-reference/chats/notifications/im-notify-system-add.html
  await sql`alter table portal_settings add column notify_responsible integer not null default 0 check (notify_responsible in (0, 1))`.execute(
    db,
  )
  await sql`alter table portal_settings add column todo_minutes integer check (todo_minutes is null or todo_minutes between 1 and 1440)`.execute(
    db,
  )
  await sql`alter table portal_settings add column todo_pings text not null default '[0,15]'`.execute(db)
  await sql`alter table portal_settings add column alert_silence_hours integer check (alert_silence_hours is null or alert_silence_hours between 1 and 168)`.execute(
    db,
  )
  // The last failure of a notification or a to-do that rode with a lead (the lead itself counts as
  // delivered), shown in the tab until one of that kind succeeds again; null = none.
  await sql`alter table portal_settings add column notify_error text`.execute(db)
  await sql`alter table portal_settings add column todo_error text`.execute(db)
  // The tab's delivery-time and first-contact medians read a portal's delivered leads by done_at.
  await sql`create index leads_delivered_done on leads (member_id, done_at) where status = 'delivered'`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index leads_delivered_done`.execute(db)
  for (const col of [
    'todo_error',
    'notify_error',
    'alert_silence_hours',
    'todo_pings',
    'todo_minutes',
    'notify_responsible',
  ])
    await sql`alter table portal_settings drop column ${sql.ref(col)}`.execute(db)
}
