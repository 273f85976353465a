// POST /api/v1/nbd/ports/release – give back one port ({port}) or all of a job's ({jobId})
import { notFound } from "@/lib/api/errors";
import { json, route } from "@/lib/api/route";
import { releaseBody, releasedSchema } from "@/lib/api/schemas/nbd";

export const dynamic = "force-dynamic";

export const POST = route(
  { access: "operator", action: "port.release", body: releaseBody },
  async ({ runtime, body }) => {
    if (body.port !== undefined) {
      if (!(await runtime.ports.release(body.port))) throw notFound(`an allocation of port ${body.port}`);
      return json(releasedSchema.parse({ released: [body.port] }));
    }
    return json(releasedSchema.parse({ released: await runtime.ports.releaseJob(body.jobId!) }));
  },
);
