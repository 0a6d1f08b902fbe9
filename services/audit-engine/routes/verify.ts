import { z } from 'zod';
import type { Service } from '../../kit/service.js';
import { VerifyResponse } from '../contract.js';
import { toServiceError } from '../database.js';

export async function verifyRoutes(app: Service): Promise<void> {
  app.get(
    '/audit/verify',
    { schema: { querystring: z.object({}).strict(), response: { 200: VerifyResponse } } },
    async () =>
      app.chainVerifier.run().catch((error: unknown) => {
        throw toServiceError(error);
      }),
  );
}
