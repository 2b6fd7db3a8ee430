/**
 * The runtime's ceiling: node:http parsing the POST body as JSON and answering a fixed JSON to
 * GET. PORT from the environment.
 */
import { createServer } from 'node:http'

const STATISTICS = JSON.stringify({ sum: 0, avg: 0, max: 0, min: 0, count: 0 })

createServer((request, response) => {
  if (request.method === 'GET') {
    response.writeHead(200, { 'content-type': 'application/json' }).end(STATISTICS)
    return
  }
  const chunks: Buffer[] = []
  request.on('data', (chunk: Buffer) => chunks.push(chunk))
  request.on('end', () => {
    JSON.parse(Buffer.concat(chunks).toString())
    response.writeHead(201).end()
  })
}).listen(Number(process.env.PORT), '127.0.0.1')
