import type { Metadata } from "next";
import { Suspense } from "react";
import { ButtonLink } from "../components/button";
import { PlusIcon } from "../components/icons";
import { PageHeader } from "../components/page-header";
import { JobsView } from "./jobs-view";

export const metadata: Metadata = { title: "Jobs" };

export default function JobsPage() {
  return (
    <div className="space-y-6">
      <PageHeader
        title="Jobs"
        description="Every backup the team ran, newest first. Filter by status, VM or time; open a job for its disks and event log."
        actions={
          <ButtonLink href="/jobs/new" variant="primary" icon={<PlusIcon />}>
            New backup
          </ButtonLink>
        }
      />
      <Suspense>
        <JobsView />
      </Suspense>
    </div>
  );
}
