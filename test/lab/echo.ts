// echo — the lab's demo app: an HTTP server answering every request with JSON describing it
// {path, host, method, headers, namespace, service, pod, node, client}. Runs inside a pod namespace.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.PORT ?? '8080' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(`Usage: node test/lab/echo.ts [--port 8080]
Answers every HTTP request with JSON: path, host, method, headers, namespace, service, pod, node, client.
Environment: POD_NAME, POD_NAMESPACE, NODE_NAME, SERVICE_NAME (default "echo").`);
  process.exit(0);
}

const server = createServer((req, res) => {
  const body = JSON.stringify({
    path: req.url,
    host: req.headers.host ?? '',
    method: req.method,
    headers: req.headers,
    namespace: process.env.POD_NAMESPACE ?? '',
    service: process.env.SERVICE_NAME ?? 'echo',
    pod: process.env.POD_NAME ?? '',
    node: process.env.NODE_NAME ?? '',
    client: { address: req.socket.remoteAddress?.replace(/^::ffff:/, ''), port: req.socket.remotePort },
  });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 30_000;
server.listen(Number(values.port), '::', () => {
  console.log(
    JSON.stringify({ msg: 'echo listening', port: Number(values.port), pod: process.env.POD_NAME }),
  );
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
