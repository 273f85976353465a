import type { Metadata } from "next";
import { headedPage } from "../components/page-header";
import { PortsView } from "./ports-view";

/** The page's header says the same as its <title> and <meta name="description">. */
export const metadata = {
  title: "Ports",
  description:
    "The NBD port pool. Each disk of a running backup holds one port while its qemu-nbd export serves " +
    "the target file; the port goes back to the pool when the disk is done.",
} satisfies Metadata;

export default headedPage(metadata, <PortsView />);
