import { withDatabase } from '../../kit/postgres.js';
import type { Service } from '../../kit/service.js';
import { VerifyResponse } from '../contract.js';
import { NoQuery } from '../list-query.js';

export async function verifyRoutes(app: Service): Promise<void> {
  app.get(
    '/audit/verify',
    { schema: { querystring: NoQuery, response: { 200: VerifyResponse } } },
    () => withDatabase(() => app.chainVerifier.run()),
  );
}
