import { z } from 'zod';
import { withDatabase } from '../../kit/postgres.js';
import type { Service } from '../../kit/service.js';
import { VerifyResponse } from '../contract.js';

export async function verifyRoutes(app: Service): Promise<void> {
  app.get(
    '/audit/verify',
    { schema: { querystring: z.object({}).strict(), response: { 200: VerifyResponse } } },
    () => withDatabase(() => app.chainVerifier.run()),
  );
}
