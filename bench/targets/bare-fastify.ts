/**
 * The framework's ceiling: Fastify with the service's two routes and the same schemas and Ajv
 * options, doing no work. PORT from the environment.
 */
import Fastify from 'fastify'
import { StatisticsSchema } from '../../src/http/routes/statistics.js'
import { TransactionSchema } from '../../src/http/routes/transactions.js'

const app = Fastify({
  logger: false,
  ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true } },
})
const ZEROS = { sum: 0, avg: 0, max: 0, min: 0, count: 0 }
app.post('/transactions', { schema: { body: TransactionSchema } }, (_request, reply) => {
  reply.code(201).send()
})
app.get('/statistics', { schema: { response: { 200: StatisticsSchema } } }, () => ZEROS)
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
