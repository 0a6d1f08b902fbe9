/** What a step is for; shown beside its title, and `gate` is where a run waits for approvers. */
export const STEP_KINDS = ['check', 'act', 'verify', 'gate', 'notify', 'wait'] as const;
export type StepKind = (typeof STEP_KINDS)[number];
