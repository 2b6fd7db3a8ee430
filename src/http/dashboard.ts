import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import helmet from '@fastify/helmet'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'
import { DASHBOARD_CSP, pageHeaders } from './security-headers.js'

const require = createRequire(import.meta.url)

/**
 * The dashboard at GET /: static files from public/, and uPlot from its npm package, so the page
 * loads nothing from any other host and works offline.
 */
export async function registerDashboard(app: FastifyInstance, https: boolean): Promise<void> {
  await app.register(async (pages) => {
    await pages.register(helmet, pageHeaders(DASHBOARD_CSP, https))
    await servePages(pages)
  })
}

const UPLOT_FILES = new Set(['/uPlot.iife.min.js', '/uPlot.min.css'])

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
    // What the page loads, not the package's other builds and type definitions.
    allowedPath: (path) => UPLOT_FILES.has(path),
    decorateReply: false,
    maxAge: '1d',
  })
}
