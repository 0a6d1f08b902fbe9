/**
 * What the review is written from, read from the incident store in one place, so the file, its
 * Slack summary and any later rewrite of the review read the same records.
 */
import { IncidentError, incidentIdOf, incidentKey } from './incident-input.js';
import type { IncidentStore } from './incident-store.js';
import type { ReviewRecords } from './review-document.js';

export type ReviewSource = Pick<IncidentStore, 'find' | 'timeline' | 'statusUpdates' | 'roleHistory' | 'actionItems'>;

export async function readReviewRecords(store: ReviewSource, idOrKey: string): Promise<ReviewRecords> {
  const id = incidentIdOf(idOrKey);
  if (!id) throw new IncidentError(`"${idOrKey}" is not an incident: incidents are named INC-<number>`, 'not-found');
  const incident = await store.find(id);
  if (!incident) throw new IncidentError(`there is no incident ${incidentKey(id)}`, 'not-found');
  const [timeline, statusUpdates, roleChanges, actionItems] = await Promise.all([
    store.timeline(incident.id),
    store.statusUpdates(incident.id),
    store.roleHistory(incident.id),
    store.actionItems(incident.id),
  ]);
  return { incident, timeline, statusUpdates, roleChanges, actionItems };
}
