// Processes for the deployment test: nginx running deploy/nginx/qembed.conf and qembed replicas started with
// deploy/systemd/qembed@.service's ExecStart (PostgreSQL and redis-server come from tests/server/backing_services.mjs).
// Everything listens on loopback (or a unix socket in a temporary folder) and is stopped by the test.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { QEMBED } from "../cli/helpers.mjs";
import { sleep, get } from "../server/server_helpers.mjs";
import { PG_BIN, Postgres, freePort, startRedis } from "../server/backing_services.mjs";

export { Postgres, freePort, startRedis };

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const DEPLOY = path.join(ROOT, "deploy");

/** Why this test cannot run here ("" when it can). */
export function missingTools() {
  const missing = [];
  if (spawnSync("redis-server", ["--version"]).status !== 0) missing.push("redis-server");
  if (spawnSync("nginx", ["-v"]).status !== 0) missing.push("nginx");
  if (!fs.existsSync(path.join(PG_BIN, "initdb"))) missing.push(`PostgreSQL (${PG_BIN}/initdb)`);
  if (process.getuid?.() === 0 && spawnSync("id", ["postgres"]).status !== 0) missing.push("a `postgres` user");
  if (!fs.existsSync(QEMBED)) missing.push(QEMBED);
  return missing.length ? `not installed: ${missing.join(", ")} (scripts/setup.sh installs them)` : "";
}

async function accepts(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

export async function waitAccepting(port, ms, what) {
  const t0 = Date.now();
  while (!(await accepts(port))) {
    if (Date.now() - t0 > ms) throw new Error(`${what} did not accept connections on ${port} within ${ms} ms`);
    await sleep(50);
  }
}

export const UNIT = path.join(DEPLOY, "systemd", "qembed@.service");

/** The unit's ExecStart as argv, with the binary, %i and ${VARS} substituted. */
export function unitCommand(port, vars) {
  const line = fs.readFileSync(UNIT, "utf8").split("\n").find((l) => l.startsWith("ExecStart="));
  if (!line) throw new Error(`${UNIT} has no ExecStart line`);
  const argv = line.slice("ExecStart=".length).trim().split(/\s+/).map((word) =>
    word.replace(/%i/g, String(port)).replace(/\$\{(\w+)\}/g, (_, name) => {
      if (!(name in vars)) throw new Error(`ExecStart uses \${${name}}, which the test does not provide`);
      return vars[name];
    }));
  if (argv[0] !== "/usr/local/bin/qembed") throw new Error(`ExecStart runs ${argv[0]}, not /usr/local/bin/qembed`);
  argv[0] = QEMBED;
  for (const w of argv) if (/\$\{|%/.test(w)) throw new Error(`unsubstituted specifier in ExecStart: ${w}`);
  return argv;
}

/** A replica started as systemd would (same command line); `restart()` starts it again after it died. */
export class Replica {
  constructor(port, vars) {
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.argv = unitCommand(port, vars);
    this.log = "";
  }
  async start() {
    const proc = spawn(this.argv[0], this.argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
    this.proc = proc;
    let err = "";
    this.exited = new Promise((r) => proc.on("exit", (code, signal) => r({ code, signal })));
    proc.stderr.on("data", (d) => ((err += d.toString()), (this.log += d.toString())));
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`replica ${this.port} not ready in 60 s:\n${err}`)), 60_000);
      proc.stderr.on("data", () => /ready on http/.test(err) && (clearTimeout(timer), resolve()));
      this.exited.then((x) => (clearTimeout(timer), reject(new Error(`replica ${this.port} exited (${x.code ?? x.signal}):\n${err}`))));
    });
    const m = err.match(/memory bound (\d+) MiB/);
    this.memoryBoundMiB = m ? Number(m[1]) : undefined;
    await this.waitHealthy(30_000);
  }
  async waitHealthy(ms) {
    const t0 = Date.now();
    for (;;) {
      const r = await get(`${this.url}/health`).catch(() => ({ status: 0 }));
      if (r.status === 200) return Date.now() - t0;
      if (Date.now() - t0 > ms) throw new Error(`replica ${this.port}: /health not 200 within ${ms} ms (${r.status})`);
      await sleep(50);
    }
  }
  kill(sig) {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(sig);
    return this.exited;
  }
}

// --- nginx with deploy/nginx/qembed.conf

export const NGINX_CONF = path.join(DEPLOY, "nginx", "qembed.conf");

/** deploy/nginx/qembed.conf with the upstream's servers and the listen port replaced, nothing else. */
export function renderNginxSite(listenPort, replicaPorts) {
  const src = fs.readFileSync(NGINX_CONF, "utf8");
  const serverLine = /^(\s*)server 127\.0\.0\.1:\d+( [^;\n]*)?;\n/gm;
  const lines = [...src.matchAll(serverLine)];
  if (lines.length === 0) throw new Error(`${NGINX_CONF}: no 'server 127.0.0.1:PORT ...;' lines in the upstream`);
  const [indent, params] = [lines[0][1], lines[0][2] ?? ""];
  let first = true;
  const out = src.replace(serverLine, () => {
    if (!first) return "";
    first = false;
    return replicaPorts.map((p) => `${indent}server 127.0.0.1:${p}${params};\n`).join("");
  });
  if (!/^\s*listen 8080;$/m.test(out)) throw new Error(`${NGINX_CONF}: no 'listen 8080;' line`);
  return out.replace(/^(\s*)listen 8080;$/m, `$1listen 127.0.0.1:${listenPort};`);
}

export async function startNginx(replicaPorts) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qembed-deploy-nginx-"));
  const port = await freePort();
  fs.writeFileSync(path.join(dir, "qembed.conf"), renderNginxSite(port, replicaPorts));
  const root = process.getuid?.() === 0;
  fs.writeFileSync(path.join(dir, "nginx.conf"), `${root ? "user root;\n" : ""}worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  log_format upstreams '$request_method $uri $status upstream=$upstream_addr upstream_status=$upstream_status';
  access_log ${dir}/access.log upstreams;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/qembed.conf;
}
`);
  const check = spawnSync("nginx", ["-t", "-p", dir, "-c", `${dir}/nginx.conf`, "-e", `${dir}/error.log`], { encoding: "utf8" });
  if (check.status !== 0) throw new Error(`nginx -t failed:\n${check.stderr}`);
  const proc = spawn("nginx", ["-p", dir, "-c", `${dir}/nginx.conf`, "-e", `${dir}/error.log`, "-g", "daemon off;"],
    { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  proc.stderr.on("data", (d) => (err += d.toString()));
  const exited = new Promise((r) => proc.on("exit", r));
  await waitAccepting(port, 10_000, `nginx (${err})`);
  return {
    proc, port, dir, url: `http://127.0.0.1:${port}`,
    accessLog: () => fs.readFileSync(`${dir}/access.log`, "utf8"),
    errorLog: () => fs.readFileSync(`${dir}/error.log`, "utf8"),
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGQUIT");
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** YAML files (every document of each) as JSON, through python3's yaml module; null when it is missing. */
export function readYamlDocuments(files) {
  const script = "import json,sys,yaml\nprint(json.dumps({f: list(yaml.safe_load_all(open(f))) for f in sys.argv[1:]}))";
  const r = spawnSync("python3", ["-c", script, ...files], { encoding: "utf8" });
  if (r.status !== 0) {
    if (/No module named .?yaml|ENOENT/.test(r.stderr + (r.error?.code ?? ""))) return null;
    throw new Error(`YAML did not parse:\n${r.stderr}`);
  }
  return JSON.parse(r.stdout);
}
