"use client";
// A request that failed, said plainly, with the API's own message and a way to try again.
import { messageOf } from "@/lib/messages";
import { ApiClientError } from "@/lib/queries/api-fetch";
import { AlertIcon, RefreshIcon } from "./icons";
import { Button } from "./button";

export function describeError(error: unknown): { title: string; message: string } {
  if (error instanceof ApiClientError) {
    if (error.status === 404 && /no API route/.test(error.message))
      return {
        title: "Not available on this server yet",
        message: `${error.message}. This part of the console will work once the server offers it.`,
      };
    if (error.status === 401)
      return { title: "Signed out", message: "Your session has ended. Sign in again to continue." };
    if (error.status === 403) return { title: "Not allowed", message: error.message };
    if (error.status === 503) return { title: "nbdhub is starting", message: error.message };
    return { title: "The server refused the request", message: error.message };
  }
  if (error instanceof TypeError)
    return {
      title: "The server did not answer",
      message: "Check that nbdhub is running and your network is up; the page retries on its own.",
    };
  return { title: "Something went wrong", message: messageOf(error) };
}

export function QueryError({
  error,
  what,
  onRetry,
  retrying,
  compact = false,
}: {
  error: unknown;
  what: string;
  onRetry?: () => void;
  retrying?: boolean;
  compact?: boolean;
}) {
  const { title, message } = describeError(error);
  return (
    <div
      role="alert"
      data-testid="query-error"
      className={`flex items-start gap-3 rounded-lg border border-rose-200 bg-rose-50 text-rose-900 dark:border-rose-900/60 dark:bg-rose-950/40 dark:text-rose-100 ${compact ? "p-3" : "p-4"}`}
    >
      <AlertIcon className="mt-0.5 h-5 w-5 shrink-0 text-rose-500" />
      <div className="min-w-0 flex-1">
        <p className="text-sm font-medium">
          Could not load {what}: {title.toLowerCase()}
        </p>
        <p className="mt-0.5 text-sm break-words text-rose-800/90 dark:text-rose-200/80">{message}</p>
      </div>
      {onRetry ? (
        <Button
          size="sm"
          variant="secondary"
          onClick={onRetry}
          busy={retrying}
          icon={<RefreshIcon className="h-3.5 w-3.5" />}
        >
          Retry
        </Button>
      ) : null}
    </div>
  );
}
