import type { Metadata } from "next";
import { VmView } from "./vm-view";

export const metadata: Metadata = { title: "VM" };

export default async function VmPage({ params }: { params: Promise<{ vmName: string }> }) {
  const { vmName } = await params;
  let name = vmName;
  try {
    name = decodeURIComponent(vmName);
  } catch {
    /* a malformed escape: the API answers "not found" */
  }
  return <VmView vmName={name} />;
}
