// A restore's status pill, in the tones the other pages use (status-badge.tsx).
import { StatusBadge, type Tone } from "../components/status-badge";

const TONE: Record<string, Tone> = {
  queued: "neutral",
  pending: "neutral",
  running: "busy",
  exporting: "busy",
  transferring: "busy",
  verifying: "busy",
  ready: "success",
  completed: "success",
  failed: "danger",
  cancelled: "warning",
  expired: "neutral",
};

export function RestoreStatusBadge({ status, testId, size }: { status: string; testId?: string; size?: "sm" | "md" }) {
  return <StatusBadge status={status} tone={TONE[status] ?? "neutral"} testId={testId} size={size} />;
}
