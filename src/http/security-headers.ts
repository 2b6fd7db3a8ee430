import type { FastifyHelmetOptions } from '@fastify/helmet'

type Directives = Record<string, string[]>

/**
 * Every answer with a body carries `X-Content-Type-Options: nosniff`: browsers must take it as
 * the type it declares. An answer without one (POST's 201 and 204, DELETE's 204) has nothing to
 * sniff and goes without: it is the most frequent answer, and each header is written and sent on
 * every one. It is set through the reply, by the hooks the read scopes have anyway, the write
 * handlers and sendProblem, never by a hook of its own on every request (a cost on the hot path),
 * nor on the raw response before Fastify writes its headers (which sends Node's writeHead down its
 * slow path). Pages get it from helmet.
 */
export const NO_SNIFF = 'x-content-type-options'

/** The dashboard: only this origin, no inline script or style, nothing from another host. */
export const DASHBOARD_CSP: Directives = {
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

/**
 * The API docs (swagger-ui): the same, but swagger-ui's scripts add style elements and attributes
 * to the page they build, so styles (never scripts) may be inline there.
 */
export const DOCS_CSP: Directives = {
  ...DASHBOARD_CSP,
  styleSrc: ["'self'", "'unsafe-inline'"],
  fontSrc: ["'self'", 'data:'],
  formAction: ["'self'"],
}

/**
 * @fastify/helmet's headers for the pages, with the given content security policy. HSTS and
 * upgrade-insecure-requests only when the service is served over HTTPS (SERVED_OVER_HTTPS): sent
 * over plain HTTP they would tell a browser to use an HTTPS that is not there.
 */
export function pageHeaders(directives: Directives, https: boolean): FastifyHelmetOptions {
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: https ? { ...directives, upgradeInsecureRequests: [] } : directives,
    },
    strictTransportSecurity: https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
  }
}
