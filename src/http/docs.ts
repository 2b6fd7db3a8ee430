import helmet from '@fastify/helmet'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { DOCS_CSP, NO_SNIFF, pageHeaders } from './security-headers.js'

/** The OpenAPI document, built from the route schemas, at /openapi.json and browsable at /docs. */
export async function registerDocs(
  app: FastifyInstance,
  version: string,
  https: boolean,
): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Transaction statistics',
        description:
          'Rolling-window statistics of financial transactions: millisecond-exact, decimal-exact, O(1). Errors are RFC 9457 problem details (application/problem+json). Any route may answer 503 with Retry-After while the service sheds load, and 429 with Retry-After when rate limiting is configured.',
        version,
      },
      components: {
        securitySchemes: {
          apiKey: {
            type: 'http',
            scheme: 'bearer',
            description: 'One of API_KEYS, when it is set',
          },
        },
      },
      tags: [
        { name: 'transactions', description: 'Record and delete transactions' },
        { name: 'statistics', description: 'Read the window' },
        { name: 'operations', description: 'Health and readiness' },
      ],
    },
    // Shared schemas appear under their own $id (e.g. Problem), not def-0.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`),
    },
  })
  // Security headers on the docs pages, with a policy that swagger-ui runs under without a
  // violation (its own default would send upgrade-insecure-requests over plain HTTP).
  await app.register(async (pages) => {
    await pages.register(helmet, pageHeaders(DOCS_CSP, https))
    await pages.register(swaggerUi, { routePrefix: '/docs' })
  })
  app.get('/openapi.json', { schema: { hide: true } }, (_request, reply) => {
    reply.header(NO_SNIFF, 'nosniff')
    return app.swagger()
  })
}
