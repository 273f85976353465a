// One HTTP POST of a notification: JSON, a timeout, no redirect to another host (a redirect on
// the same host is followed, at most 3 times), http(s) only. What comes back is a status code or
// an error sentence; neither ever holds the URL (it is a secret).
import "server-only";

export type SendResult = { ok: boolean; statusCode: number | null; error: string | null };

const TIMEOUT_MS = 10_000;
const MAX_REDIRECTS = 3;

export async function postJson(url: string, payload: unknown, timeoutMs = TIMEOUT_MS): Promise<SendResult> {
  let target = new URL(url);
  const body = JSON.stringify(payload);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop += 1) {
    if (target.protocol !== "http:" && target.protocol !== "https:") {
      return { ok: false, statusCode: null, error: `refused: ${target.protocol} is not http or https` };
    }
    let response: Response;
    try {
      response = await fetch(target, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "nbdhub-notify" },
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const name = error instanceof Error ? error.name : "";
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      const why =
        name === "TimeoutError"
          ? `no answer within ${timeoutMs / 1000} s`
          : `could not connect${cause ? ` (${cause})` : ""}`;
      return { ok: false, statusCode: null, error: why };
    }
    await response.body?.cancel().catch(() => undefined);
    if (response.status >= 300 && response.status < 400 && response.headers.get("location")) {
      const next = new URL(response.headers.get("location") as string, target);
      if (next.host !== target.host) {
        return { ok: false, statusCode: response.status, error: "refused a redirect to another host" };
      }
      target = next;
      continue;
    }
    const ok = response.status >= 200 && response.status < 300;
    return { ok, statusCode: response.status, error: ok ? null : `answered ${response.status}` };
  }
  return { ok: false, statusCode: null, error: `more than ${MAX_REDIRECTS} redirects` };
}
