import type { Metadata } from "next";
import { Page } from "../components/page-header";
import { RestoresView } from "./restores-view";

export const metadata: Metadata = { title: "Restores" };

export default function RestoresPage() {
  return (
    <Page
      title="Restores"
      description="Restore points served read-only over NBD, and copies back to a file or an NBD export, newest first. Start one from a VM's page or a completed job."
    >
      <RestoresView />
    </Page>
  );
}
