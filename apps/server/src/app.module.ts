import {
  BeforeApplicationShutdown,
  Controller,
  DynamicModule,
  Get,
  Header,
  Inject,
  Module,
  OnApplicationShutdown,
} from '@nestjs/common';
import { KubetimeRuntime } from './runtime';
import { TimeTravelGateway } from './timetravel.gateway';

const RUNTIME = Symbol('KubetimeRuntime');
const TIMETRAVEL = Symbol('TimeTravelGateway');

@Controller()
class MetricsController {
  constructor(@Inject(RUNTIME) private readonly runtime: KubetimeRuntime) {}

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  metrics(): Promise<string> {
    return this.runtime.metrics.registry.metrics();
  }
}

class RuntimeLifecycle implements BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    @Inject(RUNTIME) private readonly runtime: KubetimeRuntime,
    @Inject(TIMETRAVEL) private readonly timeTravel: TimeTravelGateway,
  ) {}

  /** Upgraded sockets would keep the HTTP server from closing: they end first. */
  beforeApplicationShutdown(): void {
    this.timeTravel.close();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runtime.stop();
  }
}

/** Wires a started runtime into Nest: the Kubernetes API is dispatched from the HTTPS server in main.ts, the time-travel WebSocket on the same server. */
@Module({})
export class AppModule {
  static forRuntime(runtime: KubetimeRuntime, timeTravel: TimeTravelGateway): DynamicModule {
    return {
      module: AppModule,
      controllers: [MetricsController],
      providers: [
        { provide: RUNTIME, useValue: runtime },
        { provide: TIMETRAVEL, useValue: timeTravel },
        RuntimeLifecycle,
      ],
    };
  }
}
