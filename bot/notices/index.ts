export { createDeploymentNotices, SENT_EARLIER, type DeploymentNoticesOptions, type NoticeChat } from './deployment-notices.js';
export { createNoticeMailer, type NoticeMailer } from './email-notices.js';
export { emailSettingsFromEnv, EmailSettingsError, NOTICE_EMAIL_FROM_ENV, NOTICE_EMAIL_TO_ENV, SMTP_URL_ENV, type EmailSettings } from './email-settings.js';
export { createNoticeLedger, migrateNoticeLedger, NOTICE_MIGRATIONS_TABLE, type NoticeLedger } from './notice-ledger.js';
