import { cpus, totalmem } from 'os';
import { runAppend } from './append.bench';
import { EtcdResult, runEtcd } from './etcd.bench';
import { Figure, dropAllScratch, log, now, printTable, section } from './harness';
import { runHistory } from './history.bench';
import { runHttp } from './http.bench';
import { runWatch } from './watch.bench';

/**
 * Runs every figure in one process, one after another so they never compete for the two cores, and
 * prints a summary with each figure beside its reference. A failing figure is reported and the rest
 * still run.
 */
async function main(): Promise<void> {
  const t0 = now();
  log(
    `kubetime bench: node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB`,
  );
  const figures: Figure[] = [];
  const attempt = async (name: string, run: () => Promise<Figure[]>) => {
    try {
      figures.push(...(await run()));
    } catch (error) {
      log(`  FAILED ${name}: ${error instanceof Error ? error.message : String(error)}`);
      figures.push({ figure: name, measured: 'failed', reference: '-', goal: '-', verdict: 'missed' });
    }
  };
  let etcd: EtcdResult[] | undefined;
  await attempt('1 store.append', runAppend);
  await attempt('3 etcd reference', async () => {
    const r = await runEtcd();
    etcd = r.results;
    return r.figures;
  });
  await attempt('2 HTTP creates', () => runHttp(etcd?.find((r) => r.concurrency === 32)));
  await attempt('4 time travel', runHistory);
  await attempt('5 watch', runWatch);

  section(`Summary (${Math.round((now() - t0) / 1000)} s)`);
  printTable([
    ['figure', 'measured', 'reference (same run)', 'goal', 'verdict'],
    ...figures.map((f) => [f.figure, f.measured, f.reference, f.goal, f.verdict]),
  ]);
}

let interrupted = false;
process.on('SIGINT', () => {
  // Second Ctrl-C leaves immediately; the first one still drops the scratch databases.
  if (interrupted) process.exit(130);
  interrupted = true;
  log('interrupted: dropping scratch databases');
  void dropAllScratch().finally(() => process.exit(130));
});

main()
  .then(() => dropAllScratch())
  .then(() => process.exit(0))
  .catch(async (error) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    await dropAllScratch();
    process.exit(1);
  });
