/**
 * The Audit Engine's event type of the services' refused tokens; the weekly security report reads
 * it. Apart from auth-refusals.ts so that the report does not load the services' metrics to name it.
 */
export const AUTH_REFUSED_EVENT = 'auth_refused';
