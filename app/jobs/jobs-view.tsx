"use client";
// Job history: filters in the URL, pages fetched by cursor (50 at a time) and appended.
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useCallback, useMemo } from "react";
import type { InfiniteData } from "@tanstack/react-query";
import type { BackupFilters } from "@/lib/queries/keys";
import type { BackupJob, BackupPage } from "@/lib/queries/types";
import { useBackups } from "@/lib/queries/use-backups";
import { Button, ButtonLink } from "../components/button";
import type { EmptyStateProps } from "../components/empty-state";
import { PlusIcon } from "../components/icons";
import { ListView, type ListSpec } from "../components/list-view";
import { useNow } from "../components/use-now";
import { JobsFilters } from "./jobs-filters";
import { JOB_COLUMNS, JobRow, JobsTableSkeleton } from "./jobs-table";

const KEYS = ["status", "vmName", "node", "range", "from", "to"] as const;

/** What the filters (`empty`) and the view's clock and router (`row`) do not change. */
const JOBS: Omit<ListSpec<InfiniteData<BackupPage>, BackupJob>, "empty" | "row"> = {
  noun: "jobs",
  what: "the job history",
  loading: <JobsTableSkeleton />,
  columns: JOB_COLUMNS,
  minWidth: "min-w-[1040px]",
  rowsOf: (data) => data.pages.flatMap((p) => p.items),
};

const NO_BACKUPS: EmptyStateProps = {
  icon: "jobs",
  title: "No backups yet",
  action: (
    <ButtonLink href="/jobs/new" variant="primary" icon={<PlusIcon />}>
      Start your first backup
    </ButtonLink>
  ),
  children:
    "A backup copies a VM’s disks into qcow2 files in the repository. Pick disk images from the sources " +
    "directory (or give an NBD URI), and the job shows up here with its progress.",
};

const noMatch = (clear: () => void): EmptyStateProps => ({
  icon: "jobs",
  title: "No jobs match these filters",
  action: <Button onClick={clear}>Clear filters</Button>,
  children: "Try another status, VM name, node or time range.",
});

export function JobsView() {
  const search = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const filters = useMemo<BackupFilters>(() => {
    const f: BackupFilters = {};
    for (const key of KEYS) {
      const value = search.get(key === "vmName" ? "vm" : key);
      if (value) f[key] = value;
    }
    return f;
  }, [search]);
  const setFilters = useCallback(
    (next: BackupFilters) => {
      const params = new URLSearchParams();
      for (const key of KEYS) if (next[key]) params.set(key === "vmName" ? "vm" : key, next[key] as string);
      const query = params.toString();
      router.replace(query ? `${pathname}?${query}` : pathname, { scroll: false });
    },
    [router, pathname],
  );

  const backups = useBackups(filters);
  const now = useNow();
  const jobs = backups.data?.pages.flatMap((p) => p.items) ?? [];
  const filtered = Object.keys(filters).length > 0;

  return (
    <div className="space-y-4">
      <JobsFilters filters={filters} onChange={setFilters} />
      <ListView
        query={backups}
        spec={{
          ...JOBS,
          empty: filtered ? noMatch(() => setFilters({})) : NO_BACKUPS,
          row: (job) => <JobRow key={job.id} job={job} now={now} onOpen={(href) => router.push(href)} />,
        }}
      />
      {jobs.length > 0 ? (
        <div className="flex flex-wrap items-center justify-between gap-3 text-sm text-slate-500 dark:text-slate-400">
          <span data-testid="jobs-count">
            Showing {jobs.length} job{jobs.length === 1 ? "" : "s"}
            {backups.hasNextPage ? "" : filtered ? " (all that match)" : " (all)"}
          </span>
          {backups.hasNextPage ? (
            <Button onClick={() => backups.fetchNextPage()} busy={backups.isFetchingNextPage}>
              Load older jobs
            </Button>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
