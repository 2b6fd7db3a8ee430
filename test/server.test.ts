import { once } from 'node:events'
import { connect } from 'node:net'
import { describe, expect, it } from 'vitest'
import { ServiceProcess } from './support/processes.js'

// Each test starts its own process on its own port: they can run side by side.
describe.concurrent('the server process', () => {
  it('refuses a bad setting with a one-line message and a non-zero exit', async () => {
    const service = new ServiceProcess({ PORT: 'eighty' })
    expect(await service.exited()).toBe(1)
    expect(service.stderr).toBe('invalid configuration: PORT must be integer\n')
  }, 20_000)

  it('warns when it listens beyond this machine without API keys', async () => {
    const service = new ServiceProcess({ HOST: '0.0.0.0' })
    await service.printed('without API_KEYS')
    await service.stop()
    expect(service.lines('without API_KEYS')).toMatchObject([{ level: 40, host: '0.0.0.0' }])
  }, 20_000)

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'on %s finishes the request in flight, then exits 0',
    async (signal) => {
      const service = new ServiceProcess({})
      const port = await service.listening()
      const socket = connect(port, '127.0.0.1')
      await once(socket, 'connect')
      const body = JSON.stringify({ amount: 1, timestamp: Date.now() })
      socket.write(
        `POST /transactions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      )
      socket.write(body.slice(0, 5))
      await new Promise((resolve) => setTimeout(resolve, 200)) // the request is now in flight
      service.child.kill(signal)
      await new Promise((resolve) => setTimeout(resolve, 200))
      socket.write(body.slice(5))
      const [response] = await once(socket, 'data')
      expect(String(response)).toMatch(/^HTTP\/1\.1 201 /)
      socket.destroy()
      expect(await service.exited()).toBe(0)
      expect(service.stdout).toContain(`"signal":"${signal}"`)
    },
    20_000,
  )
})
