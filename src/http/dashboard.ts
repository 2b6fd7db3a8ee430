import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import helmet from '@fastify/helmet'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'

const require = createRequire(import.meta.url)

/**
 * The dashboard at GET /: static files from public/, and uPlot from its npm package, so the page
 * loads nothing from any other host and works offline.
 */
export async function registerDashboard(app: FastifyInstance): Promise<void> {
  await app.register(async (pages) => {
    await pages.register(helmet, { contentSecurityPolicy: { directives: DASHBOARD_CSP } })
    await servePages(pages)
  })
}

/** Only this origin: no inline script, nothing from another host. */
const DASHBOARD_CSP = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  frameAncestors: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'none'"],
}

async function servePages(app: FastifyInstance): Promise<void> {
  await app.register(fastifyStatic, {
    root: fileURLToPath(new URL('../../public', import.meta.url)),
    prefix: '/',
    wildcard: false, // a route per file, not a catch-all that would shadow the 404 handler
    decorateReply: false,
    cacheControl: true,
    maxAge: 0,
  })
  await app.register(fastifyStatic, {
    root: dirname(require.resolve('uplot/dist/uPlot.iife.min.js')),
    prefix: '/vendor/uplot/',
    wildcard: false,
    decorateReply: false,
    maxAge: '1d',
  })
}
