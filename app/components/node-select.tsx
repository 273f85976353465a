"use client";
// The node filter of the lists (jobs, exports) and the dashboard's pool charts: "All nodes" or
// one of the nodes on the database (GET /nodes), a lost one marked as such. A node named in the
// URL that the list does not know (yet) stays selectable, so the filter never jumps.
import { useNodes } from "@/lib/queries/use-nodes";
import { Field, Select } from "./form";

type NodeSelectProps = {
  id: string;
  value: string | undefined;
  onChange: (node: string | undefined) => void;
  label?: string;
  className?: string;
};

export function NodeSelect({ id, value, onChange, label = "Node", className = "w-44" }: NodeSelectProps) {
  const nodes = useNodes().data?.items ?? [];
  const options = [
    { value: "", label: "All nodes" },
    ...nodes.map((n) => ({ value: n.name, label: n.status === "lost" ? `${n.name} (lost)` : n.name })),
  ];
  if (value && !nodes.some((n) => n.name === value)) options.push({ value, label: value });
  return (
    <Field id={id} label={label} className={className}>
      <Select id={id} value={value ?? ""} onChange={(e) => onChange(e.target.value || undefined)} options={options} />
    </Field>
  );
}

/** A row's node, small and in the font of names the system gave. */
export function NodeName({ node }: { node: string }) {
  return <span className="font-mono text-xs whitespace-nowrap text-slate-600 dark:text-slate-300">{node || "—"}</span>;
}
