import type { Metadata } from "next";
import Link from "next/link";
import { ArrowLeftIcon } from "../../components/icons";
import { headedPage } from "../../components/page-header";
import { NewBackupForm } from "./new-backup-form";

export const metadata: Metadata = { title: "New backup" };

const backLinkClass =
  "inline-flex items-center gap-1 rounded hover:text-slate-900 focus-visible:outline-2 focus-visible:outline-sky-600 " +
  "dark:hover:text-white";

export default headedPage(
  {
    eyebrow: (
      <Link href="/jobs" className={backLinkClass}>
        <ArrowLeftIcon className="h-3.5 w-3.5" /> Jobs
      </Link>
    ),
    title: "New backup",
    description:
      "Name the VM, choose full or incremental, and pick its disks. Each disk gets a port and a qemu-nbd " +
      "export, is copied into a qcow2 file in the repository, then verified.",
  },
  <NewBackupForm />,
);
