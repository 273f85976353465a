import type { Metadata } from "next";
import { Suspense } from "react";
import { ButtonLink } from "../components/button";
import { PlusIcon } from "../components/icons";
import { headedPage } from "../components/page-header";
import { JobsView } from "./jobs-view";

/** The page's header says the same as its <title> and <meta name="description">. */
export const metadata = {
  title: "Jobs",
  description:
    "Every backup the team ran, newest first. Filter by status, VM or time; open a job for its disks and event log.",
} satisfies Metadata;

const newBackup = (
  <ButtonLink href="/jobs/new" variant="primary" icon={<PlusIcon />}>
    New backup
  </ButtonLink>
);

export default headedPage(
  { ...metadata, actions: newBackup },
  <Suspense>
    <JobsView />
  </Suspense>,
);
