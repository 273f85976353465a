import type { Metadata } from "next";
import { segmentPage } from "../../components/segment-page";
import { RestoreView } from "./restore-view";

export const metadata: Metadata = { title: "Restore" };

export default segmentPage("id", RestoreView);
