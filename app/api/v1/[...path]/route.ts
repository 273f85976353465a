// Any /api/v1 path that no route serves: the error envelope, not Next's HTML page.
import { ApiError } from "@/lib/api/errors";
import { errorResponse } from "@/lib/api/route";

export const dynamic = "force-dynamic";

function unknown(req: Request): Response {
  const { pathname } = new URL(req.url);
  return errorResponse(
    new ApiError(
      "not_found",
      404,
      `no API route ${pathname}; see the API reference (docs/api.md in the nbdhub project)`,
    ),
  );
}

export const GET = unknown;
export const POST = unknown;
export const PUT = unknown;
export const PATCH = unknown;
export const DELETE = unknown;
