import { readFileSync } from 'fs';
import { join } from 'path';
import { parse } from 'yaml';
import { loadConfig } from './config';

const root = join(__dirname, '..', '..', '..');

interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, Service>;
    volumes: Record<string, unknown>;
  };
  const { postgres, kubetime } = compose.services;

  it('runs PostgreSQL 15 with a health check and a named volume', () => {
    expect(postgres.image).toBe('postgres:15');
    expect(postgres.environment).toMatchObject({ POSTGRES_PASSWORD: 'postgres', POSTGRES_DB: 'kubetime' });
    expect(postgres.healthcheck?.test.join(' ')).toMatch(/pg_isready .*-d kubetime/);
    expect(postgres.volumes).toContain('postgres-data:/var/lib/postgresql/data');
  });

  it('builds kubetime from the root Dockerfile and starts it once PostgreSQL is healthy', () => {
    expect(kubetime.build).toBe('.');
    expect(kubetime.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(kubetime.ports).toContain('6443:6443');
    expect(kubetime.volumes).toContain('kubetime-data:/data');
    expect(Object.keys(compose.volumes).sort()).toEqual(['kubetime-data', 'postgres-data']);
  });

  it('configures kubetime with values loadConfig accepts', () => {
    const config = loadConfig(kubetime.environment);
    expect(config).toMatchObject({
      databaseUrl: 'postgres://postgres:postgres@postgres:5432/kubetime',
      host: '0.0.0.0',
      port: 6443,
      tlsSans: ['kubetime'],
      dataDir: '/data',
    });
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');

  it('installs, builds and runs the compiled server', () => {
    expect(dockerfile).toMatch(/^FROM node:20/m);
    expect(dockerfile).toMatch(/^RUN npm ci$/m);
    expect(dockerfile).toMatch(/npm run build/);
    expect(dockerfile).toContain('CMD ["node", "dist/apps/server/src/main.js"]');
  });

  it('keeps local state and dependencies out of the build context', () => {
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.kubetime', '.git']));
  });
});
