// The HTTP methods each route under app/api/v1 exports, for proxy.ts: Next.js answers a method
// a route does not export with a bare 405 (no body), before any handler runs; the method guard
// answers it in the error envelope instead. tests/unit/route-methods.test.ts walks app/api/v1
// and fails when this table and the route files disagree (it prints the table to paste).
// No "server-only": proxy.ts imports it.
export const ROUTE_METHODS: Readonly<Record<string, readonly string[]>> = {
  "/audit": ["GET"],
  "/auth/login": ["POST"],
  "/auth/logout": ["POST"],
  "/auth/me": ["GET"],
  "/auth/setup": ["POST"],
  "/backup/start": ["POST"],
  "/backups": ["GET", "POST"],
  "/backups/[id]": ["GET"],
  "/backups/plan": ["GET"],
  "/backups/[id]/cancel": ["POST"],
  "/backups/[id]/complete": ["POST"],
  "/backups/[id]/disks/[diskId]/progress": ["POST"],
  "/backups/[id]/events": ["GET"],
  "/backups/[id]/fail": ["POST"],
  "/health": ["GET"],
  "/metrics": ["GET"],
  "/metrics/prometheus": ["GET"],
  "/nbd/ports": ["GET"],
  "/nbd/ports/[port]": ["GET"],
  "/nbd/ports/allocate": ["POST"],
  "/nbd/ports/release": ["POST"],
  "/nbd/qemu-nbd": ["GET"],
  "/nbd/qemu-nbd/[port]": ["GET"],
  "/nbd/qemu-nbd/start": ["POST"],
  "/nbd/qemu-nbd/stop": ["POST"],
  "/sources": ["GET"],
  "/stats/dashboard": ["GET"],
  "/stats/pool-history": ["GET"],
  "/tokens": ["GET", "POST"],
  "/tokens/[id]": ["DELETE"],
  "/users": ["GET", "POST"],
  "/users/[id]": ["PATCH", "DELETE"],
};
