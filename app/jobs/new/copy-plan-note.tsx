"use client";
// Under each chosen disk of the New backup form: what this disk will get (a full copy, the
// changed blocks since job X, or a content diff, and why), as the server would plan it now.
import { useCopyPlan } from "@/lib/queries/use-copy-plan";
import type { BackupType } from "@/lib/queries/types";

export function CopyPlanNote(props: { vmName: string; type: BackupType; source: string; diskId: string }) {
  const plan = useCopyPlan(props);
  if (!props.vmName) return null;
  const text = plan.data?.copyReason ?? (plan.error ? plan.error.message : plan.isFetching ? "planning…" : null);
  if (!text) return null;
  return (
    <p data-testid="copy-plan" className="mt-1.5 pl-8 text-xs text-slate-500 dark:text-slate-400">
      {text}
    </p>
  );
}
