import type { Metadata } from "next";
import { headedPage } from "../components/page-header";
import { VmsView } from "./vms-view";

export const metadata: Metadata = { title: "VMs" };

export default headedPage(
  {
    title: "VMs",
    description:
      "Every VM with a completed backup: its restore points and what they take in the repository. " +
      "Open a VM to restore one of its points.",
  },
  <VmsView />,
);
