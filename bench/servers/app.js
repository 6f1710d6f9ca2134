// The minimal app server that receives callbacks: read the body, answer a small JSON document
// with keep-alive. It verifies nothing, so a callback's measured cost is the storage server's.
import { createServer } from 'node:http';
import { announceReady, option } from './ready.js';

const reply = Buffer.from('{"Status":"OK"}');
let received = 0;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    received += 1;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': reply.length });
    res.end(reply);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, option(process.argv, 'host') ?? '127.0.0.1', () => announceReady(server.address()));
process.on('SIGTERM', () => {
  process.stderr.write(`callbacks received: ${received}\n`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
