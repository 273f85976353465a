// This hub's identity among the nodes on one database: what its heartbeat writes into its row
// of `nodes`. The name is NBDHUB_NODE_NAME (default the host name, checked in lib/config/env.ts).
import type { Config } from "@/lib/config/env";

export type NodeIdentity = {
  name: string;
  apiUrl: string;
  nbdHost: string;
  portRange: { min: number; max: number };
  repository: string;
};

type IdentityConfig = Pick<Config, "nodeName" | "publicUrl" | "nbdHost" | "portRange" | "repositoryDir">;

export function nodeIdentity(config: IdentityConfig): NodeIdentity {
  return {
    name: config.nodeName,
    // NBDHUB_PUBLIC_URL, else http://HOST:PORT (lib/config/env.ts): where this node's API answers.
    apiUrl: `${config.publicUrl}/api/v1`,
    nbdHost: config.nbdHost,
    portRange: { ...config.portRange },
    repository: config.repositoryDir,
  };
}
