// The control channel's messages (decision 030): only our own shapes are read, and a domain
// error travels as its kind, code, message and details (any other error as "unavailable").
import { describe, expect, it } from "vitest";
import { conflict } from "@/lib/errors";
import { errorShape, parseMessage } from "@/lib/node/control";

describe("control messages", () => {
  it("reads requests and answers, ignores anything else", () => {
    const request = { type: "request", id: "1", from: "a", to: "b", action: "backup.cancel", args: { id: "j" } };
    expect(parseMessage(JSON.stringify(request))).toEqual(request);
    const answer = { type: "answer", id: "1", from: "b", to: "a", result: null };
    expect(parseMessage(JSON.stringify(answer))).toEqual(answer);
    for (const payload of [
      undefined,
      "",
      "not json",
      "{}",
      '{"type":"other","id":"1","to":"a"}',
      '{"type":"request","id":1,"to":"a"}',
    ])
      expect(parseMessage(payload)).toBeNull();
  });

  it("carries a domain error whole, and any other error as unavailable", () => {
    expect(errorShape(conflict("job_finished", "job j already ended", { status: "cancelled" }))).toEqual({
      kind: "conflict",
      code: "job_finished",
      message: "job j already ended",
      details: { status: "cancelled" },
    });
    expect(errorShape(new Error("boom\nstack"))).toEqual({ kind: "unavailable", code: "node_error", message: "boom" });
  });
});
