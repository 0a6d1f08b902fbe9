import { withDatabase } from '../../kit/postgres.js';
import type { Service } from '../../kit/service.js';
import { z } from 'zod';
import { VerifyResponse, VerifyScope } from '../contract.js';
import { parsingSerializerCompiler } from '../response-serializer.js';

const VerifyQuery = z.object({ scope: VerifyScope.optional() }).strict();

export async function verifyRoutes(app: Service): Promise<void> {
  app.setSerializerCompiler(parsingSerializerCompiler);
  app.get(
    '/audit/verify',
    // `scope=checkpoint`: from the newest signed checkpoint the chain matches (cheap); `full` (default): every event.
    { schema: { querystring: VerifyQuery, response: { 200: VerifyResponse } } },
    (request) => withDatabase(() => app.chainVerifier.run(request.query.scope ?? 'full')),
  );
}
