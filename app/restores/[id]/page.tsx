import type { Metadata } from "next";
import { RestoreView } from "./restore-view";

export const metadata: Metadata = { title: "Restore" };

export default async function RestorePage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  let decoded = id;
  try {
    decoded = decodeURIComponent(id);
  } catch {
    /* a malformed escape: the API answers "not found" */
  }
  return <RestoreView id={decoded} />;
}
