// The real server for the tests: `echodepth serve` (embedded mode) on a free port with a temp data dir,
// a static file server for URL inputs and a webhook receiver. Nothing between the SDK and the server is mocked.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createReadStream, existsSync } from 'node:fs';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const VENV_BIN = join(ROOT, '.venv', 'bin');
export const SERVER_BIN = process.env.ECHODEPTH_SERVER_BIN ?? join(VENV_BIN, 'echodepth');
export const PYTHON = process.env.ECHODEPTH_PYTHON ?? join(VENV_BIN, 'python');
export const RATE_LIMIT_PER_MINUTE = 300;

function listen(server) {
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server.address().port)));
}

export async function freePort() {
  const s = createServer();
  const port = await listen(s);
  await new Promise((ok) => s.close(ok));
  return port;
}

export async function startServer() {
  const dataDir = mkdtempSync(join(tmpdir(), 'echodepth-node-'));
  const port = await freePort();
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ECHODEPTH_')));
  Object.assign(env, {
    ECHODEPTH_DATA_DIR: join(dataDir, 'var'),
    ECHODEPTH_HOST: '127.0.0.1',
    ECHODEPTH_PORT: String(port),
    ECHODEPTH_ALLOW_PRIVATE_URLS: 'true',
    ECHODEPTH_RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT_PER_MINUTE),
    ECHODEPTH_WEBHOOK_RETRY_SCHEDULE: '1,2,5',
    ECHODEPTH_VIDEO_FPS: '2',
    ECHODEPTH_LOG_LEVEL: 'WARNING',
  });
  execFileSync(SERVER_BIN, ['db', 'upgrade'], { env, stdio: 'pipe' });
  const log = join(dataDir, 'server.log');
  const fd = openSync(log, 'w');
  const proc = spawn(SERVER_BIN, ['serve'], { env, stdio: ['ignore', fd, fd] });
  const baseURL = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`echodepth serve exited:\n${readFileSync(log, 'utf8')}`);
    try {
      if ((await fetch(`${baseURL}/healthz`)).ok) break;
    } catch {
      /* not up yet */
    }
    await new Promise((ok) => setTimeout(ok, 200));
  }
  const createKey = (tenant) =>
    execFileSync(SERVER_BIN, ['keys', 'create', '--tenant', tenant], { env }).toString().trim().split('\n').pop();
  const stop = async () => {
    if (proc.exitCode === null) {
      proc.kill('SIGTERM');
      await new Promise((ok) => proc.once('exit', ok));
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { baseURL, env, createKey, stop, log };
}

/** Small inputs: a 2 s talking-head MP4 (made by tests/engine/media_factory.py), a WAV, two faces. */
export function makeMedia() {
  const dir = mkdtempSync(join(tmpdir(), 'echodepth-media-'));
  execFileSync(
    PYTHON,
    ['-c', `from pathlib import Path; from tests.engine.media_factory import talking_head; talking_head(Path(${JSON.stringify(join(dir, 'talk.mp4'))}), seconds=2.0)`],
    { cwd: ROOT, stdio: 'pipe' },
  );
  copyFileSync(join(ROOT, 'tests/fixtures/audio/speech_pauses_um.wav'), join(dir, 'speech.wav'));
  copyFileSync(join(ROOT, 'tests/fixtures/faces/london_008_neutral.jpg'), join(dir, 'neutral.jpg'));
  copyFileSync(join(ROOT, 'tests/fixtures/faces/london_008_smiling.jpg'), join(dir, 'smiling.jpg'));
  return dir;
}

export async function serveDirectory(dir) {
  const server = createServer((req, res) => {
    const path = join(dir, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (!path.startsWith(dir) || !existsSync(path)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200);
    createReadStream(path).pipe(res);
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((ok) => server.close(ok)) };
}

/** A webhook receiver that answers 200 and keeps every raw request. */
export async function startReceiver() {
  const received = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200).end();
    });
  });
  const port = await listen(server);
  const waitFor = async (predicate, timeout = 60_000) => {
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      const hit = received.find(predicate);
      if (hit) return hit;
      await new Promise((ok) => setTimeout(ok, 100));
    }
    throw new Error(`no matching webhook delivery; got ${received.length}`);
  };
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    waitFor,
    close: () => new Promise((ok) => server.close(ok)),
  };
}
