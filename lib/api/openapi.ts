// The OpenAPI 3.1 document of /api/v1 (GET /api/v1/openapi.json, the console's API page),
// generated from the route table (contract.ts) with zod's own z.toJSONSchema: requests as the
// schemas take them (io "input": a default makes a field optional, a string port stays a string),
// answers as they come out (io "output"), the named answer shapes once under components/schemas.
// Decision 018. Pure: no server imports, so the page and the route share it.
import { z } from "zod";
import { SESSION_COOKIE } from "@/lib/auth/cookie";
import { ANSWER_COMPONENTS, OPERATIONS, type Answer, type Operation, type OtherAnswer } from "./contract";

type Json = Record<string, unknown>;
type JsonSchema = Json;

const ROLE_WORDS: Record<Operation["access"], string> = {
  public: "No sign-in needed.",
  viewer: "Needs a signed-in user or an API token with the viewer role or above.",
  operator: "Needs the operator role or above.",
  admin: "Needs the admin role.",
};

const STATUS_WORDS: Record<number, string> = {
  200: "OK",
  201: "Created",
  202: "Accepted: the work goes on in the background",
  400: "The body is not JSON (invalid_json), or the path does not decode (invalid_path)",
  401: "unauthenticated: no session or token, or it is no longer valid",
  403: "forbidden: the caller's role is too low, or a cookie-borne change came from another site",
  404: "not_found",
  409: "A state conflict",
  413: "body_too_large: over 64 KiB",
  421: "host_not_allowed: the Host is not one nbdhub answers to",
  422: "validation_failed: details names each field",
  429: "Too many requests",
  503: "not_ready while the server starts, database_unavailable (with Retry-After)",
  507: "Insufficient storage",
};

/** "/backups/[id]/cancel" → "/backups/{id}/cancel". */
export function openApiPath(path: string): string {
  return path.replace(/\[([^\]/]+)\]/g, "{$1}");
}

function operationId(op: Operation): string {
  const words = op.path
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1));
  return op.method.toLowerCase() + words.join("");
}

function isOther(answer: Answer): answer is OtherAnswer {
  return typeof (answer as OtherAnswer).contentType === "string";
}

/** Drops the dialect line, and zod's long regex beside a `format` (date-time says it better). */
function withoutDialect(schema: JsonSchema): JsonSchema {
  const { $schema: _dialect, ...rest } = schema;
  void _dialect;
  return tidy(rest) as JsonSchema;
}

function tidy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(tidy);
  if (!value || typeof value !== "object") return value;
  const out: Json = {};
  const record = value as Json;
  for (const [key, inner] of Object.entries(record)) {
    if (key === "pattern" && typeof record.format === "string") continue;
    out[key] = tidy(inner);
  }
  return out;
}

/** A request schema, inlined: what the route accepts. */
function requestSchema(schema: z.ZodType): JsonSchema {
  return withoutDialect(
    z.toJSONSchema(schema, { io: "input", target: "draft-2020-12", unrepresentable: "any" }) as JsonSchema,
  );
}

/** Path or query parameters: one per property of the route's object schema. */
function parameters(schema: z.ZodType, where: "path" | "query"): Json[] {
  const json = requestSchema(schema);
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: where,
    required: where === "path" || required.has(name),
    ...(typeof property.description === "string" ? { description: property.description } : {}),
    schema: property,
  }));
}

const ERROR_ENVELOPE = {
  type: "object",
  properties: {
    error: {
      type: "object",
      properties: {
        code: { type: "string", description: "snake_case, stable: what a program tests" },
        message: { type: "string", description: "for a person" },
        details: { description: "field names and what they expect, or the numbers behind a refusal" },
      },
      required: ["code", "message"],
    },
  },
  required: ["error"],
};

function errorAnswer(words: string): Json {
  return {
    description: words,
    content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
  };
}

/** The refusals every route of this kind can give, then the route's own. */
function errorStatuses(op: Operation): Record<number, string> {
  const out: Record<number, string> = { 421: STATUS_WORDS[421] };
  if (op.access !== "public") {
    out[401] = STATUS_WORDS[401];
    out[403] = STATUS_WORDS[403];
  }
  if (op.body) {
    out[400] = STATUS_WORDS[400];
    out[413] = STATUS_WORDS[413];
  }
  if (op.params || op.query || op.body) out[422] = STATUS_WORDS[422];
  if (op.params) out[404] = STATUS_WORDS[404];
  out[503] = STATUS_WORDS[503];
  for (const [status, words] of Object.entries(op.errors ?? {})) {
    const generic = out[Number(status)];
    out[Number(status)] = generic && generic !== words ? `${words}; or ${generic}` : words;
  }
  return out;
}

export type OpenApiDocument = {
  openapi: "3.1.0";
  info: Json;
  servers: Json[];
  tags: Json[];
  paths: Record<string, Record<string, Json>>;
  components: Json;
};

export function buildOpenApiDocument(): OpenApiDocument {
  // Named answers, converted together so each refers to the others by $ref.
  const registry = z.registry<{ id: string }>();
  const names = new Map<z.ZodType, string>();
  for (const [name, schema] of Object.entries(ANSWER_COMPONENTS)) {
    registry.add(schema, { id: name });
    names.set(schema, name);
  }
  for (const op of OPERATIONS) {
    for (const [status, answer] of Object.entries(op.answers)) {
      if (isOther(answer) || names.has(answer)) continue;
      const name = `${operationId(op)}${status}`;
      registry.add(answer, { id: name });
      names.set(answer, name);
    }
  }
  const converted = z.toJSONSchema(registry, {
    io: "output",
    target: "draft-2020-12",
    unrepresentable: "any",
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, JsonSchema> };
  const schemas: Record<string, JsonSchema> = { Error: ERROR_ENVELOPE };
  for (const [name, schema] of Object.entries(converted.schemas)) {
    const { id: _id, ...rest } = withoutDialect(schema);
    void _id;
    schemas[name] = rest;
  }

  const paths: OpenApiDocument["paths"] = {};
  const areas: string[] = [];
  for (const op of OPERATIONS) {
    if (!areas.includes(op.area)) areas.push(op.area);
    const responses: Json = {};
    for (const [status, answer] of Object.entries(op.answers)) {
      responses[status] = isOther(answer)
        ? { description: answer.description, content: { [answer.contentType]: { schema: { type: "string" } } } }
        : {
            description: STATUS_WORDS[Number(status)] ?? "Answer",
            content: { "application/json": { schema: { $ref: `#/components/schemas/${names.get(answer)}` } } },
          };
    }
    for (const [status, words] of Object.entries(errorStatuses(op))) {
      if (!(status in responses)) responses[status] = errorAnswer(words);
    }
    const operation: Json = {
      operationId: operationId(op),
      tags: [op.area],
      summary: op.summary,
      description: ROLE_WORDS[op.access],
      "x-nbdhub-access": op.access,
      security: op.access === "public" ? [] : [{ sessionCookie: [] }, { bearerToken: [] }],
      parameters: [
        ...(op.params ? parameters(op.params, "path") : []),
        ...(op.query ? parameters(op.query, "query") : []),
      ],
      ...(op.body
        ? { requestBody: { required: true, content: { "application/json": { schema: requestSchema(op.body) } } } }
        : {}),
      responses,
    };
    const path = openApiPath(op.path);
    paths[path] ??= {};
    paths[path][op.method.toLowerCase()] = operation;
  }

  return {
    openapi: "3.1.0",
    info: {
      title: "nbdhub API",
      version: "1",
      description:
        "The NBD layer of a VM backup hub: the port pool, qemu-nbd exports, backups, restores, policies and " +
        "access control. Every answer and error is JSON; an error is always " +
        '{"error": {"code", "message", "details"}}. Roles: viewer reads, operator also starts, cancels and ' +
        "stops, admin also manages users, tokens, policies and notifications.",
    },
    servers: [{ url: "/api/v1" }],
    tags: areas.map((name) => ({ name })),
    paths,
    components: {
      schemas,
      securitySchemes: {
        sessionCookie: {
          type: "apiKey",
          in: "cookie",
          name: SESSION_COOKIE,
          description: "The console's session, set by POST /auth/login",
        },
        bearerToken: {
          type: "http",
          scheme: "bearer",
          description: "An API token made under Tokens: Authorization: Bearer <token>",
        },
      },
    },
  };
}

let cached: OpenApiDocument | undefined;

/** The document is the same for the life of the process: build it once. */
export function openApiDocument(): OpenApiDocument {
  cached ??= buildOpenApiDocument();
  return cached;
}
