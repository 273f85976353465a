import type { Metadata } from "next";
import { Page } from "../components/page-header";
import { VmsView } from "./vms-view";

export const metadata: Metadata = { title: "VMs" };

export default function VmsPage() {
  return (
    <Page
      title="VMs"
      description="Every VM with a completed backup: its restore points and what they take in the repository. Open a VM to restore one of its points."
    >
      <VmsView />
    </Page>
  );
}
