import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, NestExpressApplication } from '@nestjs/platform-express';
import express from 'express';
import type { IncomingMessage, ServerResponse } from 'http';
import { ConfigError, createLogger, loadConfig } from '@kubetime/platform';
import { AppModule } from './app.module';
import { KubetimeRuntime } from './runtime';
import { TimeTravelGateway } from './timetravel.gateway';

/** Paths Nest controllers answer; everything else is the Kubernetes API. */
const NEST_PATHS = new Set(['/metrics']);

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const runtime = new KubetimeRuntime(config, log);
  await runtime.start();
  const timeTravel = new TimeTravelGateway({
    service: runtime.timeTravel,
    authenticator: runtime.authenticator,
    authorizer: runtime.authorizer,
    log,
  });

  const server = express();
  server.disable('x-powered-by');
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRuntime(runtime, timeTravel),
    new ExpressAdapter(server),
    {
      bodyParser: false,
      logger: ['error', 'warn'],
      httpsOptions: { key: runtime.tls.keyPem, cert: runtime.tls.certPem },
    },
  );
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  const http = app.getHttpServer();
  // The Kubernetes API is dispatched from the server's own 'request' event: express's router, its
  // request/response prototypes and query parsing cost several percent of a small create and the
  // API uses none of them. Nest's express app keeps the paths its controllers answer.
  const nest = http.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  http.removeAllListeners('request');
  http.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    if (NEST_PATHS.has(query < 0 ? url : url.slice(0, query))) {
      for (const listener of nest) listener.call(http, req, res);
      return;
    }
    runtime.api.handle(req, res).catch((error) => log.error({ err: error }, 'request handler failed'));
  });
  // kubectl get -w holds watches for up to an hour; Node's defaults would cut them after 5 minutes.
  http.requestTimeout = 0;
  http.headersTimeout = 60_000;
  http.keepAliveTimeout = 75_000;
  timeTravel.attach(http);
  await app.listen(config.port, config.host);
  log.info({ host: config.host, port: config.port }, 'serving the Kubernetes API over HTTPS');
}

main().catch((error) => {
  // A bad setting is the operator's to fix, not a bug: its message says all, a stack trace only hides it.
  const detail =
    error instanceof ConfigError ? error.message : error instanceof Error ? error.stack : String(error);
  process.stderr.write(`kubetime failed to start: ${detail}\n`);
  process.exit(1);
});
