import type { Metadata } from "next";
import { segmentPage } from "../../components/segment-page";
import { VmView } from "./vm-view";

export const metadata: Metadata = { title: "VM" };

export default segmentPage("vmName", VmView);
