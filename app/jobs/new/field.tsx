// Form pieces of the New backup page: a field's error beside it, in the API's own words.
export const inputClass =
  "block w-full rounded-md border-0 bg-white px-3 py-2 text-sm text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 placeholder:text-slate-400 focus:ring-2 focus:ring-sky-600 focus:outline-none aria-[invalid=true]:ring-rose-500 dark:bg-slate-950 dark:text-slate-100 dark:ring-slate-700 dark:placeholder:text-slate-500";

export function FieldError({ id, message }: { id: string; message?: string }) {
  if (!message) return null;
  return (
    <p id={id} data-testid={`error-${id.replace(/-error$/, "")}`} className="mt-1.5 text-sm text-rose-600 dark:text-rose-400">
      {message}
    </p>
  );
}
