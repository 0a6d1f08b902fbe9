export { cronProblem, nextRunAfter, type CronSchedule } from './cron-times.js';
export { BUILT_IN_JOB_NAMES, BUILT_IN_JOBS, drTestStandingApproval, jobSchedules, ScheduleSection, type BuiltInJobName, type JobSchedule, type MissedRunPolicy } from './scheduled-jobs.js';
export { createScheduleStore, migrateScheduleStore, SCHEDULE_MIGRATIONS_TABLE, SCHEDULE_TABLES, type JobRecord, type ScheduleRun, type ScheduleStore } from './schedule-store.js';
export { createScheduler, OVERDUE_RULE, type JobRunContext, type RunNowResult, type ScheduledJob, type Scheduler, type SchedulerEvent } from './scheduler.js';
export { commandSchedules } from './schedule-commands.js';
