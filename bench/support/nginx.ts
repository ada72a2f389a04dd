// nginx as the benchmarks' upstream: two workers, no access log, a fixed body per listener (never the
// bottleneck), its temporary files in the bench's work directory.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Listener is one nginx server: where it listens and the body it answers every request with. */
export interface Listener {
  address: string;
  ports: readonly number[];
  body: string;
}

/** writeNginxConf writes `<work>/upstream.conf` for these listeners and returns its path (nginx -c). */
export function writeNginxConf(work: string, listeners: readonly Listener[]): string {
  const file = join(work, 'upstream.conf');
  const servers = listeners.map(
    (l) =>
      `  server { ${l.ports.map((p) => `listen ${l.address}:${p};`).join(' ')} location / { return 200 "${l.body}\\n"; } }`,
  );
  writeFileSync(
    file,
    `daemon off; worker_processes 2; pid ${work}/up.pid; error_log ${work}/up.log warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000; client_body_temp_path ${work}; proxy_temp_path ${work};
  fastcgi_temp_path ${work}; uwsgi_temp_path ${work}; scgi_temp_path ${work};
${servers.join('\n')} }
`,
  );
  return file;
}
