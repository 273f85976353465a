import type { Metadata } from "next";
import { JobView } from "./job-view";

export const metadata: Metadata = { title: "Backup job" };

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // a malformed escape: the API answers "not found" for it
  }
}

export default async function JobPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <JobView id={decoded(id)} />;
}
