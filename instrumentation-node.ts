import { bootRuntime } from "@/lib/runtime/boot";

bootRuntime();
