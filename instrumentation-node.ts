import { installPeerStamp } from "@/lib/auth/peer";
import { bootRuntime } from "@/lib/runtime/boot";

// First, before any request is let through: every request then carries its socket's address
// (lib/auth/peer.ts), which route handlers cannot otherwise see.
installPeerStamp();
bootRuntime();
