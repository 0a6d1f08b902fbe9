/**
 * The incident channel's name: `inc-<yyyy-mm-dd>-<slug>`. Slack takes at most 80 characters of
 * lowercase letters, digits, hyphens and underscores; a name already taken (an archived channel
 * keeps its name) gets `-2`, `-3`, ... with the slug cut to make room, so the date always shows.
 */
export const MAX_CHANNEL_NAME_LENGTH = 80;

/** Diacritics go, anything outside Slack's alphabet becomes one hyphen. */
export function channelSlug(title: string): string {
  return title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '');
}

/** The date of the declaration in UTC, so that every replica names it alike. */
export function incidentChannelName(title: string, declaredAt: Date, taken: ReadonlySet<string> = new Set()): string {
  const prefix = `inc-${declaredAt.toISOString().slice(0, 10)}-`;
  const slug = channelSlug(title) || 'incident';
  for (let attempt = 1; ; attempt += 1) {
    const suffix = attempt === 1 ? '' : `-${attempt}`;
    const room = MAX_CHANNEL_NAME_LENGTH - prefix.length - suffix.length;
    // A cut can leave a hyphen at the end, which reads as a typo before the suffix.
    const name = `${prefix}${slug.slice(0, room).replace(/[-_]+$/, '')}${suffix}`;
    if (!taken.has(name)) return name;
  }
}
