// Calls to a running console's API as one caller (a bearer token), shared by the tests, the
// benchmark and the fault campaign; and the wait for a job's end on its event stream, which
// is what the console's job page watches.

export type ApiAnswer<T> = { status: number; body: T };

export type ApiCallOptions = {
  /** Sent after the defaults, so they can replace the token or the content type. */
  headers?: Record<string, string>;
  /** Abort the request after this long (it then rejects). */
  timeoutMs?: number;
};

export type ApiClient = {
  /**
   * `pathname` is below /api/v1. An object body is sent as JSON, a string as it is (a test's
   * malformed JSON). The answer's body is parsed JSON, or its text when it is not JSON.
   */
  api<T = unknown>(method: string, pathname: string, body?: unknown, options?: ApiCallOptions): Promise<ApiAnswer<T>>;
  /** Resolves on the job's `end` event; rejects when the stream closes without one, or at the deadline. */
  waitForJobEnd(id: string, timeoutMs?: number): Promise<void>;
};

export function apiClient(baseUrl: string, token: string): ApiClient {
  const authorization = `Bearer ${token}`;
  return {
    async api<T>(method: string, pathname: string, body?: unknown, options: ApiCallOptions = {}) {
      const response = await fetch(`${baseUrl}/api/v1${pathname}`, {
        method,
        headers: {
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          authorization,
          ...options.headers,
        },
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
        signal: options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON: the text is the body */
      }
      return { status: response.status, body: parsed as T };
    },

    async waitForJobEnd(id: string, timeoutMs = 600_000) {
      const abort = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        abort.abort();
      }, timeoutMs);
      try {
        const response = await fetch(`${baseUrl}/api/v1/backups/${encodeURIComponent(id)}/events`, {
          headers: { authorization },
          signal: abort.signal,
        });
        if (response.status !== 200 || !response.body) {
          throw new Error(`GET /backups/${id}/events answered ${response.status}`);
        }
        const decoder = new TextDecoder();
        const reader = response.body.getReader();
        let text = "";
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          // Only the last few events matter: an `end` is all this waits for.
          text = (text + decoder.decode(value, { stream: true })).slice(-4096);
          if (/(^|\n)event: end\n/.test(text)) return;
        }
        throw new Error(`the event stream of job ${id} closed without an end`);
      } catch (error) {
        if (timedOut) throw new Error(`timed out after ${timeoutMs} ms waiting for job ${id} to end`);
        throw error;
      } finally {
        clearTimeout(timer);
        abort.abort();
      }
    },
  };
}
