// Throwaway backing services for tests and benchmarks: PostgreSQL 15 (the knowledge base's shared store) and
// redis-server (the embedding cache's shared level), each in a temporary folder or on a free loopback port, stopped by
// the caller. Used by tests/server (cache, benchmarks) and tests/deploy (replicas behind nginx).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { until } from "./server_helpers.mjs";

export const PG_BIN = process.env.QEMBED_PG_BIN ?? "/usr/lib/postgresql/15/bin";

export async function freePort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

// --- PostgreSQL (as tests/unit/kb/pg_test_server.hpp: initdb in a temporary folder, unix socket there only; run
// as `postgres` when root). synchronous_commit stays on: an immediate stop must not lose an acknowledged commit.

export class Postgres {
  /** fsync: false (the tests: nothing to keep across a power cut) or true (benchmarks: commits cost what they cost). */
  constructor({ fsync = false } = {}) {
    this.fsync = fsync;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "qembed-pg-"));
    this.asUser = [];
    if (process.getuid?.() === 0) {
      execFileSync("chown", ["postgres:postgres", this.dir]);
      this.asUser = ["runuser", "-u", "postgres", "--"];
    }
    this.port = 5432;  // a unix socket in our own folder: no clash with another server
    this.log = path.join(this.dir, "server.log");
  }
  run(bin, args) {
    const argv = [...this.asUser, path.join(PG_BIN, bin), ...args];
    const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", timeout: 120_000 });
    if (r.status !== 0) throw new Error(`${bin} ${args.join(" ")} failed (${r.status}):\n${r.stdout}${r.stderr}\n` +
      (fs.existsSync(this.log) ? fs.readFileSync(this.log, "utf8").slice(-4000) : ""));
    return r.stdout;
  }
  init() {
    this.run("initdb", ["-D", `${this.dir}/data`, "-U", "qembed", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]);
    this.start();
    this.run("createdb", ["-h", this.dir, "-p", String(this.port), "-U", "qembed", "kb"]);
  }
  start() {
    const options = `-k ${this.dir} -p ${this.port} -c listen_addresses='' -c fsync=${this.fsync ? "on" : "off"} -c max_connections=200`;
    this.run("pg_ctl", ["-D", `${this.dir}/data`, "-l", this.log, "-w", "-t", "60", "-o", options, "start"]);
  }
  /** mode "immediate" is a crash as far as clients see it (connections dropped, recovery at start). */
  stop(mode = "fast") {
    this.run("pg_ctl", ["-D", `${this.dir}/data`, "-m", mode, "-w", "stop"]);
  }
  url() {
    return `postgresql:///kb?host=${this.dir}&port=${this.port}&user=qembed`;
  }
  destroy() {
    try {
      this.stop("immediate");
    } catch {}
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// --- Redis

export async function startRedis(port) {
  const proc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout.on("data", (d) => (out += d.toString()));
  proc.stderr.on("data", (d) => (out += d.toString()));
  const exited = new Promise((r) => proc.on("exit", r));
  await until(() => /Ready to accept connections/.test(out) || proc.exitCode !== null, 10_000, "redis-server");
  if (proc.exitCode !== null) throw new Error(`redis-server exited:\n${out}`);
  return { proc, exited, kill: async (sig = "SIGTERM") => (proc.exitCode === null && proc.kill(sig), exited) };
}

// --- qembed replicas from the systemd unit
