// POST /api/v1/nbd/ports/release – give back one port of this node ({port}) or all of a job's ({jobId});
// another node's (a `node` naming it, a job whose ports it holds) is released by that node (decision 030)
import { notFound } from "@/lib/api/errors";
import { json, route } from "@/lib/api/route";
import { releaseBody, releasedSchema } from "@/lib/api/schemas/nbd";

export const dynamic = "force-dynamic";

export const POST = route(
  { access: "operator", action: "port.release", body: releaseBody },
  async ({ runtime, body }) => {
    if (body.port !== undefined) {
      if (!(await runtime.control.releasePort(body.port, body.node)))
        throw notFound(`an allocation of port ${body.port}`);
      return json(releasedSchema.parse({ released: [body.port] }));
    }
    return json(releasedSchema.parse({ released: await runtime.control.releaseJobPorts(body.jobId!) }));
  },
);
