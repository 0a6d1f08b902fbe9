/**
 * Which Slack workspaces (teams) the bot serves. Slack signs every request with the app's one
 * signing secret whatever workspace it comes from, so a valid signature says "from Slack", not
 * "from our workspace": an app distributed to (or shared through a Slack Connect channel with)
 * another workspace would let its users run read-only commands. Each delivery names its team; one
 * outside the allow-list is refused before any command runs.
 *
 * The allow-list is the config's `slack.team_ids`; without it, only the workspace the bot token
 * belongs to (auth.test's team_id: in the local console, the stand-in's own team).
 */

/** Every team a delivery names for the person or place it comes from (not the app's installations). */
export function teamsOfDelivery(body: Record<string, unknown>): string[] {
  const found: unknown[] = [body.team_id, body.user_team];
  const team = body.team as { id?: unknown } | undefined;
  if (team && typeof team === 'object') found.push(team.id);
  const user = body.user as { team_id?: unknown } | undefined;
  if (user && typeof user === 'object') found.push(user.team_id);
  const event = body.event as { team?: unknown; user_team?: unknown } | undefined;
  if (event && typeof event === 'object') found.push(event.team, event.user_team);
  return [...new Set(found.filter((value): value is string => typeof value === 'string' && value.length > 0))];
}

/** The first team of the delivery that is not allowed, or undefined when every team it names is. */
export function foreignTeamOf(body: Record<string, unknown>, allowed: ReadonlySet<string>): string | undefined {
  return teamsOfDelivery(body).find((team) => !allowed.has(team));
}

/** The allow-list in force: the configured teams, else the bot token's own team, else none known (no check). */
export function allowedTeams(configured: readonly string[] | undefined, ownTeam: string | undefined): ReadonlySet<string> | undefined {
  if (configured && configured.length > 0) return new Set(configured);
  return ownTeam ? new Set([ownTeam]) : undefined;
}

export const FOREIGN_TEAM_TEXT = 'This ACGS bot serves only its own Slack workspace; nothing was run.';
