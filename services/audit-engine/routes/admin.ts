import { requireAdminToken } from '../../kit/admin-auth.js';
import { withDatabase } from '../../kit/postgres.js';
import type { Service } from '../../kit/service.js';
import { ReanchorRequest, ReanchorResponse } from '../contract.js';
import { NoQuery } from '../list-query.js';
import { parsingSerializerCompiler } from '../response-serializer.js';

/**
 * The admin endpoint: accepting a chain a restore rolled back (chain-reanchor.ts). It rewrites
 * what counts as the chain's newest evidence, so it needs the admin token, never the service
 * token the producers hold; the token is checked before the body is parsed.
 */
export async function adminRoutes(app: Service, options: { adminToken?: string | undefined }): Promise<void> {
  app.setSerializerCompiler(parsingSerializerCompiler);
  app.post(
    '/audit/admin/reanchor',
    { onRequest: requireAdminToken(options.adminToken), schema: { querystring: NoQuery, body: ReanchorRequest, response: { 200: ReanchorResponse } } },
    (request) => withDatabase(() => app.reanchorChain(request.body)),
  );
}
