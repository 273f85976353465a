import type { Metadata } from "next";
import { Suspense } from "react";
import { headedPage } from "../../components/page-header";
import { NewRestoreForm } from "./new-restore-form";

export const metadata: Metadata = { title: "Restore" };

export default headedPage(
  {
    title: "Restore",
    description:
      "Serve the restore point read-only over NBD for an hour (any NBD client can read it), or copy it back " +
      "to a new file under the sources folder or to an NBD export.",
  },
  <Suspense>
    <NewRestoreForm />
  </Suspense>,
);
