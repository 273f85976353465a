import type { Metadata } from "next";
import { headedPage } from "../components/page-header";
import { NodesView } from "./nodes-view";

/** The page's header says the same as its <title> and <meta name="description">. */
export const metadata = {
  title: "Nodes",
  description:
    "The hubs sharing this database. Each node is one nbdhub server with its own port pool, qemu-nbd " +
    "processes and repository; it runs the jobs sent to it and writes a heartbeat every few seconds. " +
    "A node whose last heartbeat is older than its lease shows as lost: stopped or unreachable.",
} satisfies Metadata;

export default headedPage(metadata, <NodesView />);
