import type { Metadata } from "next";
import { Suspense } from "react";
import { headedPage } from "../components/page-header";
import { ExportsView } from "./exports-view";

/** The page's header says the same as its <title> and <meta name="description">. */
export const metadata = {
  title: "Exports",
  description:
    "The qemu-nbd processes running now on every node, one per disk being backed up, " +
    "each serving its target qcow2 file on a port of its node's pool.",
} satisfies Metadata;

export default headedPage(
  metadata,
  <Suspense>
    <ExportsView />
  </Suspense>,
);
