/**
 * Bitrix24's CRM entity type ids, as the universal `crm.item.*` methods take them.
 * @see https://apidocs.bitrix24.com/api-reference/crm/data-types.html#object_type
 */
export const LEAD_TYPE = 1
export const DEAL_TYPE = 2
export const CONTACT_TYPE = 3
