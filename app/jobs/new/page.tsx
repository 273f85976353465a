import type { Metadata } from "next";
import { BackLink } from "../../components/arrow-link";
import { headedPage } from "../../components/page-header";
import { NewBackupForm } from "./new-backup-form";

export const metadata: Metadata = { title: "New backup" };

export default headedPage(
  {
    eyebrow: <BackLink href="/jobs">Jobs</BackLink>,
    title: "New backup",
    description:
      "Name the VM, choose full or incremental, and pick its disks. Each disk gets a port and a qemu-nbd " +
      "export, is copied into a qcow2 file in the repository, then verified.",
  },
  <NewBackupForm />,
);
