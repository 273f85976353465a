import type { Metadata } from "next";
import { segmentPage } from "../../components/segment-page";
import { JobView } from "./job-view";

export const metadata: Metadata = { title: "Backup job" };

export default segmentPage("id", JobView);
