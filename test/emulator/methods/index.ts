/** Every REST method the emulated portal answers; anything else is ERROR_METHOD_NOT_FOUND. */
import { appUserMethods } from './app-user.js'
import { batchMethods } from './batch.js'
import { crmActivityMethods } from './crm-activity.js'
import { contactMethods } from './crm-contact.js'
import { dealMethods } from './crm-deal.js'
import { leadMethods } from './crm-lead.js'
import { leadUserFieldMethods } from './crm-lead-userfield.js'
import { crmItemMethods } from './crm-item.js'
import { crmMiscMethods } from './crm-misc.js'
import { eventMethods } from './event.js'
import { imNotifyMethods } from './im-notify.js'
import { placementMethods } from './placement.js'
import type { MethodTable } from './registry.js'

export const METHODS: MethodTable = {
  ...appUserMethods,
  ...batchMethods,
  ...leadMethods,
  ...leadUserFieldMethods,
  ...dealMethods,
  ...contactMethods,
  ...crmMiscMethods,
  ...crmItemMethods,
  ...crmActivityMethods,
  ...imNotifyMethods,
  ...placementMethods,
  ...eventMethods,
}
