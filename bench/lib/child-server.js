// Starts one benchmark server as a child process and waits for its READY line, so every server
// has its own pid whose RSS and CPU time the harness can read from /proc.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer as createNetServer } from 'node:net';

/**
 * @typedef {object} ChildServer
 * @property {string} name
 * @property {number} pid
 * @property {number} port
 * @property {string} origin  e.g. http://127.0.0.1:40123
 * @property {() => string} log  the last output lines, for error messages
 * @property {() => Promise<void>} stop
 */

/**
 * Asks the kernel for a free port. Only for servers whose CLI takes a fixed `--port` (upcall's
 * documented interface): the tiny race with another binder is acceptable in a benchmark, never
 * in a test.
 * @param {string} host
 */
export async function freePort(host) {
  const server = createNetServer();
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  server.close();
  await once(server, 'close');
  return port;
}

/** @param {string} host @param {number} port */
async function accepts(host, port) {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * @param {string} name
 * @param {string[]} args  arguments to `node`
 * @param {{ env?: NodeJS.ProcessEnv, cwd?: string, timeoutMs?: number, host?: string, port?: number,
 *   stopSignal?: NodeJS.Signals }} [options]
 *   port: the server was told its port, so wait until it accepts instead of for a READY line
 * @returns {Promise<ChildServer>}
 */
export async function startChildServer(name, args, options = {}) {
  const host = options.host ?? '127.0.0.1';
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  /** @type {string[]} */
  const tail = [];
  const remember = (/** @type {Buffer} */ chunk) => {
    tail.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    tail.splice(0, Math.max(0, tail.length - 30));
  };
  child.stderr.on('data', remember);
  const exited = once(child, 'exit');

  const ready = await new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start within ${options.timeoutMs ?? 30_000} ms`)),
      options.timeoutMs ?? 30_000,
    );
    if (options.port !== undefined) {
      const port = options.port;
      const poll = async () => {
        if (child.exitCode !== null) return;
        if (await accepts(host, port)) {
          clearTimeout(timer);
          resolve({ port });
        } else setTimeout(() => void poll(), 50);
      };
      void poll();
    }
    child.stdout.on('data', (/** @type {Buffer} */ chunk) => {
      remember(chunk);
      buffered += chunk.toString('utf8');
      const match = /^READY (\{.*\})$/m.exec(buffered);
      if (match) {
        clearTimeout(timer);
        resolve(JSON.parse(match[1] ?? '{}'));
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${tail.join('\n')}`));
    });
  }).catch(async (/** @type {Error} */ err) => {
    child.kill('SIGKILL');
    throw err;
  });
  child.stdout.resume();

  return {
    name,
    pid: /** @type {number} */ (child.pid),
    port: ready.port,
    origin: `http://${host}:${ready.port}`,
    log: () => tail.join('\n'),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(options.stopSignal ?? 'SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
