import type { Metadata } from "next";
import { PageHeader } from "../components/page-header";
import { VmsView } from "./vms-view";

export const metadata: Metadata = { title: "VMs" };

export default function VmsPage() {
  return (
    <div className="space-y-6">
      <PageHeader
        title="VMs"
        description="Every VM with a completed backup: its restore points and what they take in the repository. Open a VM to restore one of its points."
      />
      <VmsView />
    </div>
  );
}
