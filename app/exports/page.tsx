import type { Metadata } from "next";
import { PageHeader } from "../components/page-header";
import { ExportsView } from "./exports-view";

export const metadata: Metadata = { title: "Exports" };

export default function ExportsPage() {
  return (
    <div className="space-y-6">
      <PageHeader
        title="Exports"
        description="The qemu-nbd processes running now, one per disk being backed up, each serving its target qcow2 file on a port of the pool."
      />
      <ExportsView />
    </div>
  );
}
