import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Admin } from '@platformatic/kafka';
import { freePort } from './free-port.js';

const execFileAsync = promisify(execFile);

/**
 * The broker the harness runs: Apache Kafka 4.1.1 (KRaft only, runs on Java 17, and the newest
 * version @platformatic/kafka 1.x lists as supported). scripts/kafka-fetch.sh puts its jars here;
 * keep the version and the cache directory in step with that script.
 */
export const KAFKA_VERSION = process.env.SIGHTLINE_KAFKA_VERSION ?? '4.1.1';
const CACHE_DIR = process.env.SIGHTLINE_KAFKA_CACHE ?? join(homedir(), '.cache', 'sightline-kafka');
const KAFKA_LIBS = join(CACHE_DIR, KAFKA_VERSION, 'libs');
const FETCHED_MARKER = join(CACHE_DIR, KAFKA_VERSION, '.complete');
const JAVA = process.env.SIGHTLINE_TEST_JAVA ?? 'java';

export const KAFKA_INSTALL_HINT =
  'run `bash .ci/run` or `bash scripts/kafka-fetch.sh` (needs java 17+ and mvn: ' +
  '`apt-get install openjdk-17-jre-headless maven`) to fetch the Kafka ' +
  `${KAFKA_VERSION} jars into ${join(CACHE_DIR, KAFKA_VERSION)}`;

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

let javaFound: boolean | undefined;

export function kafkaAvailable(): boolean {
  if (!existsSync(FETCHED_MARKER)) return false;
  if (javaFound === undefined) {
    try {
      execFileSync(JAVA, ['-version'], { stdio: 'ignore', timeout: 10_000 });
      javaFound = true;
    } catch {
      javaFound = false;
    }
  }
  return javaFound;
}

/** A single-node KRaft broker (broker and controller in one JVM) on free loopback ports. */
export interface KafkaInstance {
  /** `127.0.0.1:<port>`, for bootstrapBrokers. */
  bootstrap: string;
  port: number;
  /** The temp directory with server.properties, the logs (server.log) and the data. */
  dir: string;
  /** How long the last start took, from spawning the JVM to answering a metadata request. */
  startMs: number;
  /** The JVM's own output plus the end of server.log (for failure messages). */
  output(): string;
  /** SIGKILL, keeping the data: an outage as a crash causes it. Idempotent. */
  kill(): Promise<void>;
  /** Stops the broker if it runs (SIGTERM) and starts it again on the same data and port. */
  restart(): Promise<void>;
  /** SIGTERM (SIGKILL after 15 s), then removes the directory. Idempotent. */
  stop(): Promise<void>;
}

interface RunningBroker {
  process: ChildProcess;
  exited: Promise<void>;
}

/**
 * Formats KRaft storage in a temp dir and runs `kafka.Kafka` from the cached jars, resolving once
 * the broker answers a metadata request. Topics are never created implicitly
 * (auto.create.topics.enable=false): the code under test must create what it uses.
 */
export async function startKafka(): Promise<KafkaInstance> {
  if (!kafkaAvailable())
    throw new Error(`Kafka ${KAFKA_VERSION} or java was not found; ${KAFKA_INSTALL_HINT}`);
  const dir = await mkdtemp(join(tmpdir(), 'sightline-kafka-'));
  const configFile = join(dir, 'server.properties');
  const log4jFile = join(dir, 'log4j2.properties');
  const serverLog = join(dir, 'server.log');
  await writeFile(log4jFile, log4jConfig(serverLog));
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-64 * 1024);
  };
  const allOutput = (): string => `${output}\n--- end of ${serverLog} ---\n${tailOf(serverLog)}`;

  let broker: RunningBroker | undefined;
  let port = 0;
  let startMs = 0;
  const launch = async (): Promise<void> => {
    const started = Date.now();
    broker = spawnBroker(configFile, log4jFile, dir, keep);
    await waitUntilReady(broker, `${HOST}:${port}`);
    startMs = Date.now() - started;
  };

  try {
    // freePort() releases the port before the JVM binds it, so another process can win the race.
    for (let attempt = 1; ; attempt++) {
      port = await freePort(HOST);
      const controllerPort = await freePort(HOST);
      await writeFile(configFile, serverProperties(dir, port, controllerPort));
      if (attempt === 1) await formatStorage(configFile, log4jFile, dir);
      try {
        await launch();
        break;
      } catch (error) {
        if (broker !== undefined) await stopBroker(broker, 'SIGKILL');
        if (attempt === 1 && /Address already in use|BindException/.test(allOutput())) continue;
        throw new Error(
          `Kafka did not get ready on ${HOST}:${port}: ${errorMessage(error)}\n--- its output ---\n${allOutput()}`,
          { cause: error },
        );
      }
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  let stopping: Promise<void> | undefined;
  const instance: KafkaInstance = {
    bootstrap: `${HOST}:${port}`,
    port,
    dir,
    get startMs() {
      return startMs;
    },
    output: allOutput,
    kill: async () => {
      if (broker !== undefined) await stopBroker(broker, 'SIGKILL');
    },
    restart: async () => {
      if (broker !== undefined) await stopBroker(broker, 'SIGTERM');
      try {
        await launch();
      } catch (error) {
        if (broker !== undefined) await stopBroker(broker, 'SIGKILL');
        throw new Error(
          `Kafka did not get ready again on ${HOST}:${port}: ${errorMessage(error)}\n--- its output ---\n${allOutput()}`,
          { cause: error },
        );
      }
    },
    stop: () =>
      (stopping ??= (async () => {
        if (broker !== undefined) await stopBroker(broker, 'SIGTERM');
        await rm(dir, { recursive: true, force: true });
      })()),
  };
  return instance;
}

function serverProperties(dir: string, port: number, controllerPort: number): string {
  const settings: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    // A static quorum: `StorageTool format` then needs no --standalone (a 4.x dynamic-quorum flag).
    'controller.quorum.voters': `1@${HOST}:${controllerPort}`,
    listeners: `PLAINTEXT://${HOST}:${port},CONTROLLER://${HOST}:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${HOST}:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': join(dir, 'data'),
    'num.partitions': 1,
    'offsets.topic.replication.factor': 1,
    // Fewer __consumer_offsets partitions than the default 50: the first group starts faster.
    'offsets.topic.num.partitions': 3,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    'group.initial.rebalance.delay.ms': 0,
    'auto.create.topics.enable': false,
    // Tests only: a short session lets a group notice a dead member in seconds.
    'group.consumer.min.session.timeout.ms': 1000,
    'group.min.session.timeout.ms': 1000,
  };
  return `${Object.entries(settings)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join('\n')}\n`;
}

function log4jConfig(serverLog: string): string {
  // Kafka 4.x logs through log4j 2; without a config it would print only errors to the console.
  return [
    'status = error',
    'appender.file.type = File',
    'appender.file.name = file',
    `appender.file.fileName = ${serverLog}`,
    'appender.file.layout.type = PatternLayout',
    'appender.file.layout.pattern = [%d] %p %m (%c)%n',
    'appender.console.type = Console',
    'appender.console.name = console',
    'appender.console.layout.type = PatternLayout',
    'appender.console.layout.pattern = [%d] %p %m (%c)%n',
    'appender.console.filter.threshold.type = ThresholdFilter',
    'appender.console.filter.threshold.level = warn',
    'rootLogger.level = info',
    'rootLogger.appenderRef.file.ref = file',
    'rootLogger.appenderRef.console.ref = console',
    '',
  ].join('\n');
}

function javaArgs(log4jFile: string): string[] {
  return [
    '-Xms128m',
    '-Xmx512m',
    // Short-lived test brokers: a fast start matters more than peak throughput.
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${log4jFile}`,
    '-cp',
    `${KAFKA_LIBS}/*`,
  ];
}

async function formatStorage(configFile: string, log4jFile: string, dir: string): Promise<void> {
  // A cluster id is 16 random bytes in URL-safe base64 without padding (what `random-uuid` prints).
  const clusterId = randomBytes(16).toString('base64url');
  try {
    await execFileAsync(
      JAVA,
      // `=`: an id may start with '-', which as a separate argument reads as an option.
      [
        ...javaArgs(log4jFile),
        'kafka.tools.StorageTool',
        'format',
        `--cluster-id=${clusterId}`,
        '-c',
        configFile,
      ],
      { cwd: dir, timeout: 60_000 },
    );
  } catch (error) {
    const stderr = (error as { stderr?: unknown }).stderr;
    throw new Error(
      `formatting Kafka storage failed: ${typeof stderr === 'string' && stderr !== '' ? stderr : errorMessage(error)}`,
      { cause: error },
    );
  }
}

function spawnBroker(
  configFile: string,
  log4jFile: string,
  dir: string,
  keep: (chunk: Buffer) => void,
): RunningBroker {
  const child = spawn(JAVA, [...javaArgs(log4jFile), 'kafka.Kafka', configFile], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    // kafka.logs.dir would otherwise default to a `logs` folder next to the jars.
    env: { ...process.env, LOG_DIR: dir },
  });
  track(child);
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  void exited.then(() => running.delete(child));
  return { process: child, exited };
}

/** Ready means a client can ask for metadata: the broker listener is up and the controller elected. */
async function waitUntilReady(broker: RunningBroker, bootstrap: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exited = false;
  void broker.exited.then(() => (exited = true));
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`the JVM exited with code ${String(broker.process.exitCode)}`);
    const admin = new Admin({
      clientId: 'sightline-harness',
      bootstrapBrokers: [bootstrap],
      retries: 0,
      connectTimeout: 1000,
      timeout: 2000,
    });
    try {
      await admin.listTopics();
      return;
    } catch (error) {
      lastError = error;
    } finally {
      await admin.close().catch(() => undefined);
    }
    await sleep(250);
  }
  throw new Error(
    `no metadata answer within ${READY_TIMEOUT_MS / 1000} s (last error: ${errorMessage(lastError)})`,
  );
}

async function stopBroker(broker: RunningBroker, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  const { process: child } = broker;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timedOut = await Promise.race([
    broker.exited.then(() => false),
    sleep(STOP_TIMEOUT_MS).then(() => true),
  ]);
  if (timedOut) {
    child.kill('SIGKILL');
    await broker.exited;
  }
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A test that crashes or forgets afterAll must not leave a JVM behind. */
function track(child: ChildProcess): void {
  running.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const leftover of running) leftover.kill('SIGKILL');
    });
  }
}

function tailOf(path: string, lines = 60): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no server.log)';
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
