import type { Metadata } from "next";
import { headedPage } from "../components/page-header";
import { PoliciesView } from "./policies-view";

export const metadata: Metadata = { title: "Policies" };

export default headedPage(
  {
    title: "Policies",
    description:
      "Backups on a schedule: which VM and disks, when (cron, in a time zone), how often a full, and which " +
      "restore points to keep. Each slot runs once; a prune after each run removes what retention lets go, " +
      "merging chains so every kept point stays restorable.",
  },
  <PoliciesView />,
);
