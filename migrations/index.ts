import type { Migration } from 'kysely'
import * as m0001 from './0001_portals.js'
import * as m0002 from './0002_leads.js'
import * as m0003 from './0003_tiktok.js'
import * as m0004 from './0004_webhook_key_rotation.js'
import * as m0005 from './0005_retention.js'
import * as m0006 from './0006_portal_retention.js'
import * as m0007 from './0007_name_order.js'
import * as m0008 from './0008_crm_mode.js'
import * as m0009 from './0009_lead_stage.js'
import * as m0010 from './0010_app_version.js'
import * as m0011 from './0011_lead_quality.js'
import * as m0012 from './0012_speed_to_lead.js'
import * as m0013 from './0013_alerts.js'
import * as m0014 from './0014_analytics.js'
import * as m0015 from './0015_delivered_stage.js'
import * as m0016 from './0016_analytics_outcomes.js'

/** Every migration, in order. The Migrator gets this record directly so no file-system scan is needed after a build. */
export const migrations: Record<string, Migration> = {
  '0001_portals': m0001,
  '0002_leads': m0002,
  '0003_tiktok': m0003,
  '0004_webhook_key_rotation': m0004,
  '0005_retention': m0005,
  '0006_portal_retention': m0006,
  '0007_name_order': m0007,
  '0008_crm_mode': m0008,
  '0009_lead_stage': m0009,
  '0010_app_version': m0010,
  '0011_lead_quality': m0011,
  '0012_speed_to_lead': m0012,
  '0013_alerts': m0013,
  '0014_analytics': m0014,
  '0015_delivered_stage': m0015,
  '0016_analytics_outcomes': m0016,
}
