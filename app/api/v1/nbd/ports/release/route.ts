// POST /api/v1/nbd/ports/release – give back one port of this node ({port}) or all of a job's ({jobId});
// another node's (a `node` naming it, a job whose ports it holds) is refused: 409 other_node
import { notFound } from "@/lib/api/errors";
import { json, route } from "@/lib/api/route";
import { releaseBody, releasedSchema } from "@/lib/api/schemas/nbd";

export const dynamic = "force-dynamic";

export const POST = route(
  { access: "operator", action: "port.release", body: releaseBody },
  async ({ runtime, body }) => {
    if (body.port !== undefined) {
      if (!(await runtime.ports.release(body.port, body.node))) throw notFound(`an allocation of port ${body.port}`);
      return json(releasedSchema.parse({ released: [body.port] }));
    }
    return json(releasedSchema.parse({ released: await runtime.ports.releaseJob(body.jobId!) }));
  },
);
