import { withDatabase } from '../../kit/postgres.js';
import type { Service } from '../../kit/service.js';
import { VerifyResponse } from '../contract.js';
import { NoQuery } from '../list-query.js';
import { parsingSerializerCompiler } from '../response-serializer.js';

export async function verifyRoutes(app: Service): Promise<void> {
  app.setSerializerCompiler(parsingSerializerCompiler);
  app.get(
    '/audit/verify',
    { schema: { querystring: NoQuery, response: { 200: VerifyResponse } } },
    () => withDatabase(() => app.chainVerifier.run()),
  );
}
