// The API page's body: the OpenAPI document's routes grouped by area (its tags), each a method and
// path that opens to its role, parameters, body and answers, then the named answer shapes.
// JSON Schema is shown as nested field lists; a named shape links to its entry below.
import type { ReactNode } from "react";
import { Panel } from "@/app/components/panel";
import type { OpenApiDocument } from "@/lib/api/openapi";

type Schema = Record<string, unknown>;
type Operation = {
  summary: string;
  description: string;
  "x-nbdhub-access": string;
  parameters: { name: string; in: string; required: boolean; schema: Schema }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: Schema }> }>;
  tags: string[];
};

const METHOD_TONE: Record<string, string> = {
  get: "bg-sky-50 text-sky-700 ring-sky-600/20 dark:bg-sky-400/10 dark:text-sky-300",
  post: "bg-emerald-50 text-emerald-700 ring-emerald-600/20 dark:bg-emerald-400/10 dark:text-emerald-300",
  patch: "bg-amber-50 text-amber-800 ring-amber-600/25 dark:bg-amber-400/10 dark:text-amber-300",
  delete: "bg-rose-50 text-rose-700 ring-rose-600/20 dark:bg-rose-400/10 dark:text-rose-300",
};

const anchor = (name: string) => `schema-${name}`;
const refName = (ref: string) => ref.replace("#/components/schemas/", "");

function constraints(s: Schema): string[] {
  const out: string[] = [];
  if (s.format) out.push(String(s.format));
  if (s.minimum !== undefined) out.push(`≥ ${String(s.minimum)}`);
  if (s.exclusiveMinimum !== undefined) out.push(`> ${String(s.exclusiveMinimum)}`);
  if (s.maximum !== undefined) out.push(`≤ ${String(s.maximum)}`);
  if (s.minLength !== undefined) out.push(`${String(s.minLength)}+ chars`);
  if (s.maxLength !== undefined) out.push(`≤ ${String(s.maxLength)} chars`);
  if (s.minItems !== undefined) out.push(`${String(s.minItems)}+ items`);
  if (s.maxItems !== undefined) out.push(`≤ ${String(s.maxItems)} items`);
  if (s.pattern) out.push(`matches ${String(s.pattern)}`);
  if (s.default !== undefined) out.push(`default ${JSON.stringify(s.default)}`);
  return out;
}

/** One line for a schema that has no fields of its own; objects and unions render their parts. */
function TypeOf({ schema }: { schema: Schema }): ReactNode {
  if (typeof schema.$ref === "string") {
    const name = refName(schema.$ref);
    return (
      <a href={`#${anchor(name)}`} className="font-mono text-sky-700 hover:underline dark:text-sky-400">
        {name}
      </a>
    );
  }
  if (schema.const !== undefined) return <code className="font-mono">{JSON.stringify(schema.const)}</code>;
  if (Array.isArray(schema.enum))
    return <code className="font-mono">{schema.enum.map((v) => JSON.stringify(v)).join(" | ")}</code>;
  const variants = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
  if (variants) {
    return (
      <span>
        one of:
        <ol className="ml-4 list-decimal space-y-1">
          {variants.map((v, i) => (
            <li key={i}>
              <TypeOf schema={v} />
            </li>
          ))}
        </ol>
      </span>
    );
  }
  if (schema.type === "array" && schema.items) {
    return (
      <span>
        array of <TypeOf schema={schema.items as Schema} />
      </span>
    );
  }
  if (schema.properties) return <Fields schema={schema} />;
  const type = Array.isArray(schema.type) ? schema.type.join(" or ") : String(schema.type ?? "any");
  return <span className="font-mono">{type === "object" ? "object (any fields)" : type}</span>;
}

function Fields({ schema }: { schema: Schema }) {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const required = new Set((schema.required ?? []) as string[]);
  return (
    <ul className="mt-1 space-y-1 border-l border-slate-200 pl-3 dark:border-slate-700">
      {Object.entries(properties).map(([name, property]) => (
        <li key={name}>
          <span className="font-mono font-medium text-slate-900 dark:text-slate-100">{name}</span>
          {required.has(name) ? null : <span className="text-slate-400">?</span>}{" "}
          <span className="text-slate-600 dark:text-slate-300">
            <TypeOf schema={property} />
          </span>
          {constraints(property).length ? (
            <span className="ml-2 text-xs text-slate-500 dark:text-slate-400">{constraints(property).join(", ")}</span>
          ) : null}
          {typeof property.description === "string" ? (
            <span className="ml-2 text-xs text-slate-500 dark:text-slate-400">{property.description}</span>
          ) : null}
        </li>
      ))}
    </ul>
  );
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div>
      <h4 className="text-xs font-semibold tracking-wide text-slate-500 uppercase dark:text-slate-400">{title}</h4>
      <div className="mt-1 text-sm">{children}</div>
    </div>
  );
}

function OperationEntry({ method, path, op }: { method: string; path: string; op: Operation }) {
  const body = op.requestBody ? Object.entries(op.requestBody.content)[0] : undefined;
  return (
    <details
      className="group border-b border-slate-100 last:border-0 dark:border-slate-800"
      data-testid="api-operation"
    >
      <summary className="flex cursor-pointer flex-wrap items-center gap-3 px-4 py-2.5 hover:bg-slate-50 dark:hover:bg-slate-800/50">
        <span
          className={`w-16 rounded-md px-2 py-0.5 text-center font-mono text-xs font-semibold uppercase ring-1 ring-inset ${METHOD_TONE[method] ?? ""}`}
        >
          {method}
        </span>
        <code className="font-mono text-sm text-slate-900 dark:text-slate-100">{path}</code>
        <span className="text-sm text-slate-600 dark:text-slate-300">{op.summary}</span>
        <span className="ml-auto text-xs text-slate-500 dark:text-slate-400">{op["x-nbdhub-access"]}</span>
      </summary>
      <div className="space-y-3 bg-slate-50/60 px-4 py-3 dark:bg-slate-950/40">
        <p className="text-sm text-slate-600 dark:text-slate-300">{op.description}</p>
        {op.parameters.length ? (
          <Section title="Parameters">
            <ul className="space-y-1">
              {op.parameters.map((p) => (
                <li key={`${p.in}-${p.name}`}>
                  <span className="font-mono font-medium">{p.name}</span>
                  {p.required ? null : <span className="text-slate-400">?</span>}{" "}
                  <span className="text-xs text-slate-500">({p.in})</span> <TypeOf schema={p.schema} />
                  {constraints(p.schema).length ? (
                    <span className="ml-2 text-xs text-slate-500">{constraints(p.schema).join(", ")}</span>
                  ) : null}
                </li>
              ))}
            </ul>
          </Section>
        ) : null}
        {body ? (
          <Section title={`Body (${body[0]})`}>
            <TypeOf schema={body[1].schema} />
          </Section>
        ) : null}
        <Section title="Answers">
          <ul className="space-y-1">
            {Object.entries(op.responses).map(([status, answer]) => {
              const content = answer.content ? Object.entries(answer.content)[0] : undefined;
              return (
                <li key={status} className="flex flex-wrap gap-2">
                  <span
                    className={`font-mono font-semibold ${Number(status) < 400 ? "text-emerald-700 dark:text-emerald-400" : "text-rose-700 dark:text-rose-400"}`}
                  >
                    {status}
                  </span>
                  {content && (content[1].schema.$ref || Number(status) < 400) ? (
                    <span>
                      {content[0] === "application/json" ? null : <span className="text-slate-500">{content[0]} </span>}
                      <TypeOf schema={content[1].schema} />
                    </span>
                  ) : null}
                  <span className="text-slate-600 dark:text-slate-300">{answer.description}</span>
                </li>
              );
            })}
          </ul>
        </Section>
      </div>
    </details>
  );
}

export function ApiReference({ document }: { document: OpenApiDocument }) {
  const byArea = new Map<string, { method: string; path: string; op: Operation }[]>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries(item as Record<string, Operation>)) {
      const area = op.tags[0] ?? "Other";
      byArea.set(area, [...(byArea.get(area) ?? []), { method, path, op }]);
    }
  }
  const schemas = (document.components.schemas ?? {}) as Record<string, Schema>;
  return (
    <div className="space-y-6">
      {[...byArea.entries()].map(([area, ops]) => (
        <Panel
          key={area}
          id={`area-${area.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`}
          title={area}
          description={`${ops.length} routes`}
          bodyClassName=""
        >
          {ops.map((o) => (
            <OperationEntry key={`${o.method} ${o.path}`} {...o} />
          ))}
        </Panel>
      ))}
      <Panel id="shapes" title="Shapes" description="The answers' named shapes, as the routes above refer to them">
        <div className="grid gap-4 lg:grid-cols-2">
          {Object.entries(schemas).map(([name, schema]) => (
            <div key={name} id={anchor(name)} className="scroll-mt-20 text-sm">
              <h3 className="font-mono font-semibold text-slate-900 dark:text-slate-100">{name}</h3>
              <TypeOf schema={schema} />
            </div>
          ))}
        </div>
      </Panel>
    </div>
  );
}
