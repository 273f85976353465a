"use client";
// Toasts: every action says how it went. Errors stay until dismissed or 10 s; success 5 s.
import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from "react";
import { AlertIcon, CheckIcon, InfoIcon, XIcon } from "./icons";

type ToastKind = "success" | "error" | "info";
type Toast = { id: number; kind: ToastKind; title: string; message?: string };
type ToastApi = {
  success(title: string, message?: string): void;
  error(title: string, message?: string): void;
  info(title: string, message?: string): void;
};

const ToastContext = createContext<ToastApi | null>(null);

export function useToast(): ToastApi {
  const api = useContext(ToastContext);
  if (!api) throw new Error("useToast must be used inside <ToastProvider>");
  return api;
}

const styles: Record<ToastKind, { icon: ReactNode; ring: string }> = {
  success: {
    icon: <CheckIcon className="h-5 w-5 text-emerald-500" />,
    ring: "border-emerald-200 dark:border-emerald-900/70",
  },
  error: { icon: <AlertIcon className="h-5 w-5 text-rose-500" />, ring: "border-rose-200 dark:border-rose-900/70" },
  info: { icon: <InfoIcon className="h-5 w-5 text-sky-500" />, ring: "border-slate-200 dark:border-slate-700" },
};

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const next = useRef(1);
  const dismiss = useCallback((id: number) => setToasts((all) => all.filter((t) => t.id !== id)), []);
  const push = useCallback(
    (kind: ToastKind, title: string, message?: string) => {
      const id = next.current++;
      setToasts((all) => [...all.slice(-4), { id, kind, title, message }]);
      setTimeout(() => dismiss(id), kind === "error" ? 10_000 : 5_000);
    },
    [dismiss],
  );
  const api = useMemo<ToastApi>(
    () => ({
      success: (t, m) => push("success", t, m),
      error: (t, m) => push("error", t, m),
      info: (t, m) => push("info", t, m),
    }),
    [push],
  );
  return (
    <ToastContext.Provider value={api}>
      {children}
      <div
        aria-live="polite"
        className="pointer-events-none fixed inset-x-0 bottom-0 z-50 flex flex-col items-end gap-2 p-4 sm:p-6"
      >
        {toasts.map((t) => (
          <div
            key={t.id}
            role={t.kind === "error" ? "alert" : "status"}
            data-testid="toast"
            className={`pointer-events-auto flex w-full max-w-sm items-start gap-3 rounded-lg border bg-white p-3.5 shadow-lg dark:bg-slate-900 ${styles[t.kind].ring}`}
          >
            <span className="mt-0.5 shrink-0">{styles[t.kind].icon}</span>
            <div className="min-w-0 flex-1">
              <p className="text-sm font-medium text-slate-900 dark:text-slate-100">{t.title}</p>
              {t.message ? (
                <p className="mt-0.5 text-sm break-words text-slate-600 dark:text-slate-300">{t.message}</p>
              ) : null}
            </div>
            <button
              type="button"
              onClick={() => dismiss(t.id)}
              className="rounded p-0.5 text-slate-400 hover:text-slate-700 focus-visible:outline-2 focus-visible:outline-sky-600 dark:hover:text-slate-200"
              aria-label="Dismiss"
            >
              <XIcon />
            </button>
          </div>
        ))}
      </div>
    </ToastContext.Provider>
  );
}
