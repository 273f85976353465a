// GET /api/v1/openapi.json – the OpenAPI 3.1 description of every route (open to all, like health:
// the contract is no secret, and a client reads it before it has a token)
import { json, route } from "@/lib/api/route";
import { openApiDocument } from "@/lib/api/openapi";

export const dynamic = "force-dynamic";

export const GET = route({ access: "public", optionalRuntime: true }, async () => json(openApiDocument()));
