import { existsSync, mkdirSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { buildApp } from '../../src/http/app.js'
import { MemoryStore } from '../../src/store/memory.js'

// Debian's chromium (apt-get install chromium); .ci/run installs it when it is missing.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const WINDOW_MS = 3_000
const ARTIFACTS = new URL('../artifacts/', import.meta.url)

let app: FastifyInstance
let base: string
let browser: Browser

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install chromium`)
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    QUANTILES: 'true',
    WINDOW_MS: String(WINDOW_MS),
  })
  app = await buildApp({ config, store: new MemoryStore({ windowMs: WINDOW_MS }) })
  await app.listen({ port: 0, host: '127.0.0.1' })
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  })
  mkdirSync(ARTIFACTS, { recursive: true })
}, 30_000)

afterAll(async () => {
  await browser?.close()
  await app?.close()
})

async function post(amount: number): Promise<void> {
  const response = await fetch(`${base}/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ amount, timestamp: Date.now() }),
  })
  expect(response.status).toBe(201)
}

async function figure(page: Page, id: string): Promise<string> {
  return (await page.textContent(`#${id}`)) ?? ''
}

describe('the dashboard in Chromium', () => {
  it('shows the exact figures live, then zeros once the window has passed, loading nothing from elsewhere', async () => {
    const page = await browser.newPage({ locale: 'en-US', viewport: { width: 1100, height: 760 } })
    const requested: string[] = []
    const problems: string[] = []
    page.on('request', (request) => requested.push(request.url()))
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text())
    })
    page.on('pageerror', (error) => problems.push(error.message))
    await page.goto(`${base}/`)
    await page.waitForSelector('#state[data-state="live"]')

    for (const amount of [0.1, 0.2, 1234.56, 0.01]) await post(amount)
    await page.waitForFunction(() => document.getElementById('count')?.textContent === '4')
    // Grouped for reading; the exact value, as the API wrote it, in the title.
    expect(await figure(page, 'sum')).toBe('1,234.87')
    expect(await figure(page, 'avg')).toBe('308.72')
    expect(await page.getAttribute('#avg', 'title')).toBe('308.7175')
    expect(await page.getAttribute('#sum', 'title')).toBe('1234.87')
    expect(await figure(page, 'min')).toBe('0.01')
    expect(await figure(page, 'max')).toBe('1,234.56')
    // The estimated p50 and p99 beside them: within 1 % of 0.1 and 0.2, the amounts at ranks
    // ⌊0.5 × 3⌋ and ⌊0.99 × 3⌋ of the four.
    for (const [id, truth] of [
      ['p50', 0.1],
      ['p99', 0.2],
    ] as const) {
      expect(await page.isVisible(`#${id}`)).toBe(true)
      const value = Number.parseFloat((await page.getAttribute(`#${id}`, 'title')) ?? '')
      expect(Math.abs(value - truth)).toBeLessThanOrEqual(truth * 0.01)
    }
    expect(await figure(page, 'window')).toBe('3 s')
    expect(await page.title()).toContain('last 3 s')
    await page.waitForSelector('#chart canvas')
    // The chart carries the window's p50 and p99 beside the count and the sum, from the stream's
    // own events: no read per point.
    const legend = await page.textContent('#chart .u-legend')
    expect(legend).toContain('p50 (window)')
    expect(legend).toContain('p99 (window)')
    await page.screenshot({ path: new URL('dashboard.png', ARTIFACTS).pathname })

    // No transaction for the window's length: the page comes back to zeros by itself.
    await page.waitForFunction(
      () => document.getElementById('count')?.textContent === '0',
      undefined,
      {
        timeout: WINDOW_MS + 5_000,
      },
    )
    for (const id of ['sum', 'avg', 'min', 'max']) expect(await figure(page, id)).toBe('0')

    expect(requested.length).toBeGreaterThan(0)
    expect(requested.filter((url) => !url.startsWith(`${base}/`))).toEqual([])
    expect(problems).toEqual([]) // no script error, no content-security-policy violation
    await page.close()
  }, 30_000)

  it('shows the top values of a dimension live, when the service has dimensions', async () => {
    const config = loadConfig({
      LOG_LEVEL: 'silent',
      WINDOW_MS: String(WINDOW_MS),
      DIMENSIONS: 'currency,merchant',
    })
    const store = new MemoryStore({ windowMs: WINDOW_MS, dimensions: config.dimensions })
    const withDimensions = await buildApp({ config, store })
    await withDimensions.listen({ port: 0, host: '127.0.0.1' })
    const origin = `http://127.0.0.1:${(withDimensions.server.address() as AddressInfo).port}`
    const page = await browser.newPage({ locale: 'en-US', viewport: { width: 1100, height: 900 } })
    const problems: string[] = []
    page.on('pageerror', (error) => problems.push(error.message))
    try {
      await page.goto(`${origin}/`)
      await page.waitForSelector('.breakdown:not([hidden])')
      const batch = [
        { amount: 5, timestamp: Date.now(), currency: 'EUR', merchant: '<b>m-1</b>' },
        { amount: 7.5, timestamp: Date.now(), currency: 'USD', merchant: 'm-2' },
        { amount: 2, timestamp: Date.now(), currency: 'EUR' },
      ]
      await fetch(`${origin}/transactions/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(batch),
      })
      await page.waitForFunction(() => document.querySelectorAll('#values tr').length === 2)
      const rows = await page.$$eval('#values tr', (trs) =>
        trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent)),
      )
      // By exact sum: USD's 7.5 before EUR's 7.
      expect(rows).toEqual([
        ['USD', '1', '7.5', '7.5', '7.5', '7.5'],
        ['EUR', '2', '7', '3.5', '2', '5'],
      ])
      await page.selectOption('#dimension', 'merchant')
      await page.waitForFunction(() => document.querySelector('#values td')?.textContent === 'm-2')
      // A value is shown as text, never as markup.
      expect(await page.textContent('#values tr:nth-child(2) td')).toBe('<b>m-1</b>')
      expect(await page.$$('#values b')).toEqual([])
      expect(await page.textContent('#rest tr:nth-child(2)')).toContain('no merchant')
      await page.screenshot({ path: new URL('dashboard-breakdown.png', ARTIFACTS).pathname })
      expect(problems).toEqual([])
    } finally {
      await page.close()
      await withDimensions.close()
    }
  }, 30_000)

  it('fits a phone screen without scrolling sideways', async () => {
    const page = await browser.newPage({ locale: 'en-US', viewport: { width: 375, height: 740 } })
    await page.goto(`${base}/`)
    await page.waitForSelector('#chart canvas')
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - window.innerWidth,
    )
    expect(overflow).toBeLessThanOrEqual(0)
    await page.screenshot({ path: new URL('dashboard-phone.png', ARTIFACTS).pathname })
    await page.close()
  }, 30_000)

  it.each([
    ['phone', 390, 844],
    ['desktop', 1440, 900],
  ] as const)(
    'reads well on a %s (%i px): no figure broken mid-number, the breakdown one line a row',
    async (name, width, height) => {
      const config = loadConfig({ LOG_LEVEL: 'silent', WINDOW_MS: '60000', DIMENSIONS: 'merchant' })
      const store = new MemoryStore({ windowMs: 60_000, dimensions: config.dimensions })
      const withDimensions = await buildApp({ config, store })
      await withDimensions.listen({ port: 0, host: '127.0.0.1' })
      const origin = `http://127.0.0.1:${(withDimensions.server.address() as AddressInfo).port}`
      const page = await browser.newPage({ locale: 'en-US', viewport: { width, height } })
      try {
        // Large sums and long values: what squeezed the table and broke the sum before.
        const batch = Array.from({ length: 12 }, (_, i) => ({
          amount: Number((151_659.11 + i * 1_000.07).toFixed(2)),
          timestamp: Date.now(),
          merchant: `merchant-with-a-long-name-${i}`,
        }))
        await fetch(`${origin}/transactions/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(batch),
        })
        await page.goto(`${origin}/`)
        await page.waitForFunction(() => document.querySelectorAll('#values tr').length >= 10)
        await page.waitForFunction(() => document.querySelector('#count')?.textContent === '12')
        const lines = await page.evaluate(() => {
          const linesOf = (element: Element) => {
            const range = document.createRange()
            range.selectNodeContents(element)
            return new Set(Array.from(range.getClientRects(), (rect) => Math.round(rect.top))).size
          }
          const figures = Array.from(document.querySelectorAll('.figure:not([hidden]) output'))
          const cells = Array.from(document.querySelectorAll('.breakdown th, .breakdown td'))
          return {
            figures: figures.map(linesOf),
            cells: cells.map(linesOf),
            overflow: document.documentElement.scrollWidth - window.innerWidth,
            sum: document.querySelector('#sum')?.textContent,
          }
        })
        expect(lines.sum).toBe('1,885,913.94')
        expect(lines.figures.every((count) => count === 1)).toBe(true)
        expect(lines.cells.every((count) => count <= 1)).toBe(true)
        expect(lines.overflow).toBeLessThanOrEqual(0)
        // Quantiles are off by default: no quantile line on the chart either.
        await page.waitForSelector('#chart .u-legend')
        expect(await page.textContent('#chart .u-legend')).not.toContain('p50')
        await page.screenshot({ path: new URL(`dashboard-${name}.png`, ARTIFACTS).pathname })
      } finally {
        await page.close()
        await withDimensions.close()
      }
    },
    30_000,
  )

  it('shows the API docs without a content-security-policy violation or a script error', async () => {
    const page = await browser.newPage({ locale: 'en-US', viewport: { width: 1100, height: 760 } })
    const problems: string[] = []
    const requested: string[] = []
    page.on('request', (request) => requested.push(request.url()))
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text())
    })
    page.on('pageerror', (error) => problems.push(error.message))
    await page.goto(`${base}/docs`)
    // Rendered from /openapi.json: the operations are on the page.
    await page.waitForSelector('.opblock-summary-path[data-path="/statistics"]')
    await page.click('.opblock-summary-path[data-path="/statistics"]')
    await page.waitForSelector('.opblock-body')
    expect(requested.filter((url) => !url.startsWith(`${base}/`))).toEqual([])
    expect(problems).toEqual([])
    await page.close()
  }, 30_000)
})
