import type { LeadOrigin } from '../db/repositories/lead-inserts.js'
import type { NormalizedLead } from './schemas.js'

/**
 * A normalised lead's ad account, campaign, ad group, ad and form, as the leads table stores them
 * for the analytics. The form is the instant form's page id (TikTok calls forms pages), else the
 * form id a forwarder gave; its name likewise.
 */
export function leadOrigin(l: NormalizedLead): LeadOrigin {
  return {
    advertiser_id: l.advertiserId,
    campaign_id: l.campaignId,
    adgroup_id: l.adgroupId,
    ad_id: l.adId,
    page_id: l.pageId ?? l.formId,
    campaign_name: l.campaignName,
    adgroup_name: l.adgroupName,
    ad_name: l.adName,
    form_name: l.formName ?? l.pageName,
  }
}
