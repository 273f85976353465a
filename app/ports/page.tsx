import type { Metadata } from "next";
import { PageHeader } from "../components/page-header";
import { PortsView } from "./ports-view";

export const metadata: Metadata = { title: "Ports" };

export default function PortsPage() {
  return (
    <div className="space-y-6">
      <PageHeader
        title="Ports"
        description="The NBD port pool. Each disk of a running backup holds one port while its qemu-nbd export serves the target file; the port goes back to the pool when the disk is done."
      />
      <PortsView />
    </div>
  );
}
