import type { Metadata } from "next";
import { headedPage } from "../components/page-header";
import { RestoresView } from "./restores-view";

export const metadata: Metadata = { title: "Restores" };

export default headedPage(
  {
    title: "Restores",
    description:
      "Restore points served read-only over NBD, and copies back to a file or an NBD export, newest first. " +
      "Start one from a VM's page or a completed job.",
  },
  <RestoresView />,
);
