// Sign out ends on /login, even when a poll of the page is answered 401 while the sign-out runs
// (before: that answer sent the page to /login?next=… instead; whichever navigation came last won).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

type Module = typeof import("@/lib/queries/api-fetch");

const assign = vi.fn<(url: string) => void>();

async function freshModule(): Promise<Module> {
  vi.resetModules();
  return import("@/lib/queries/api-fetch");
}

function answer(status: number) {
  const body = status === 401 ? { error: { code: "unauthenticated", message: "sign in first" } } : { ok: true };
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

beforeEach(() => {
  assign.mockReset();
  vi.stubGlobal("window", { location: { pathname: "/", search: "", assign } });
});
afterEach(() => vi.unstubAllGlobals());

describe("the console's fetch and sign-out", () => {
  it("a 401 on a page sends it to sign-in, then back here", async () => {
    const { apiFetch } = await freshModule();
    vi.stubGlobal(
      "fetch",
      vi.fn(async () => answer(401)),
    );
    await expect(apiFetch("/nbd/ports")).rejects.toThrow("sign in first");
    expect(assign.mock.calls).toEqual([["/login?next=%2F"]]);
  });

  it("during sign-out, a poll answered 401 does not redirect: the page goes to /login only", async () => {
    const { apiFetch, leaveFor, startSignOut } = await freshModule();
    startSignOut();
    vi.stubGlobal(
      "fetch",
      vi.fn(async () => answer(401)),
    );
    await expect(apiFetch("/nbd/qemu-nbd")).rejects.toThrow();
    leaveFor("/login");
    expect(assign.mock.calls).toEqual([["/login"]]);
  });

  it("a second navigation after the first is dropped", async () => {
    const { leaveFor } = await freshModule();
    leaveFor("/login");
    leaveFor("/login?next=%2F");
    expect(assign.mock.calls).toEqual([["/login"]]);
  });
});
