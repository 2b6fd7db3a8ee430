import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { connect } from 'node:net'
import { describe, expect, it } from 'vitest'

function start(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

/** Resolves with the port once the server logs that it listens; collects stdout. */
function listening(child: ChildProcess, output: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output.push(String(chunk))
      const match = /listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(output.join(''))
      if (match) resolve(Number(match[1]))
    })
    child.on('exit', (code) => reject(new Error(`exited with ${code}`)))
  })
}

// Each test starts its own process on its own port: they can run side by side.
describe.concurrent('the server process', () => {
  it('refuses a bad setting with a one-line message and a non-zero exit', async () => {
    const child = start({ PORT: 'eighty' })
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += String(chunk)
    })
    const [code] = await once(child, 'exit')
    expect(code).toBe(1)
    expect(stderr).toBe('invalid configuration: PORT must be integer\n')
  }, 20_000)

  it('warns when it listens beyond this machine without API keys', async () => {
    const child = start({ HOST: '0.0.0.0' })
    const output: string[] = []
    const seen = new Promise<void>((resolve) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        output.push(String(chunk))
        if (output.join('').includes('without API_KEYS')) resolve()
      })
    })
    await seen
    child.kill('SIGTERM')
    await once(child, 'exit')
    const warning = output
      .join('')
      .split('\n')
      .find((line) => line.includes('without API_KEYS'))
    expect(JSON.parse(warning ?? '{}')).toMatchObject({ level: 40, host: '0.0.0.0' })
  }, 20_000)

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'on %s finishes the request in flight, then exits 0',
    async (signal) => {
      const child = start({})
      const output: string[] = []
      const port = await listening(child, output)
      const socket = connect(port, '127.0.0.1')
      await once(socket, 'connect')
      const body = JSON.stringify({ amount: 1, timestamp: Date.now() })
      socket.write(
        `POST /transactions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      )
      socket.write(body.slice(0, 5))
      await new Promise((resolve) => setTimeout(resolve, 200)) // the request is now in flight
      child.kill(signal)
      await new Promise((resolve) => setTimeout(resolve, 200))
      socket.write(body.slice(5))
      const [response] = await once(socket, 'data')
      expect(String(response)).toMatch(/^HTTP\/1\.1 201 /)
      socket.destroy()
      const [code] = await once(child, 'exit')
      expect(code).toBe(0)
      expect(output.join('')).toContain(`"signal":"${signal}"`)
    },
    20_000,
  )
})
