export { createAlertPaging, DEFAULT_RETRY_DELAYS_MS, type AlertPaging, type AlertPagingOptions } from './alert-paging.js';
export { ContactsError, ContactsSection, contactsWithEmail, resolveContacts, type PagingContact, type WebhookTarget } from './contacts.js';
export { createPageMailer, type PageMailer } from './email-pages.js';
export { createPageLedger, migratePageLedger, PAGING_MIGRATIONS_TABLE, PAGING_TABLES, type PageLedger, type PageRecord } from './page-ledger.js';
export { SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhookBody, webhookSignatureProblem } from './webhook-signature.js';
export { DELIVERY_HEADER, PageDeliveryError, sendWebhookPage } from './webhook-pages.js';
export { createIncidentPages, contactsForType, INCIDENT_PAGE_TYPE, type IncidentPagesOptions } from './incident-pages.js';
