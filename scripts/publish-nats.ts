/**
 * Publishes transactions to NATS JetStream for the service's ingest (README, "Ingest from
 * NATS"): no `nats` CLI needed.
 *
 * Run: node --import tsx scripts/publish-nats.ts [subject] [count] [per message]
 * (NATS_URL, nats://127.0.0.1:4222 by default; the subject transactions.in; 10 messages of 1
 * transaction each, stamped now). Each message gets a Nats-Msg-Id, so a publish sent twice is
 * stored once by JetStream.
 */
import { jetstream } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'

const [subject = 'transactions.in', count = '10', perMessage = '1'] = process.argv.slice(2)
const connection = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' })
const js = jetstream(connection)
const run = Date.now()
for (let i = 0; i < Number(count); i++) {
  const items = Array.from({ length: Number(perMessage) }, (_, k) => ({
    amount: Number((((i * 7919 + k * 104_729) % 100_000) / 100).toFixed(2)),
    timestamp: Date.now(),
  }))
  const data = Number(perMessage) === 1 ? items[0] : items
  const ack = await js.publish(subject, JSON.stringify(data), { msgID: `publish-${run}-${i}` })
  if (i === 0) console.log(`stream ${ack.stream}: first message at sequence ${ack.seq}`)
}
console.log(`published ${count} messages of ${perMessage} transaction(s) to ${subject}`)
await connection.close()
