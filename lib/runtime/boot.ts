// Starts the one runtime of this server process (called by instrumentation-node.ts) and
// stops it on SIGTERM/SIGINT: exports first, then the embedded Postgres, then exit.
import "server-only";
import { provideAuthContext } from "@/lib/auth/context";
import { ConfigError, parseConfig } from "@/lib/config/env";
import { createLogger } from "@/lib/log";
import { runtimeHolder } from "./global";
import { startRuntime } from "./runtime";
import { messageOf } from "@/lib/messages";

export function bootRuntime(): void {
  const holder = runtimeHolder();
  if (holder.promise) return;
  const log = createLogger("nbdhub");
  holder.promise = (async () => {
    const config = parseConfig(process.env);
    return startRuntime(config, { log });
  })();
  holder.promise.then(
    (runtime) => {
      holder.runtime = runtime;
      const { config, db } = runtime;
      // Pages, the client address and the password gate read only this piece of the runtime.
      provideAuthContext({
        db,
        dataDir: config.dataDir,
        trustedProxies: config.trustedProxies,
        passwordHash: { concurrency: config.passwordHashConcurrency, queue: config.passwordHashQueue },
      });
      log.info(`ready: console on http://${runtime.config.host}:${runtime.config.port}`);
    },
    (error) => {
      holder.error = error;
      if (error instanceof ConfigError) log.error(error.message);
      else log.error("start failed", { error: messageOf(error) });
      // A server that cannot reach its database or read its configuration must not linger
      // half-alive: exit so the operator sees the reason and the supervisor can restart it.
      process.exitCode = 1;
      setTimeout(() => process.exit(1), 50);
    },
  );

  const stop = (signal: NodeJS.Signals) => {
    if (holder.stopping) return;
    log.info(`received ${signal}, shutting down`);
    holder.stopping = (async () => {
      try {
        const runtime = await holder.promise?.catch(() => undefined);
        await runtime?.stop();
      } catch (error) {
        log.error("shutdown failed", { error: messageOf(error) });
      } finally {
        process.exit(signal === "SIGINT" ? 130 : 143);
      }
    })();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  // When whoever reads our output is gone (a supervisor or terminal that died), every write
  // fails with EPIPE; unhandled, Next's error handlers log that failure again and the process
  // spins at full CPU, serving nothing. A server that cannot report must stop, in order.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE") stop("SIGTERM");
    });
  }
}
