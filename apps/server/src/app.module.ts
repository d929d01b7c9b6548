import { Controller, DynamicModule, Get, Header, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { KubetimeRuntime } from './runtime';

const RUNTIME = Symbol('KubetimeRuntime');

@Controller()
class MetricsController {
  constructor(@Inject(RUNTIME) private readonly runtime: KubetimeRuntime) {}

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  metrics(): Promise<string> {
    return this.runtime.metrics.registry.metrics();
  }
}

class RuntimeLifecycle implements OnApplicationShutdown {
  constructor(@Inject(RUNTIME) private readonly runtime: KubetimeRuntime) {}

  async onApplicationShutdown(): Promise<void> {
    await this.runtime.stop();
  }
}

/** Wires a started runtime into Nest: the Kubernetes API is mounted as middleware in main.ts. */
@Module({})
export class AppModule {
  static forRuntime(runtime: KubetimeRuntime): DynamicModule {
    return {
      module: AppModule,
      controllers: [MetricsController],
      providers: [{ provide: RUNTIME, useValue: runtime }, RuntimeLifecycle],
    };
  }
}
